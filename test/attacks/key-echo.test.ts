// Attack class: key material echoed in a message. A key given where a
// keyring, a JWK, a PEM or an .ini was expected (or next to one) must never
// come back on stderr or stdout, not even in part: `AES_PAYLOAD_KEYRING=$k`
// used to print `keyring entry "<the whole key>" is not key text`. Every
// malformed source below is fed a known key (as hex, base64 and
// base64url), and everything printed is searched for any 8-character piece
// of it.
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, type RunResult } from '../helpers.js';
import { ENV, enc, workspace } from './attack.js';

const ws = workspace();
const K16 = randomBytes(16);
const K32 = randomBytes(32);
const forms = (k: Buffer) => [k.toString('hex'), k.toString('base64'), k.toString('base64url')];
const SECRET_TEXTS = [...forms(K16), ...forms(K32)];
/** Every 8-character piece of every spelling of both keys (hex pieces also upper-case). */
const needles = [...new Set(SECRET_TEXTS.flatMap((s) => Array.from({ length: s.length - 7 }, (_, i) => s.slice(i, i + 8))).flatMap((p) => [p, p.toUpperCase()]))].filter((p) => !/^[=]+$/.test(p));

let n = 0;
const file = (text: string) => {
  const p = join(ws.dir, `k${n++}`);
  writeFileSync(p, text, { mode: 0o600 });
  chmodSync(p, 0o600);
  return p;
};
const script = (body: string) => {
  const p = join(ws.dir, `cmd${n++}.sh`);
  writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o700 });
  return p;
};

const input = enc([], 'hello');
const decrypt = (args: string[], env: Record<string, string> = {}): RunResult => run(['decrypt', ...args], { env, input });

const cases: [string, () => RunResult][] = [];
for (const [size, k] of [['128', K16], ['256', K32]] as const) {
  const [hex, b64, b64url] = forms(k);
  for (const [enc, text] of [['hex', hex!], ['base64', b64!], ['base64url', b64url!]] as const) {
    const t = `${size}-bit key as ${enc}`;
    cases.push(
      [`${t} in AES_PAYLOAD_KEYRING`, () => decrypt([], { AES_PAYLOAD_KEYRING: text })],
      [`${t} with a newline in AES_PAYLOAD_KEYRING`, () => decrypt([], { AES_PAYLOAD_KEYRING: `${text}\n` })],
      [`${t} as a --keyring file`, () => decrypt(['--keyring', file(`${text}\n`)])],
      [`${t} as a keyring label with a bad value`, () => decrypt(['--keyring', file(JSON.stringify({ primary: text, keys: { [text]: 'nope' } }))])],
      [`${t} as a keyring label holding a number`, () => decrypt(['--keyring', file(JSON.stringify({ keys: { [text]: 5 } }))])],
      [`${t} as a keyring's primary that is no label`, () => decrypt(['--keyring', file(JSON.stringify({ primary: text, keys: { a: K32.toString('hex') } }))])],
      [`${t} as an .ini keyring line`, () => decrypt(['--keyring', file(`[keyring]\n${text} = ${text}\nother = ${randomBytes(32).toString('hex')}\n`)])],
      [`${t} as an .ini keyring primary`, () => decrypt(['--keyring', file(`[keyring]\nprimary = ${text}\na = ${K32.toString('hex')}\n`)])],
      [`${t} cut short in a keyring`, () => decrypt(['--keyring', file(JSON.stringify({ primary: 'a', keys: { a: text.slice(0, -3) } }))])],
      [`${t} with junk in a keyring`, () => decrypt(['--keyring', file(JSON.stringify({ primary: 'a', keys: { a: `${text}zz!` } }))])],
      [`${t} in a broken JSON keyring`, () => decrypt(['--keyring', file(`{"primary":"a","keys":{"a":"${text}",}}`)])],
      [`${t} in a keyring with a duplicate label`, () => decrypt(['--keyring', file(`{"primary":"${text}","keys":{"${text}":"${text}","${text}":"${text}"}}`)])],
      [`${t} with junk in AES_PAYLOAD_KEY`, () => decrypt([], { AES_PAYLOAD_KEY: `${text}zz!` })],
      [`${t} cut short in AES_PAYLOAD_KEY`, () => decrypt([], { AES_PAYLOAD_KEY: text.slice(0, -3) })],
      [`${t} with trailing white space in AES_PAYLOAD_KEY`, () => decrypt([], { AES_PAYLOAD_KEY: `${text} \t` })],
      [`${t} in --key-env with the wrong --key-encoding`, () => decrypt(['--key-env', 'K', '--key-encoding', enc === 'hex' ? 'base64' : 'hex'], { K: `${text}!` })],
      [`${t} with junk in a key file`, () => decrypt(['--key-file', file(`${text}zz!\n`)])],
      [`${t} as a JWK kty`, () => decrypt(['--key-file', file(JSON.stringify({ kty: text, k: text }))])],
      [`${t} as a JWK k with junk`, () => decrypt(['--key-file', file(JSON.stringify({ kty: 'oct', k: `${text}!` }))])],
      [`${t} as an RSA JWK n`, () => decrypt(['--key-file', file(JSON.stringify({ kty: 'RSA', n: text, e: 'AQAB', d: text }))])],
      [`${t} in a broken JWK`, () => decrypt(['--key-file', file(`{"kty":"oct","k":"${text}"`)])],
      [`${t} in a PEM private key`, () => decrypt(['--key-file', file(`-----BEGIN PRIVATE KEY-----\n${text}\n-----END PRIVATE KEY-----\n`)])],
      [`${t} in a PEM public key`, () => decrypt(['--key-file', file(`-----BEGIN PUBLIC KEY-----\n${text}\n-----END PUBLIC KEY-----\n`)])],
      [`${t} in an encrypted PEM key`, () => decrypt(['--key-file', file(`-----BEGIN ENCRYPTED PRIVATE KEY-----\n${text}\n-----END ENCRYPTED PRIVATE KEY-----\n`)])],
      [`${t} with junk in an .ini`, () => decrypt(['--ini', file(`[app:main]\nSECRET_KEY = ${text}zz!\n`)])],
      [`${t} as an .ini section and name`, () => decrypt(['--ini', file(`[${text}]\n${text} = ${text}\n`)])],
      [`${t} set twice in an .ini`, () => decrypt(['--ini', file(`[a]\nSECRET_KEY = ${text}\n[b]\nSECRET_KEY = ${text}\n`)])],
      [`${t} with junk printed by a key command`, () => decrypt(['--key-cmd', script(`printf '%s' '${text}zz!'`)])],
      [`${t} printed by a key command that fails`, () => decrypt(['--key-cmd', script(`printf '%s' '${text}'; exit 3`)])],
      [`${t} as a JWK kty printed by a key command`, () => decrypt(['--key-cmd', script(`printf '{"kty":"%s"}' '${text}'`)])],
      [`${t} as a wrong passphrase from a file`, () => decrypt(['--passphrase-file', file(`${text}\n`)])],
      [`${t} as a wrong passphrase from env`, () => decrypt(['--passphrase-env', 'P'], { P: `${text} \n` })],
      [`${t} as the new key of rotate, with junk`, () => run(['rotate', '--to-key-env', 'NEW', file(input)], { env: { ...ENV, NEW: `${text}zz!` } })],
      [`${t} as a keyring for rotate`, () => run(['rotate', '--keyring', file(text), file(input)], { env: { NEW: text } })],
      [`${t} as a keyring for verify --key-check`, () => run(['verify', '--key-check'], { env: { AES_PAYLOAD_KEYRING: text } })],
      [`${t} as a keyring for encrypt`, () => run(['encrypt'], { env: { AES_PAYLOAD_KEYRING: text }, input: 'x' })],
    );
  }
}

