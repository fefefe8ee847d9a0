// CLI tests: the real built CLI as a child process, real stdin, files, env and exit codes.
import { spawnSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUTH_FAILED_MESSAGE } from '../../src/errors.js';
import { ALGS } from '../../src/crypto/algs.js';
import { keyId } from '../../src/keys/kid.js';
import { BIN, HANG_MS, oneLineError, run, tempDir } from '../helpers.js';

const dir = tempDir();
const KEY = randomBytes(32);
const KEY_HEX = KEY.toString('hex');
const envKey = { AES_PAYLOAD_KEY: KEY_HEX };
const keyLen = (alg: string) => (alg.includes('-HS') ? Number(alg.slice(1, 4)) / 4 : Number(alg.slice(1, 4)) / 8);
let n = 0;
const file = (name: string, content?: string | Buffer, mode?: number): string => {
  const p = join(dir, `${n++}-${name}`);
  if (content !== undefined) writeFileSync(p, content, mode !== undefined ? { mode } : {});
  if (mode !== undefined) chmodSync(p, mode);
  return p;
};

/** A plain-CBC envelope as aes-payload 0.1 wrote it (version 1, key used directly). */
function legacyCbcEnvelope(key: Buffer, pt: string): string {
  const iv = randomBytes(16);
  const c = createCipheriv(`aes-${key.length * 8}-cbc`, key, iv);
  const data = Buffer.concat([c.update(pt), c.final()]);
  return `${JSON.stringify({ v: 1, alg: `A${key.length * 8}CBC`, kid: keyId(key), nonce: iv.toString('base64'), data: data.toString('base64') })}\n`;
}

function expectFail(r: ReturnType<typeof run>, code: number, pattern?: RegExp): string {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout.length).toBe(0);
  const line = oneLineError(r.stderr);
  if (pattern) expect(line).toMatch(pattern);
  return line;
}

