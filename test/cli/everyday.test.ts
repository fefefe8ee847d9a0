// The everyday CLI (issue 12): the npm package, keyrings with raw input,
// flag consistency, line-mode summaries and --quiet, help texts, usage
// errors, and the library's key and argument conventions. Real child
// processes throughout.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decrypt, decryptFields, encrypt, encryptFields, checkFields, rotateFields, parsePaths, keyId } from '../../src/index.js';
import { ROOT, oneLineError, run, tempDir } from '../helpers.js';

const dir = tempDir();
let n = 0;
const file = (text: string | Buffer, mode = 0o600) => {
  const p = join(dir, `f${n++}`);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
};
const SUBCOMMANDS = ['keygen', 'encrypt', 'decrypt', 'verify', 'rotate'];

describe('the npm package', () => {
  it('ships the CLI, the library, the docs and SECURITY.md, nothing else, under 1 MB', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [pack] = JSON.parse(r.stdout) as [{ size: number; files: { path: string }[] }];
    const paths = pack.files.map((f) => f.path);
    for (const want of ['bin/aes-payload.js', 'dist/aes-payload.cjs', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'docs/FORMAT.md', 'docs/SERVICE.md', 'man/aes-payload.1', 'README.md', 'CHANGELOG.md', 'SECURITY.md', 'package.json']) {
      expect(paths).toContain(want);
    }
    const unwanted = paths.filter((p) => /^(test|src|bench|scripts|node_modules)\//.test(p) || /test-results|aes-payload-linux|sea-|\.blob$/.test(p));
    expect(unwanted).toEqual([]);
    expect(pack.size).toBeLessThan(1024 * 1024);
  });
});