describe('no message echoes key material from a malformed key source', () => {
  it.each(cases)('%s', (_name, f) => {
    const r = f();
    const printed = `${r.stdout.toString('latin1')}\n${r.stderr}`;
    const hit = needles.find((s) => printed.includes(s));
    expect(hit, `a piece of the key ("${hit}") appeared in: ${printed.slice(0, 500)}`).toBeUndefined();
  });

  it('the refusals still say what is wrong', () => {
    const text = K32.toString('hex');
    const r = decrypt([], { AES_PAYLOAD_KEYRING: text });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/AES_PAYLOAD_KEYRING holds a single key, not a keyring/);
    const label = decrypt(['--keyring', file(JSON.stringify({ primary: 'old', keys: { old: 'nope' } }))]);
    expect(label.stderr).toMatch(/keyring entry #1:/); // named by its place: a label is file content, never echoed (issue 23 review)
  });
});

describe('review 22.2: an age identity given where a recipient belongs is never echoed', () => {
  const idFile = join(ws.dir, 'age-id.txt');
  const k = run(['keygen', '--age', '-o', idFile]);
  const text = readFileSync(idFile, 'utf8');
  const secret = /AGE-SECRET-KEY-1[0-9A-Z]+/.exec(text)![0];
  const pub = /age1[0-9a-z]+/.exec(text)![0];
  const body = secret.slice('AGE-SECRET-KEY-1'.length);
  /** Every 4-character piece of the key's data part, in either case (the old message showed 4 of its characters). */
  const pieces = Array.from({ length: body.length - 3 }, (_, i) => body.slice(i, i + 4).toLowerCase());
  const leaked = (r: RunResult) => {
    const printed = `${r.stdout.toString('latin1')}\n${r.stderr}`.toLowerCase();
    return pieces.find((p) => printed.includes(p));
  };
  const enc = (args: string[]) => run(['encrypt', '--format', 'age', ...args], { input: 'x' });
  const ageCases: [string, () => RunResult, RegExp][] = [
    ['-R an identity file', () => enc(['-R', idFile]), /line 3: this is an age identity \(a secret key\), not a recipient; did you mean -i\?/],
    ['-R a lower-case identity', () => enc(['-R', file(secret.toLowerCase())]), /line 1: this is an age identity \(a secret key\), not a recipient; did you mean -i\?/],
    ['-r the identity', () => enc(['-r', secret]), /this is an age identity \(a secret key\), not a recipient; did you mean -i\?/],
    ['-r the identity, lower case', () => enc(['-r', secret.toLowerCase()]), /this is an age identity \(a secret key\), not a recipient/],
    ['-r the identity with a typo', () => enc(['-r', `${secret.slice(0, -1)}Q`]), /this is an age identity \(a secret key\), not a recipient/],
    ['-i the key itself, not a file', () => run(['decrypt', '-i', secret], { input: enc(['-r', pub]).stdout }), /-i takes an identity FILE, not the key itself/],
  ];
  it.each(ageCases)('%s', (_name, f, says) => {
    expect(k.code, k.stderr).toBe(0);
    const r = f();
    expect(r.code).not.toBe(0);
    expect(leaked(r), r.stderr).toBeUndefined();
    expect(r.stderr).toMatch(says);
  });

  it('-i given a recipient says it is a public key', () => {
    const sealed = enc(['-r', pub]).stdout;
    const a = run(['decrypt', '-i', file(`${pub}\n`)], { input: sealed });
    expect(a.stderr).toMatch(/line 1: this is a recipient \(public key\), not an identity/);
    const b = run(['decrypt', '-i', pub], { input: sealed });
    expect(b.stderr).toMatch(/-i: this is a recipient \(public key\), not an identity/);
  });
});