describe('keygen', () => {
  it('prints only the hex key on stdout, kid and hint on stderr', () => {
    const r = run(['keygen']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^[0-9a-f]{64}\n$/);
    const key = Buffer.from(r.out.trim(), 'hex');
    expect(r.stderr).toContain(`kid ${keyId(key)}`);
    expect(r.stderr).toContain('A256GCM');
    expect(r.stderr).not.toContain(r.out.trim());
    expect(r.stderr).not.toMatch(/\x1b\[/); // no colour when stderr is not a TTY
  });

  it('makes a fresh key every time', () => {
    expect(run(['keygen']).out).not.toBe(run(['keygen']).out);
  });

  for (const alg of ALGS) {
    it(`--alg ${alg} gives a ${keyLen(alg)}-byte key`, () => {
      const r = run(['keygen', '--alg', alg]);
      expect(r.code).toBe(0);
      expect(Buffer.from(r.out.trim(), 'hex').length).toBe(keyLen(alg));
    });
  }

  it('--encoding base64 and base64url', () => {
    const b = run(['keygen', '--encoding', 'base64']).out.trim();
    expect(Buffer.from(b, 'base64').length).toBe(32);
    expect(b).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const u = run(['keygen', '--encoding', 'base64url', '--alg', 'A128GCM']).out.trim();
    expect(u).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('--json prints alg, kid, encoding and key', () => {
    const r = run(['keygen', '--json', '--alg', 'A128CBC-HS256']);
    const j = JSON.parse(r.out);
    expect(Object.keys(j)).toEqual(['alg', 'kid', 'encoding', 'key']);
    expect(j.alg).toBe('A128CBC-HS256');
    expect(j.encoding).toBe('hex');
    expect(j.kid).toBe(keyId(Buffer.from(j.key, 'hex')));
  });

  it('--env NAME prints an export line that a shell can use', () => {
    const r = run(['keygen', '--env', 'MY_KEY']);
    expect(r.out).toMatch(/^export MY_KEY=[0-9a-f]{64}\n$/);
    expectFail(run(['keygen', '--env', 'bad name']), 2, /shell variable name/);
  });

  it('-o FILE writes a 0600 key file and never overwrites it without --force', () => {
    const p = file('key.hex');
    const r = run(['keygen', '-o', p]);
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    expect(statSync(p).mode & 0o777).toBe(0o600);
    const first = readFileSync(p, 'utf8');
    expect(first).toMatch(/^[0-9a-f]{64}\n$/);
    expectFail(run(['keygen', '-o', p]), 5, /already exists.*--force/);
    expect(readFileSync(p, 'utf8')).toBe(first);
    expect(run(['keygen', '-o', p, '--force']).code).toBe(0);
    expect(readFileSync(p, 'utf8')).not.toBe(first);
    expect(statSync(p).mode & 0o777).toBe(0o600);
    // The key file works as a key source.
    const enc = run(['encrypt', '--key-file', p], { input: 'hello' });
    expect(run(['decrypt', '--key-file', p], { input: enc.stdout }).out).toBe('hello');
  });

  it('refuses two destinations at once', () => {
    expectFail(run(['keygen', '--json', '--env', 'X']), 2, /choose one/);
  });

  it('--ini creates a new file with mode 0600 in [app:main]', () => {
    const p = file('new.ini');
    const r = run(['keygen', '--ini', p]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toBe('');
    expect(statSync(p).mode & 0o777).toBe(0o600);
    const text = readFileSync(p, 'utf8');
    expect(text).toMatch(/^\[app:main\]\nSECRET_KEY = [0-9a-f]{64}\n$/);
    const key = Buffer.from(/= (\w+)/.exec(text)![1]!, 'hex');
    expect(r.stderr).toContain(keyId(key));
    expect(r.stderr).not.toContain(key.toString('hex'));
  });

  it('--ini keeps every other line byte for byte and replaces a key only with --force', () => {
    const original =
      '# development.ini\r\n[app:main]\r\nuse = egg:shop\r\nSECRET_KEY = "old"\r\n; comment\r\n\r\n[server:main]\r\nport = 6543\r\n';
    const p = file('dev.ini', original, 0o600);
    expectFail(run(['keygen', '--ini', p]), 5, /SECRET_KEY in .* already exists; use --force/);
    expect(readFileSync(p, 'utf8')).toBe(original);
    const r = run(['keygen', '--ini', p, '--force']);
    expect(r.code, r.stderr).toBe(0);
    const after = readFileSync(p, 'utf8');
    const newLine = /SECRET_KEY = ([0-9a-f]{64})\r\n/.exec(after);
    expect(newLine).not.toBeNull();
    expect(after).toBe(original.replace('SECRET_KEY = "old"', `SECRET_KEY = ${newLine![1]}`));
    expect(statSync(p).mode & 0o777).toBe(0o600);
    // And the written key is what --ini reads back.
    const enc = run(['encrypt', '--ini', p], { input: 'x' });
    expect(enc.code, enc.stderr).toBe(0);
    expect(JSON.parse(enc.out).kid).toBe(keyId(Buffer.from(newLine![1]!, 'hex')));
  });

  it('--ini adds a missing key to an existing section, or a new section, leaving the rest alone', () => {
    const original = '[app:main]\nuse = egg:shop\n\n[server:main]\nport = 6543\n';
    const p = file('add.ini', original, 0o600);
    expect(run(['keygen', '--ini', p]).code).toBe(0);
    const after = readFileSync(p, 'utf8');
    expect(after).toMatch(/^\[app:main\]\nuse = egg:shop\nSECRET_KEY = [0-9a-f]{64}\n\n\[server:main\]\nport = 6543\n$/);
    expect(run(['keygen', '--ini', p, '--ini-section', 'other', '--ini-key', 'K2', '--alg', 'A128GCM']).code).toBe(0);
    const again = readFileSync(p, 'utf8');
    expect(again.startsWith(after)).toBe(true);
    expect(again.slice(after.length)).toMatch(/^\n\[other\]\nK2 = [0-9a-f]{32}\n$/);
  });

  it('--ini into a file that group or others can read tightens it to 0600 and says so', () => {
    const p = file('open.ini', '[app:main]\n', 0o644);
    const r = run(['keygen', '--ini', p]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/aes-payload: warning: .*was mode 0644; it holds a key now, so it is mode 0600/);
    expect(statSync(p).mode & 0o777).toBe(0o600);
  });
});

describe('encrypt and decrypt round trips', () => {
  const payload = Buffer.concat([Buffer.from('{"card":"4111 1111 1111 1111"}\n'), randomBytes(300), Buffer.from([0, 255, 10, 13])]);
  for (const alg of ALGS) {
    for (const format of ['json', 'raw'] as const) {
      it(`${alg} ${format}, stdin and files`, () => {
        const key = randomBytes(keyLen(alg)).toString('hex');
        const env = { AES_PAYLOAD_KEY: key };
        if (alg.endsWith('CBC') && format === 'json') {
          // Plain CBC is only for old services' raw base64(iv + ct): the envelope is authenticated only.
          expectFail(run(['encrypt', '--alg', alg], { input: payload, env }), 2, new RegExp(`${alg} is unauthenticated.*--format raw`));
          return;
        }
        const enc = run(['encrypt', '--alg', alg, '--format', format], { input: payload, env });
        expect(enc.code, enc.stderr).toBe(0);
        expect(enc.out.endsWith('\n')).toBe(true);
        expect(enc.out.trim()).not.toContain('\n');
        if (alg.endsWith('CBC')) expect(enc.stderr).toMatch(/warning: .*unauthenticated/);
        else expect(enc.stderr).toBe('');
        if (format === 'json') {
          const e = JSON.parse(enc.out);
          expect(e.v).toBe(2);
          expect(e.alg).toBe(alg);
          expect(e.kid).toBe(keyId(Buffer.from(key, 'hex')));
          expect(Buffer.from(e.nonce, 'base64').length).toBe(alg.includes('GCM') ? 12 : 16);
          expect('mac' in e).toBe(!alg.endsWith('CBC'));
        }
        const decArgs = alg.endsWith('CBC') || format === 'raw' ? ['--alg', alg] : [];
        const dec = run(['decrypt', ...decArgs], { input: enc.stdout, env });
        expect(dec.code, dec.stderr).toBe(0);
        expect(dec.stdout.equals(payload)).toBe(true);
        // Same through files and -o.
        const inFile = file('in.bin', enc.stdout);
        const outFile = file('out.bin');
        const dec2 = run(['decrypt', inFile, '-o', outFile, ...decArgs], { env });
        expect(dec2.code, dec2.stderr).toBe(0);
        expect(dec2.stdout.length).toBe(0);
        expect(readFileSync(outFile).equals(payload)).toBe(true);
        expect(statSync(outFile).mode & 0o777).toBe(0o600);
      });
    }
  }

  it('uses a fresh nonce for every message', () => {
    const a = JSON.parse(run(['encrypt'], { input: 'same', env: envKey }).out);
    const b = JSON.parse(run(['encrypt'], { input: 'same', env: envKey }).out);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.data).not.toBe(b.data);
  });

  it('defaults to the GCM variant of the key size, and CBC-HS for 48/64-byte keys', () => {
    for (const [len, alg] of [[16, 'A128GCM'], [24, 'A192GCM'], [32, 'A256GCM'], [48, 'A192CBC-HS384'], [64, 'A256CBC-HS512']] as const) {
      const env = { AES_PAYLOAD_KEY: randomBytes(len).toString('hex') };
      const e = run(['encrypt'], { input: 'x', env });
      expect(JSON.parse(e.out).alg).toBe(alg);
      const raw = run(['encrypt', '--format', 'raw'], { input: 'x', env });
      expect(run(['decrypt'], { input: raw.stdout, env }).out).toBe('x');
    }
  });

  it('handles an empty payload', () => {
    const e = run(['encrypt'], { input: '', env: envKey });
    expect(e.code).toBe(0);
    const d = run(['decrypt'], { input: e.stdout, env: envKey });
    expect(d.code).toBe(0);
    expect(d.stdout.length).toBe(0);
  });

  it('encrypt -o writes the envelope atomically and refuses to clobber', () => {
    const out = file('env.json');
    expect(run(['encrypt', '-o', out], { input: 'abc', env: envKey }).code).toBe(0);
    const first = readFileSync(out, 'utf8');
    expectFail(run(['encrypt', '-o', out], { input: 'abc', env: envKey }), 5, /already exists; use --force/);
    expect(readFileSync(out, 'utf8')).toBe(first);
    expect(run(['encrypt', '-o', out, '--force'], { input: 'abc', env: envKey }).code).toBe(0);
    expect(readFileSync(out, 'utf8')).not.toBe(first);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to write the output over the input', () => {
    const p = file('same.txt', 'data');
    expectFail(run(['encrypt', p, '-o', p, '--force'], { env: envKey }), 5, /over the input/);
    expect(readFileSync(p, 'utf8')).toBe('data');
  });
});

describe('AAD', () => {
  it('is recorded, authenticated and must match on decrypt', () => {
    const e = run(['encrypt', '--aad', 'order-42'], { input: 'secret', env: envKey });
    expect(Buffer.from(JSON.parse(e.out).aad, 'base64').toString()).toBe('order-42');
    expect(run(['decrypt'], { input: e.stdout, env: envKey }).out).toBe('secret');
    expect(run(['decrypt', '--aad', 'order-42'], { input: e.stdout, env: envKey }).out).toBe('secret');
    expectFail(run(['decrypt', '--aad', 'order-43'], { input: e.stdout, env: envKey }), 1);
    // Editing the recorded aad breaks authentication too.
    const env = JSON.parse(e.out);
    env.aad = Buffer.from('order-43').toString('base64');
    expectFail(run(['decrypt'], { input: JSON.stringify(env), env: envKey }), 1);
  });

  it('raw needs the same --aad on decrypt', () => {
    const e = run(['encrypt', '--format', 'raw', '--aad', 'ctx'], { input: 'p', env: envKey });
    expect(run(['decrypt', '--aad', 'ctx'], { input: e.stdout, env: envKey }).out).toBe('p');
    expectFail(run(['decrypt'], { input: e.stdout, env: envKey }), 1);
  });

  it('is refused with unauthenticated CBC', () => {
    expectFail(run(['encrypt', '--alg', 'A256CBC', '--aad', 'x'], { input: 'p', env: envKey }), 2, /authenticated algorithm/);
  });
});

describe('authentication failures', () => {
  const enc = run(['encrypt'], { input: 'top secret plaintext', env: envKey });
  const env = JSON.parse(enc.out);

  it('wrong key exits 1 with the one message and no output; the message names both kids', () => {
    const other = randomBytes(32);
    const line = expectFail(run(['decrypt'], { input: enc.stdout, env: { AES_PAYLOAD_KEY: other.toString('hex') } }), 1);
    expect(line).toBe(`aes-payload: ${AUTH_FAILED_MESSAGE} (the input names kid ${keyId(KEY)}; the key given is kid ${keyId(other)})`);
  });

  for (const field of ['nonce', 'data', 'mac'] as const) {
    it(`a flipped bit in ${field} exits 1 with the same message`, () => {
      const bytes = Buffer.from(env[field], 'base64');
      bytes[bytes.length - 1]! ^= 0x01;
      const line = expectFail(run(['decrypt'], { input: JSON.stringify({ ...env, [field]: bytes.toString('base64') }), env: envKey }), 1);
      expect(line).toBe(`aes-payload: ${AUTH_FAILED_MESSAGE} (kid ${keyId(KEY)} matches, but the data was altered)`);
    });
  }

  it('bad CBC padding and a bad CBC-HS MAC give the same message', () => {
    const k = { AES_PAYLOAD_KEY: KEY_HEX };
    const cbc = run(['encrypt', '--alg', 'A256CBC', '--format', 'raw'], { input: 'x', env: k });
    const raw = Buffer.from(cbc.out.trim(), 'base64');
    raw[raw.length - 1]! ^= 0xff;
    const l1 = expectFail(run(['decrypt', '--alg', 'A256CBC'], { input: raw.toString('base64'), env: k }), 1);
    const hs = run(['encrypt', '--alg', 'A128CBC-HS256', '--format', 'raw'], { input: 'x', env: k });
    const raw2 = Buffer.from(hs.out.trim(), 'base64');
    raw2[20]! ^= 1;
    const l2 = expectFail(run(['decrypt', '--alg', 'A128CBC-HS256'], { input: raw2.toString('base64'), env: k }), 1);
    expect(l1).toBe(l2);
    expect(l1).toBe(`aes-payload: ${AUTH_FAILED_MESSAGE}`);
  });

  it('decrypt -o leaves no file when authentication fails', () => {
    const out = file('never.txt');
    const bad = JSON.stringify({ ...env, mac: Buffer.alloc(16).toString('base64') });
    expectFail(run(['decrypt', '-o', out], { input: bad, env: envKey }), 1);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('never'))).toEqual([]);
  });
});

describe('malformed input and unsupported versions (exit 4)', () => {
  const good = JSON.parse(run(['encrypt'], { input: 'x', env: envKey }).out);
  const cases: [string, string, RegExp][] = [
    ['invalid JSON', '{"v":1,', /not valid JSON/],
    ['a JSON array', '[1]', /not an encrypted input/],
    ['unknown version', JSON.stringify({ ...good, v: 3 }), /unsupported envelope version 3/],
    ['unknown alg', JSON.stringify({ ...good, alg: 'A256XYZ' }), /unsupported algorithm/],
    ['missing data', JSON.stringify({ ...good, data: undefined }), /no "data" field/],
    ['missing mac', JSON.stringify({ ...good, mac: undefined }), /no "mac" field/],
    ['wrong type', JSON.stringify({ ...good, nonce: 12 }), /"nonce" is not a string/],
    ['extra field', JSON.stringify({ ...good, extra: 1 }), /unknown field "extra"/],
    ['duplicate field', JSON.stringify(good).replace('{', '{"alg":"A128CBC",'), /duplicate key at line 1, column \d+/],
    ['duplicate field, escaped', JSON.stringify(good).replace('{', '{"\\u0061lg":"A128CBC",'), /duplicate key at line 1, column \d+/],
    ['bad base64', JSON.stringify({ ...good, data: 'a*b=' }), /"data" is not valid base64/],
    ['non-canonical base64', JSON.stringify({ ...good, nonce: good.nonce.slice(0, -1) + (good.nonce.endsWith('A') ? 'B' : 'A') + '=' }), /base64/],
    ['zero-length nonce', JSON.stringify({ ...good, nonce: '' }), /nonce of 0 bytes/],
    ['alg differs from --alg', JSON.stringify(good), /says A256GCM but --alg is A128GCM/],
    ['raw that is not base64', 'not base64 at all!', /raw input is not valid base64/],
    ['raw too short', 'AAAA', /too short/],
  ];
  for (const [name, input, pattern] of cases) {
    it(name, () => {
      const args = name === 'alg differs from --alg' ? ['decrypt', '--alg', 'A128GCM'] : ['decrypt'];
      expectFail(run(args, { input, env: envKey }), 4, pattern);
    });
  }

  it('a 64 MiB + 1 byte input exits 4 and points to streaming', () => {
    const p = file('big.bin', Buffer.alloc(64 * 1024 * 1024 + 1));
    expectFail(run(['encrypt', p], { env: envKey }), 4, /larger than 64 MiB.*use --format stream/);
  });

  it('an unauthenticated CBC envelope (version 1, as 0.1 wrote it) needs --allow-legacy and an explicit --alg', () => {
    const k16 = KEY.subarray(0, 16);
    const e = legacyCbcEnvelope(k16, 'legacy');
    const k = { AES_PAYLOAD_KEY: k16.toString('hex') };
    expectFail(run(['decrypt'], { input: e, env: k }), 4, /version-1 envelope.*--allow-legacy/);
    expectFail(run(['decrypt', '--allow-legacy'], { input: e, env: k }), 4, /unauthenticated; pass --alg A128CBC/);
    expect(run(['decrypt', '--allow-legacy', '--alg', 'A128CBC'], { input: e, env: k }).out).toBe('legacy');
  });
});

describe('embedded keys (the origin microservice)', () => {
  it('--random-key writes the origin\'s {data,key,mac,nonce} with a fresh key, warns, and decrypts only with --embedded-key', () => {
    const e = run(['encrypt', '--random-key'], { input: 'hello' });
    expect(e.code).toBe(0);
    expect(e.stderr).toMatch(/warning: .*not secret/);
    const env = JSON.parse(e.out);
    expect(Object.keys(env)).toEqual(['data', 'key', 'mac', 'nonce']);
    expect(Buffer.from(env.key, 'base64').length).toBe(32);
    expect(Buffer.from(env.nonce, 'base64').length).toBe(16);
    expectFail(run(['decrypt'], { input: e.stdout, env: envKey }), 4, /carries its own key.*--embedded-key/);
    expect(run(['decrypt', '--embedded-key'], { input: e.stdout }).out).toBe('hello');
  });

  it('--random-key conflicts with key flags and raw', () => {
    expectFail(run(['encrypt', '--random-key', '--key-env', 'X'], { input: 'x' }), 2);
    expectFail(run(['encrypt', '--random-key', '--format', 'raw'], { input: 'x' }), 2);
  });

  it('--embedded-key without a key in the envelope exits 4', () => {
    const e = run(['encrypt'], { input: 'x', env: envKey });
    expectFail(run(['decrypt', '--embedded-key'], { input: e.stdout }), 4, /no "key" field/);
  });
});

describe('key sources', () => {
  const enc = run(['encrypt'], { input: 'payload', env: envKey });

  it('no key at all exits 3 and names every source', () => {
    const line = expectFail(run(['encrypt'], { input: 'x' }), 3);
    for (const s of ['AES_PAYLOAD_KEY', '--key-env', '--key-file', '--ini']) expect(line).toContain(s);
  });

  it('--key-env NAME', () => {
    expect(run(['decrypt', '--key-env', 'OTHER'], { input: enc.stdout, env: { OTHER: KEY_HEX } }).out).toBe('payload');
    expectFail(run(['decrypt', '--key-env', 'MISSING'], { input: enc.stdout }), 3, /MISSING is not set/);
  });

  it('--key-file with hex, base64, base64url and a trailing newline', () => {
    for (const text of [`${KEY_HEX}\n`, KEY_HEX.toUpperCase(), `${KEY.toString('base64')}\n`, KEY.toString('base64url')]) {
      const p = file('k', text, 0o600);
      const r = run(['decrypt', '--key-file', p], { input: enc.stdout });
      expect(r.code, r.stderr).toBe(0);
      expect(r.out).toBe('payload');
      expect(r.stderr).toBe('');
    }
  });

  it('--key-file warns when group or others can read it', () => {
    const p = file('k-open', KEY_HEX, 0o644);
    const r = run(['decrypt', '--key-file', p], { input: enc.stdout });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^aes-payload: warning: .*can be read by group or others; run: chmod 600/);
  });

  it('--key-file errors: missing file (5), directory (5), undecodable (3)', () => {
    expectFail(run(['decrypt', '--key-file', join(dir, 'nope')], { input: enc.stdout }), 5, /no such file/);
    expectFail(run(['decrypt', '--key-file', dir], { input: enc.stdout }), 5, /is a directory/);
    const bad = file('k-bad', 'this is not a key', 0o600);
    expectFail(run(['decrypt', '--key-file', bad], { input: enc.stdout }), 3, /cannot decode the key/);
  });

  it('--key-encoding forces hex, base64 or utf8', () => {
    expect(run(['decrypt', '--key-encoding', 'hex'], { input: enc.stdout, env: envKey }).out).toBe('payload');
    expectFail(run(['decrypt', '--key-encoding', 'base64'], { input: enc.stdout, env: envKey }), 3, /is 48 bytes/);
    const b64 = { AES_PAYLOAD_KEY: KEY.toString('base64') };
    expect(run(['decrypt', '--key-encoding', 'base64'], { input: enc.stdout, env: b64 }).out).toBe('payload');
    expectFail(run(['decrypt', '--key-encoding', 'hex'], { input: enc.stdout, env: b64 }), 3, /not valid hex/);
  });

  it('the utf8 quirk: a 32-character hex string used as a 32-byte AES-256 key', () => {
    const quirk = { AES_PAYLOAD_KEY: '39b96ec8e9f303bfbb14917b232866d5' };
    const e = run(['encrypt', '--key-encoding', 'utf8'], { input: 'q', env: quirk });
    expect(JSON.parse(e.out).alg).toBe('A256GCM');
    expect(JSON.parse(e.out).kid).toBe(keyId(Buffer.from('39b96ec8e9f303bfbb14917b232866d5')));
    // auto reads the same text as 16 hex bytes (AES-128), so it does not decrypt.
    expectFail(run(['decrypt'], { input: e.stdout, env: quirk }), 3, /key is 16 bytes but A256GCM needs 32/);
    expect(run(['decrypt', '--key-encoding', 'utf8'], { input: e.stdout, env: quirk }).out).toBe('q');
  });

  it('a key that does not fit --alg exits 3 naming both lengths', () => {
    expectFail(run(['encrypt', '--alg', 'A128GCM'], { input: 'x', env: envKey }), 3, /key is 32 bytes but A128GCM needs 16 bytes/);
    expectFail(run(['encrypt', '--alg', 'A256CBC-HS512'], { input: 'x', env: envKey }), 3, /32 bytes but A256CBC-HS512 needs 64/);
  });

  it('auto rejects lengths that are no key', () => {
    expectFail(run(['encrypt'], { input: 'x', env: { AES_PAYLOAD_KEY: 'abcd' } }), 3, /cannot decode the key/);
    expectFail(run(['encrypt'], { input: 'x', env: { AES_PAYLOAD_KEY: ' ' + KEY_HEX } }), 3, /white space/);
  });

  it('only one key source at a time', () => {
    expectFail(run(['encrypt', '--key-env', 'A', '--key-file', 'b'], { input: 'x' }), 2, /choose one key source/);
    expectFail(run(['encrypt', '--ini-section', 'x'], { input: 'x', env: envKey }), 2, /need --ini/);
  });

  it('--prompt without a terminal exits 3', () => {
    expectFail(run(['encrypt', '--prompt'], { input: 'x' }), 3, /needs a terminal/);
  });

  it('error messages never contain the key', () => {
    const outputs = [
      run(['decrypt'], { input: enc.stdout.toString().replace('"mac":"', '"mac":"A'), env: envKey }),
      run(['decrypt', '--alg', 'A128GCM'], { input: enc.stdout, env: envKey }),
      run(['encrypt', '--alg', 'A128GCM'], { input: 'x', env: envKey }),
      run(['decrypt', '--key-encoding', 'base64'], { input: enc.stdout, env: envKey }),
      run(['decrypt'], { input: enc.stdout, env: { AES_PAYLOAD_KEY: KEY_HEX + 'zz' } }),
    ];
    for (const o of outputs) {
      expect(o.code).not.toBe(0);
      for (const form of [KEY_HEX, KEY.toString('base64'), KEY_HEX.slice(0, 16)]) expect(o.stderr).not.toContain(form);
    }
  });
});

