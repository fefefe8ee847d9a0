// Secret hygiene: run error paths, warnings and --json reports with known
// secret values, and search everything printed for any 12-character piece of
// the key (hex, base64, base64url), the passphrase or the plaintext.
import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, tempDir, type RunResult } from './helpers.js';

const dir = tempDir();
const key = randomBytes(32);
const KEY = key.toString('hex');
const PASS = 'PASS-Zq8vW3-correct-horse-secret';
const PLAIN = 'PLAINTEXT-k7Hq2-the-card-number-4111';
const BAD_KEY_TEXT = 'KEYTEXT-Wv9-not-hex-but-a-secret-value';
const secrets = [KEY, key.toString('base64'), key.toString('base64url'), PASS, PLAIN, BAD_KEY_TEXT];

function pieces(s: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 12 <= s.length; i += 4) out.push(s.slice(i, i + 12));
  return out;
}
const needles = secrets.flatMap(pieces);

let n = 0;
const file = (text: string | Buffer, mode = 0o600) => {
  const p = join(dir, `h${n++}`);
  writeFileSync(p, text, { mode });
  chmodSync(p, mode);
  return p;
};

const env = { AES_PAYLOAD_KEY: KEY };
const other = { AES_PAYLOAD_KEY: randomBytes(32).toString('hex') };
const envelope = run(['encrypt'], { env, input: PLAIN }).out;
const tampered = envelope.replace(/"mac":"(.)/, (_, c: string) => `"mac":"${c === 'A' ? 'B' : 'A'}`);
const fieldsDoc = run(['encrypt', '--fields', 'card'], { env, input: `{"card":"${PLAIN}","pw":"${PLAIN}"}` }).out;
const passEnv = run(['encrypt', '--passphrase-env', 'P'], { env: { P: PASS }, input: PLAIN }).out;

const cases: [string, () => RunResult][] = [
  ['wrong key', () => run(['decrypt'], { env: other, input: envelope })],
  ['tampered', () => run(['decrypt'], { env, input: tampered })],
  ['key text that is not a key', () => run(['decrypt'], { env: { AES_PAYLOAD_KEY: BAD_KEY_TEXT }, input: envelope })],
  ['key text with trailing space (warning)', () => run(['encrypt'], { env: { AES_PAYLOAD_KEY: `${KEY} ` }, input: PLAIN })],
  ['key of the wrong length', () => run(['decrypt', '--alg', 'A128GCM'], { env, input: envelope })],
  ['key file readable by others (warning)', () => run(['verify', '--key-file', file(KEY, 0o644), file(envelope)])],
  ['key file holding broken JSON', () => run(['decrypt', '--key-file', file(`{"kty":"oct","k":"${key.toString('base64url')}"`)], { input: envelope })],
  ['key file holding a JWK of another type', () => run(['decrypt', '--key-file', file(JSON.stringify({ kty: 'EC', d: KEY }))], { input: envelope })],
  ['ini with a bad value', () => run(['decrypt', '--ini', file(`[app:main]\nSECRET_KEY = ${BAD_KEY_TEXT}\n`)], { input: envelope })],
  ['ini in the wrong section', () => run(['decrypt', '--ini', file(`[a]\nSECRET_KEY = ${KEY}\n[b]\nSECRET_KEY = ${KEY}\n`)], { input: envelope })],
  ['keyring with a bad entry', () => run(['decrypt', '--keyring', file(JSON.stringify({ primary: 'a', keys: { a: KEY, b: BAD_KEY_TEXT } }))], { input: envelope })],
  ['keyring without the kid', () => run(['decrypt', '--keyring', file(JSON.stringify({ primary: 'a', keys: { a: other.AES_PAYLOAD_KEY } }))], { input: envelope })],
  ['wrong passphrase', () => run(['decrypt', '--passphrase-env', 'P'], { env: { P: `${PASS}x` }, input: passEnv })],
  ['passphrase file with a newline (warning)', () => run(['encrypt', '--passphrase-file', file(`${PASS}\n`)], { input: PLAIN })],
  ['passphrase for a keyed envelope', () => run(['decrypt', '--passphrase-env', 'P'], { env: { P: PASS }, input: envelope })],
  ['plaintext given to decrypt', () => run(['decrypt'], { env, input: PLAIN })],
  ['plaintext JSON given to decrypt', () => run(['decrypt'], { env, input: `{"card":"${PLAIN}"}` })],
  ['invalid JSON given to --fields', () => run(['encrypt', '--fields', 'card'], { env, input: `{"card":"${PLAIN}",}` })],
  ['--fields path missing', () => run(['encrypt', '--fields', 'nope'], { env, input: `{"card":"${PLAIN}"}` })],
  ['plaintext lines given to decrypt --lines', () => run(['decrypt', '--lines'], { env, input: `${PLAIN}\n{"a":"${PLAIN}"}\n` })],
  ['token moved', () => run(['decrypt'], { env, input: fieldsDoc.replace('"card"', '"card2"') })],
  ['verify --json on tampered and plaintext files', () => run(['verify', '--json', '--require', 'pw', file(tampered), file(`{"pw":"${PLAIN}"}`), file(fieldsDoc)], { env })],
  ['verify --no-key --json', () => run(['verify', '--no-key', '--json', '--require', 'pw', file(`{"pw":"${PLAIN}"}`)])],
  ['verify --key-check --json', () => run(['verify', '--key-check', '--json'], { env })],
  ['verify --key-check --expect-kid wrong', () => run(['verify', '--key-check', '--expect-kid', '0000000000000000'], { env })],
  ['rotate with the wrong old key', () => run(['rotate', '--to-key-env', 'NEW', '--json', file(envelope)], { env: { ...other, NEW: KEY } })],
  ['JWE with a key of the wrong type', () => run(['decrypt', '--key-file', file(JSON.stringify({ kty: 'oct', k: key.toString('base64url') }))], { input: run(['encrypt', '--format', 'jwe', '--passphrase-env', 'P'], { env: { P: PASS }, input: PLAIN }).out })],
  ['stream with the wrong key', () => run(['decrypt'], { env: other, input: run(['encrypt', '--format', 'stream'], { env, input: PLAIN }).stdout })],
  ['encrypt output exists', () => run(['encrypt', '-o', file('x')], { env, input: PLAIN })],
  ['keygen over an existing key file', () => run(['keygen', '-o', file(KEY)])],
  ['keygen --ini replacing a key without --force', () => run(['keygen', '--ini', file(`[app:main]\nSECRET_KEY = ${KEY}\n`)])],
];

describe('no output ever contains key material, passphrases or plaintext', () => {
  for (const [name, f] of cases) {
    it(name, () => {
      const r = f();
      const printed = `${r.stdout.toString('latin1')}\n${r.stderr}`;
      for (const s of needles) expect(printed.includes(s), `"${s}" appeared in: ${printed.slice(0, 400)}`).toBe(false);
      // and the raw key bytes never reach stdout or stderr either
      expect(r.stdout.includes(key)).toBe(false);
    });
  }
});

describe('warnings for secrets that may leak or may be wrong', () => {
  it('a key with trailing white space, and a passphrase ending in a space', () => {
    // a key is refused (exit 3), after the warning that says why
    const k = run(['encrypt'], { env: { AES_PAYLOAD_KEY: `${KEY}\t` }, input: 'x' });
    expect(k.code).toBe(3);
    expect(k.stderr.split('\n')[0]).toBe('aes-payload: warning: the key in env AES_PAYLOAD_KEY ends in white space');
    const p = run(['encrypt', '--passphrase-env', 'P'], { env: { P: `${PASS} ` }, input: 'x' });
    expect(p.code).toBe(0);
    expect(p.stderr).toBe('aes-payload: warning: the passphrase in env P ends in white space; it is used as it is\n');
  });

  it('passphrase and keyring files that group or others can read', () => {
    const pf = file(PASS, 0o640);
    const r = run(['encrypt', '--passphrase-file', pf], { input: 'x' });
    expect(r.stderr).toBe(`aes-payload: warning: ${pf} can be read by group or others; run: chmod 600 ${pf}\n`);
    const ring = file(JSON.stringify({ primary: 'a', keys: { a: KEY } }), 0o604);
    const k = run(['encrypt', '--keyring', ring], { input: 'x' });
    expect(k.stderr).toBe(`aes-payload: warning: ${ring} can be read by group or others; run: chmod 600 ${ring}\n`);
  });
});
