// Attack class 8: log injection. Strings that come from the input (algorithm
// names, member names, crit entries, token fields, kids, file names) must
// reach stderr escaped and shortened, so that an error is always exactly one
// line and cannot paint a fake "OK prod.json" into a CI log.
import { randomBytes } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli, enc, workspace } from './attack.js';

const { file } = workspace();
const EVIL = '\u001b[2K\r\nOK prod.json A256GCM\u0007\u009b\u202e';
const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** stderr is one line per message, and carries no control or bidi characters. */
function clean(stderr: string, lines = 1): void {
  const body = stderr.endsWith('\n') ? stderr.slice(0, -1) : stderr;
  expect(body.split('\n'), stderr).toHaveLength(lines);
  expect(body, JSON.stringify(stderr)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  expect(stderr).not.toMatch(/^OK prod\.json/m);
}

describe('input-derived strings in messages are escaped', () => {
  const env = JSON.parse(enc([], 'x')) as Record<string, unknown>;
  const cases: [string, string | Buffer][] = [
    ['envelope alg', JSON.stringify({ ...env, alg: EVIL })],
    ['envelope member name', JSON.stringify({ ...env, [EVIL]: 1 })],
    ['envelope version', JSON.stringify({ ...env, v: EVIL })],
    ['JWE alg', `${b64u(JSON.stringify({ alg: EVIL, enc: 'A256GCM' }))}..${b64u(randomBytes(12))}.${b64u('x')}.${b64u(randomBytes(16))}`],
    ['JWE enc', `${b64u(JSON.stringify({ alg: 'dir', enc: EVIL }))}..${b64u(randomBytes(12))}.${b64u('x')}.${b64u(randomBytes(16))}`],
    ['JWE crit', `${b64u(JSON.stringify({ alg: 'dir', enc: 'A256GCM', crit: [EVIL] }))}..${b64u(randomBytes(12))}.${b64u('x')}.${b64u(randomBytes(16))}`],
    ['JWE JSON member name', JSON.stringify({ protected: b64u('{"alg":"dir","enc":"A256GCM"}'), iv: 'AAAA', ciphertext: 'AAAA', tag: 'AAAA', [EVIL]: 1 })],
    ['JWE zip', `${b64u(JSON.stringify({ alg: 'dir', enc: 'A256GCM', zip: EVIL }))}..${b64u(randomBytes(12))}.${b64u('x')}.${b64u(randomBytes(16))}`],
    ['token alg', enc(['--fields', 'a'], '{"a":"b"}').replace(/aesp:(\d):A256GCM/, `aesp:$1:${EVIL.replace(/[\r\n"\\\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}`)],
    ['kdf name', JSON.stringify({ v: 2, alg: 'A256GCM', kdf: { name: EVIL }, nonce: env.nonce, data: env.data, mac: env.mac })],
  ];
  for (const [name, input] of cases) {
    it(`${name}: one escaped line`, () => {
      const r = cli(['decrypt'], input);
      expect(r.code).not.toBe(0);
      clean(r.stderr);
      const v = cli(['verify'], input);
      clean(v.stderr);
    });
  }

  it('a keyring kid from the input is escaped', () => {
    const ring = JSON.stringify({ primary: 'k', keys: { k: randomBytes(32).toString('hex') } });
    const jwe = `${b64u(JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid: EVIL }))}..${b64u(randomBytes(12))}.${b64u('x')}.${b64u(randomBytes(16))}`;
    const ringFile = file('ring.json', ring);
    chmodSync(ringFile, 0o600);
    const r = cli(['decrypt', '--keyring', ringFile], jwe, {});
    expect(r.code).not.toBe(0);
    clean(r.stderr);
  });

  it('file names are escaped in verify and rotate lines', () => {
    const name = file(`evil${EVIL}.json`, '{"a":1}');
    const v = cli(['verify', name]);
    expect(v.code).toBe(4);
    clean(v.stderr);
    const r = cli(['rotate', '--to-key-env', 'AES_PAYLOAD_KEY', name]);
    clean(r.stderr);
    const d = cli(['decrypt', `${name}.missing`]);
    clean(d.stderr);
  });

  it('long input strings are cut to a few dozen characters', () => {
    const r = cli(['decrypt'], JSON.stringify({ ...env, alg: 'A'.repeat(5000) }));
    expect(r.stderr.length).toBeLessThan(200);
  });
});