describe('--ini key source', () => {
  const enc = run(['encrypt'], { input: 'from ini', env: envKey });

  it('reads SECRET_KEY from a section, quoted or not', () => {
    for (const v of [KEY_HEX, `"${KEY_HEX}"`, `'${KEY_HEX}'`]) {
      const p = file('development.ini', `[app:main]\nuse = egg:app\nSECRET_KEY = ${v}\n\n[server:main]\nport = 1\n`, 0o600);
      const r = run(['decrypt', '--ini', p], { input: enc.stdout });
      expect(r.code, r.stderr).toBe(0);
      expect(r.out).toBe('from ini');
    }
  });

  it('reads the top level, and --ini-key picks another name', () => {
    const p = file('top.ini', `OTHER = ${KEY_HEX}\n[x]\ny = 1\n`, 0o600);
    expect(run(['decrypt', '--ini', p, '--ini-key', 'OTHER'], { input: enc.stdout }).out).toBe('from ini');
    expectFail(run(['decrypt', '--ini', p], { input: enc.stdout }), 3, /no SECRET_KEY found/);
  });

  it('a key in several places exits 3 and asks for --ini-section', () => {
    const other = randomBytes(32).toString('hex');
    const p = file('multi.ini', `SECRET_KEY = ${other}\n[app:main]\nSECRET_KEY = ${KEY_HEX}\n`, 0o600);
    const line = expectFail(run(['decrypt', '--ini', p], { input: enc.stdout }), 3, /--ini-section/);
    expect(line).not.toContain(other);
    expect(run(['decrypt', '--ini', p, '--ini-section', 'app:main'], { input: enc.stdout }).out).toBe('from ini');
  });

  it('warns when the .ini can be read by group or others', () => {
    const p = file('world.ini', `SECRET_KEY = ${KEY_HEX}\n`, 0o644);
    const r = run(['decrypt', '--ini', p], { input: enc.stdout });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: .*world\.ini can be read by group or others/);
  });
});