describe('keyrings with raw input (no kid)', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  const ring = file(JSON.stringify({ primary: 'new', keys: { new: k2.toString('hex'), old: k1.toString('hex') } }));

  it('decrypt, verify and rotate try each key of the ring and report which authenticated', () => {
    const old = run(['encrypt', '--format', 'raw'], { env: { AES_PAYLOAD_KEY: k1.toString('hex') }, input: 'raw under the old key' });
    expect(run(['decrypt', '--keyring', ring], { input: old.stdout }).out).toBe('raw under the old key');
    const f = file(old.stdout);
    const v = run(['verify', '--keyring', ring, f]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toBe(`OK ${f} A256GCM ${keyId(k1)}\n`);
    const r = run(['rotate', '--keyring', ring, '--to-primary', f]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`${keyId(k1)} → ${keyId(k2)}`);
    expect(run(['decrypt', '--format', 'raw'], { env: { AES_PAYLOAD_KEY: k2.toString('hex') }, input: readFileSync(f) }).out).toBe('raw under the old key');
  });

  it('says that none of the N keys authenticated', () => {
    const foreign = run(['encrypt', '--format', 'raw'], { env: { AES_PAYLOAD_KEY: randomBytes(32).toString('hex') }, input: 'x' });
    const d = run(['decrypt', '--keyring', ring], { input: foreign.stdout });
    expect(d.code).toBe(1);
    expect(oneLineError(d.stderr)).toMatch(/raw input names no kid, and none of the keyring's 2 keys of 32 bytes authenticated it/);
  });
});

describe('flag consistency', () => {
  it('keygen --bits without an RSA algorithm exits 2, like --format pem', () => {
    const b = run(['keygen', '--bits', '2048']);
    expect(b.code).toBe(2);
    expect(oneLineError(b.stderr)).toMatch(/--bits applies to RSA keys/);
    expect(run(['keygen', '--format', 'pem']).code).toBe(2);
  });

  it('keygen --format jwk writes an oct JWK for symmetric keys, which --key-file reads back', () => {
    const r = run(['keygen', '--format', 'jwk', '--alg', 'A128GCM']);
    expect(r.code, r.stderr).toBe(0);
    const jwk = JSON.parse(r.out) as { kty: string; k: string; alg: string; kid: string };
    expect(jwk.kty).toBe('oct');
    expect(Buffer.from(jwk.k, 'base64url').length).toBe(16);
    expect(jwk.kid).toBe(keyId(Buffer.from(jwk.k, 'base64url')));
    const kf = join(dir, 'k.jwk');
    expect(run(['keygen', '--format', 'jwk', '-o', kf]).code).toBe(0);
    expect(statSync(kf).mode & 0o777).toBe(0o600);
    const e = run(['encrypt', '--key-file', kf], { input: 'jwk key' });
    expect(run(['decrypt', '--key-file', kf], { input: e.stdout }).out).toBe('jwk key');
    expect(run(['keygen', '--format', 'jwk', '--encoding', 'base64']).code).toBe(2);
  });

  it('permission warnings only for secret files: not /dev/null, a character device, a .pub file', () => {
    const e = run(['encrypt', '--format', 'jwe', '--recipient', makeRsaPub()], { input: 'x' });
    expect(e.stderr).not.toMatch(/can be read by group or others/);
    const devnull = run(['decrypt', '--passphrase-file', '/dev/null'], { input: 'AAAA' });
    expect(devnull.stderr).not.toMatch(/can be read by group or others/);
    const open = file(randomBytes(32).toString('hex'), 0o644);
    expect(run(['verify', '--key-check', '--key-file', open]).stderr).toMatch(/can be read by group or others/);
  });
});

function makeRsaPub(): string {
  const base = join(dir, `rsa${n++}.pem`);
  expect(run(['keygen', '--alg', 'RSA-OAEP-256', '--bits', '2048', '-o', base]).code).toBe(0);
  chmodSync(`${base}.pub`, 0o644);
  return `${base}.pub`;
}

describe('line mode summary and --quiet', () => {
  const env = { AES_PAYLOAD_KEY: randomBytes(32).toString('hex') };

  it('line mode ends with "N lines, M failed" on stderr', () => {
    const e = run(['encrypt', '--lines'], { env, input: 'a\nb\n\nc\n' });
    expect(e.stderr).toBe('4 lines, 0 failed\n');
    const bad = run(['decrypt', '--lines'], { env, input: `${e.out}garbage\n` });
    expect(bad.code).toBe(4);
    expect(bad.stderr.split('\n').filter(Boolean).at(-1)).toBe('5 lines, 1 failed');
  });

  it('--quiet keeps only errors and warnings, for every subcommand', () => {
    for (const sub of SUBCOMMANDS) expect(run([sub, '--help']).out).toMatch(/-q, --quiet/);
    expect(run(['keygen', '--quiet']).stderr).toBe('');
    const e = run(['encrypt', '--lines', '-q'], { env, input: 'a\n' });
    expect(e.stderr).toBe('');
    const f = file(run(['encrypt'], { env, input: 'x' }).stdout);
    expect(run(['verify', '--quiet', f], { env }).stderr).toBe('');
    const fail = run(['verify', '--quiet', file('{"a":1}')], { env });
    expect(fail.code).toBe(4);
    expect(oneLineError(fail.stderr)).toMatch(/FAIL/);
    expect(run(['encrypt', '-q', '--alg', 'A256CBC', '--format', 'raw'], { env, input: 'x' }).stderr).toMatch(/warning: A256CBC is unauthenticated/);
  });
});

describe('help', () => {
  it('every subcommand: two examples or more, a Key heading apart from the rest, the whole exit-code table', () => {
    for (const sub of SUBCOMMANDS) {
      const h = run([sub, '--help']).out;
      const examples = h.split('\nExamples:\n')[1]?.split('\n\n')[0]?.split('\n').filter((l) => l.startsWith('  aes-payload') || l.startsWith('  eval')) ?? [];
      expect(examples.length, sub).toBeGreaterThanOrEqual(2);
      for (const code of ['0', '1', '2', '3', '4', '5', '70', '130']) expect(h, `${sub} ${code}`).toMatch(new RegExp(`^  ${code} +\\S`, 'm'));
      if (sub !== 'keygen') {
        const key = h.indexOf('\nKey (never on the command line');
        expect(key, sub).toBeGreaterThan(h.indexOf('\nOptions:'));
        const keyPart = h.slice(key).split('\n\n')[0]!;
        expect(keyPart).toMatch(/--key-file/);
        expect(keyPart).toMatch(/--passphrase-env/);
        expect(keyPart).not.toMatch(/--output|--format/);
      }
    }
  });

  it('the top-level help names every key source, and the exit codes', () => {
    const h = run(['--help']).out;
    for (const s of ['AES_PAYLOAD_KEY', 'AES_PAYLOAD_KEYRING', '--key-env', '--key-file', '--ini', '--keyring', '--prompt', '--passphrase', '--passphrase-env', '--passphrase-file']) expect(h).toContain(s);
    expect(h).toMatch(/^  130 +interrupted/m);
  });
});

describe('usage errors', () => {
  it('point to the subcommand\'s help', () => {
    const r = run(['decrypt', '--bogus']);
    expect(r.code).toBe(2);
    expect(oneLineError(r.stderr)).toBe("aes-payload: unknown option '--bogus' (see aes-payload decrypt --help)");
    const u = run(['encrypt', '--fail-fast'], { env: { AES_PAYLOAD_KEY: randomBytes(32).toString('hex') } });
    expect(oneLineError(u.stderr)).toBe('aes-payload: --fail-fast needs --lines (see aes-payload encrypt --help)');
  });

  it('an unknown command is one line, with what it may have meant', () => {
    const v = run(['version']);
    expect(v.code).toBe(2);
    expect(v.stderr).toBe("aes-payload: unknown command 'version'; did you mean --version?\n");
    const d = run(['decrpyt']);
    expect(d.stderr).toBe("aes-payload: unknown command 'decrpyt'; did you mean decrypt?\n");
  });
});

describe('the library', () => {
  it('takes a key as text, in the encodings the CLI reads, or says what to pass', () => {
    const hex = randomBytes(32).toString('hex');
    const { text } = encrypt('x', hex);
    expect(decrypt(text, Buffer.from(hex, 'hex')).plaintext.toString()).toBe('x');
    expect(decrypt(text, Buffer.from(hex, 'hex').toString('base64')).plaintext.toString()).toBe('x');
    expect(() => encrypt('x', 'not a key')).toThrow(/cannot decode the key/);
    expect(() => encrypt('x', 42 as unknown as string)).toThrow(TypeError);
  });

  it('the field functions all take (text, key, options); the key is bytes or a lookup by kid', () => {
    const key = randomBytes(32);
    const doc = '{"a":"secret","b":1}';
    const e = encryptFields(doc, key, { paths: parsePaths('a') }).text;
    expect(decryptFields(e, key).text).toBe(doc);
    expect(decryptFields(e, () => key, { paths: parsePaths('a') }).text).toBe(doc);
    expect(checkFields(e, key, { require: parsePaths('a') }).plaintext).toEqual([]);
    const k2 = randomBytes(32);
    const r = rotateFields(e, key, { newKey: k2 });
    expect(decryptFields(r.text, k2).text).toBe(doc);
  });
});