describe('verify', () => {
  const ok1 = file('ok1.json', run(['encrypt'], { input: 'a', env: envKey }).stdout);
  const ok2 = file('ok2.raw', run(['encrypt', '--format', 'raw'], { input: 'b', env: envKey }).stdout);
  const tampered = (() => {
    const e = JSON.parse(readFileSync(ok1, 'utf8'));
    e.mac = Buffer.alloc(16).toString('base64');
    return file('bad.json', JSON.stringify(e));
  })();
  const cbc = file('cbc.json', legacyCbcEnvelope(KEY, 'c'));
  const kid = keyId(KEY);

  it('prints OK lines on stderr, nothing on stdout, exit 0', () => {
    const r = run(['verify', ok1, ok2], { env: envKey });
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toBe(`OK ${ok1} A256GCM ${kid}\nOK ${ok2} A256GCM ${kid}\n`);
  });

  it('reads stdin', () => {
    const r = run(['verify'], { input: readFileSync(ok1), env: envKey });
    expect(r.stderr).toBe(`OK - A256GCM ${kid}\n`);
  });

  it('a tampered file fails with exit 1, and never prints plaintext', () => {
    const r = run(['verify', ok1, tampered], { env: envKey });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`OK ${ok1} A256GCM ${kid}\naes-payload: FAIL ${tampered}: ${AUTH_FAILED_MESSAGE} (kid ${kid} matches, but the data was altered)\n`);
  });

  it('unauthenticated CBC fails with "unauthenticated algorithm" (exit 4)', () => {
    const legacy = run(['verify', cbc], { env: envKey });
    expect(legacy.code).toBe(4);
    expect(legacy.stderr).toMatch(/FAIL .*version-1 envelope.*--allow-legacy/);
    const r = run(['verify', '--allow-legacy', cbc], { env: envKey });
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(`aes-payload: FAIL ${cbc}: unauthenticated algorithm\n`);
    const r2 = run(['verify', '--allow-legacy', '--alg', 'A256CBC', cbc], { env: envKey });
    expect(r2.code).toBe(4);
    expect(r2.stderr).toBe(`aes-payload: FAIL ${cbc}: unauthenticated algorithm\n`);
    const j = JSON.parse(run(['verify', '--allow-legacy', '--json', cbc], { env: envKey }).out);
    expect(j).toEqual([{ file: cbc, ok: false, format: 'json', alg: 'A256CBC', wrap: null, kid, error: 'unauthenticated algorithm' }]);
  });

  it('an edited kid fails like any tampering; a failed input reports the kid it claims', () => {
    const e = JSON.parse(readFileSync(ok1, 'utf8'));
    const edited = file('edited-kid.json', JSON.stringify({ ...e, kid: 'ffffffffffffffff' }));
    const r = run(['verify', edited], { env: envKey });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`aes-payload: FAIL ${edited}: ${AUTH_FAILED_MESSAGE} (the input names kid ffffffffffffffff; the key given is kid ${kid})\n`);
    expect(run(['decrypt', edited], { env: envKey }).code).toBe(1);
    const wrong = run(['verify', '--json', edited], { env: { AES_PAYLOAD_KEY: randomBytes(32).toString('hex') } });
    expect(JSON.parse(wrong.out)[0].kid).toBe('ffffffffffffffff');
  });

  it('an embedded key of a length no algorithm takes is malformed input (exit 4)', () => {
    const e = JSON.parse(readFileSync(ok1, 'utf8'));
    const odd = JSON.stringify({ data: e.data, nonce: e.nonce, mac: e.mac, key: randomBytes(20).toString('base64') });
    expectFail(run(['decrypt', '--embedded-key'], { input: odd }), 4, /embedded key is 20 bytes/);
  });

  it('--json prints a report on stdout', () => {
    const missing = join(dir, 'missing.json');
    const r = run(['verify', '--json', ok1, tampered, missing], { env: envKey });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toEqual([
      { file: ok1, ok: true, format: 'json', alg: 'A256GCM', wrap: null, kid, error: null },
      { file: tampered, ok: false, format: 'json', alg: 'A256GCM', wrap: null, kid, error: `${AUTH_FAILED_MESSAGE} (kid ${kid} matches, but the data was altered)` },
      { file: missing, ok: false, format: null, alg: null, wrap: null, kid: null, error: `cannot read ${missing}: no such file or directory` },
    ]);
  });

  it('a missing file alone exits 5; a malformed one exits 4', () => {
    expect(run(['verify', join(dir, 'nope')], { env: envKey }).code).toBe(5);
    const junk = file('junk.json', '{"v":9}');
    expect(run(['verify', junk], { env: envKey }).code).toBe(4);
  });

  it('a wrong key exits 1; no key exits 3', () => {
    expect(run(['verify', ok1], { env: { AES_PAYLOAD_KEY: randomBytes(32).toString('hex') } }).code).toBe(1);
    expectFail(run(['verify', ok1]), 3, /AES_PAYLOAD_KEY/);
  });

  it('--key-check prints the kid and checks the length against --alg', () => {
    const r = run(['verify', '--key-check'], { env: envKey });
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${kid}\n`);
    expect(r.stderr).toMatch(new RegExp(`^OK key from env AES_PAYLOAD_KEY: 32 bytes, kid ${kid}\\n$`));
    const j = run(['verify', '--key-check', '--json', '--alg', 'A256GCM'], { env: envKey });
    expect(JSON.parse(j.out)).toEqual({ ok: true, kid, type: 'secret', bytes: 32, alg: 'A256GCM', source: 'env AES_PAYLOAD_KEY' });
    expectFail(run(['verify', '--key-check', '--alg', 'A128GCM'], { env: envKey }), 3, /needs 16/);
    expectFail(run(['verify', '--key-check']), 3);
  });
});

describe('usage, I/O and pipes', () => {
  it('unknown options and subcommands exit 2 with one line', () => {
    expectFail(run(['encrypt', '--nope']), 2, /unknown option '--nope'/);
    expectFail(run(['frobnicate']), 2, /unknown command/);
    expectFail(run(['encrypt', '--alg', 'A999GCM']), 2, /Allowed choices/);
    expectFail(run(['encrypt', '--format', 'xml']), 2, /Allowed choices/);
  });

  it('--help and --version go to stdout with exit 0', () => {
    const h = run(['--help']);
    expect(h.code).toBe(0);
    expect(h.out).toContain('keygen');
    expect(h.out).toContain('Exit codes');
    const v = run(['--version']);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^\d+\.\d+\.\d+/);
    expect(run(['keygen', '--help']).out).toContain('2^32 messages');
  });

  it('a missing input exits 5, a directory exits 5', () => {
    expectFail(run(['encrypt', join(dir, 'absent')], { env: envKey }), 5, /cannot read .*absent: no such file or directory/);
    const d = join(dir, 'adir');
    mkdirSync(d);
    expectFail(run(['encrypt', d], { env: envKey }), 5, /is a directory/);
  });

  it('-o into a missing directory exits 5 and leaves nothing', () => {
    expectFail(run(['encrypt', '-o', join(dir, 'no/such/dir/out')], { input: 'x', env: envKey }), 5, /cannot write/);
  });

  it('stdin "-" is the same as no file', () => {
    const e = run(['encrypt', '-'], { input: 'dash', env: envKey });
    expect(run(['decrypt', '-'], { input: e.stdout, env: envKey }).out).toBe('dash');
  });

  it('a closed stdout (| head -c1) ends quietly', () => {
    const p = file('big-plain', randomBytes(4 * 1024 * 1024));
    const enc = file('big-enc');
    expect(run(['encrypt', p, '-o', enc], { env: envKey }).code).toBe(0);
    const r = spawnSync('bash', ['-c', `set -o pipefail; node "$BIN" decrypt "$IN" | head -c 1 >/dev/null`], {
      env: { ...process.env, BIN, IN: enc, AES_PAYLOAD_KEY: KEY_HEX },
    });
    expect(r.status).toBe(0);
    expect(r.stderr.toString()).toBe('');
  });

  it('conflicting flags exit 2', () => {
    expectFail(run(['decrypt', '--embedded-key', '--key-env', 'K'], { input: '{}' }), 2, /drop the key flags/);
    expectFail(run(['decrypt', '--embedded-key', '--format', 'raw'], { input: 'AAAA' }), 2, /needs a JSON envelope/);
    expectFail(run(['verify', '-', '-'], { env: envKey }), 2, /only once/);
    expectFail(run(['verify', '--key-check', 'x.json'], { env: envKey }), 2, /takes no files/);
  });

  it('SIGTERM during encrypt -o leaves no file and no temp file; an uninterrupted run leaves the whole file', async () => {
    const sub = join(dir, 'sigterm');
    mkdirSync(sub);
    const out = join(sub, 'big.aesp');
    const { spawn } = await import('node:child_process');
    const temps = () => readdirSync(sub).filter((f) => f.endsWith('.tmp'));
    // The input is a pipe this test holds open, so the run is certainly still
    // going (waiting for more input, its temp file written) when the signal comes.
    const child = spawn(process.execPath, [BIN, 'encrypt', '--format', 'stream', '-', '-o', out], { env: { PATH: process.env.PATH, AES_PAYLOAD_KEY: KEY_HEX } });
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
    // The child is killed with our data half written: EPIPE on its stdin is expected.
    child.stdin.on('error', () => {});
    child.stdin.write(randomBytes(6 * 1024 * 1024));
    // Wait for the temp file (checked every 10 ms; HANG_MS only stops a hang).
    for (const end = Date.now() + HANG_MS; Date.now() < end && temps().length === 0; ) await new Promise((r) => setTimeout(r, 10));
    expect(temps().length).toBe(1);
    child.kill('SIGTERM');
    child.stdin.end();
    const { signal } = await closed;
    expect(signal).toBe('SIGTERM');
    expect(temps()).toEqual([]);
    expect(existsSync(out)).toBe(false);
    // The same run, not interrupted: the whole file, which decrypts.
    const data = randomBytes(6 * 1024 * 1024);
    const whole = run(['encrypt', '--format', 'stream', '-', '-o', out], { env: envKey, input: data });
    expect(whole.code, whole.stderr).toBe(0);
    expect(temps()).toEqual([]);
    expect(run(['decrypt', out], { env: envKey }).stdout.equals(data)).toBe(true);
  });

  it('AES_PAYLOAD_DEBUG=1 adds a stack; without it there is none', () => {
    const r = run(['encrypt', join(dir, 'absent')], { env: { ...envKey, AES_PAYLOAD_DEBUG: '1' } });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});
