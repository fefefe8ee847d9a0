// Interop with real peers: Debian python3-cryptography, python3-pycryptodome and openssl.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PYTHON, ROOT, run, runPeer } from './helpers.js';

const PEER = join(ROOT, 'test/peers/peer.py');
const py = (args: string[], input: string | Buffer) => runPeer(PYTHON, [PEER, ...args], input);
/** Many peer calls in one Python process: each [COMMAND, ...ARGS, stdin] gives its stdout, or throws its error. */
function pyBatch(calls: [string, ...(string | Buffer)[]][]): Buffer[] {
  const r = runPeer(PYTHON, [PEER, 'batch'], JSON.stringify(calls.map((c) => [...c.slice(0, -1), Buffer.from(c.at(-1)!).toString('base64')])));
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.out) as ({ out: string } | { error: string })[]).map((x, i) => {
    if ('error' in x) throw new Error(`peer call ${i} (${calls[i]![0]}): ${x.error}`);
    return Buffer.from(x.out, 'base64');
  });
}
const payloads = [Buffer.from('{"amount":12.5,"currency":"EUR","note":"caf\u00e9"}'), randomBytes(1000), Buffer.alloc(0)];

describe('python3-cryptography decrypts our output', () => {
  for (const bits of [128, 192, 256]) {
    it(`JSON envelope, A${bits}GCM, with and without AAD`, () => {
      const key = randomBytes(bits / 8).toString('hex');
      const calls: [string, string, Buffer][] = [];
      const want: Buffer[] = [];
      for (const p of payloads) {
        for (const aad of [[], ['--aad', 'ctx:42']]) {
          const e = run(['encrypt', ...aad], { input: p, env: { AES_PAYLOAD_KEY: key } });
          expect(e.code, e.stderr).toBe(0);
          calls.push(['gcm-json-decrypt', key, e.stdout]);
          want.push(p);
        }
      }
      pyBatch(calls).forEach((d, i) => expect(d.equals(want[i]!)).toBe(true));
    });

    it(`raw, A${bits}GCM`, () => {
      const key = randomBytes(bits / 8).toString('hex');
      const calls = payloads.map((p): [string, string, Buffer] => ['gcm-raw-decrypt', key, run(['encrypt', '--format', 'raw'], { input: p, env: { AES_PAYLOAD_KEY: key } }).stdout]);
      pyBatch(calls).forEach((d, i) => expect(d.equals(payloads[i]!)).toBe(true));
    });
  }

  for (const alg of ['A128CBC-HS256', 'A192CBC-HS384', 'A256CBC-HS512']) {
    it(`JSON envelope, ${alg}, following docs/FORMAT.md`, () => {
      const key = randomBytes(Number(alg.slice(1, 4)) / 4).toString('hex');
      const e = run(['encrypt', '--alg', alg, '--aad', 'hdr'], { input: payloads[0], env: { AES_PAYLOAD_KEY: key } });
      const d = py(['hs-json-decrypt', key], e.stdout);
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout.equals(payloads[0]!)).toBe(true);
    });
  }
});

describe('the origin microservice (pycryptodome)', () => {
  it('default-GCM {data,key,mac,nonce} with a 16-byte nonce decrypts with --embedded-key', () => {
    const made = pyBatch(payloads.map((p) => ['origin-gcm-encrypt', p]));
    payloads.forEach((p, i) => {
      const o = made[i]!;
      const env = JSON.parse(o.toString());
      expect(Object.keys(env).sort()).toEqual(['data', 'key', 'mac', 'nonce']);
      expect(Buffer.from(env.nonce, 'base64').length).toBe(16);
      expect(run(['decrypt'], { input: o }).code).toBe(4); // refused without --embedded-key
      const d = run(['decrypt', '--embedded-key'], { input: o });
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout.equals(p)).toBe(true);
      const v = run(['verify', '--key-env', 'K'], { input: o, env: { K: env.key } });
      expect(v.code, v.stderr).toBe(4); // verify refuses embedded keys too
    });
  });

  it('encrypt --random-key writes what the origin\'s clients decrypt, with their own pycryptodome code', () => {
    const calls = payloads.map((p): [string, Buffer] => {
      const e = run(['encrypt', '--random-key'], { input: p });
      expect(e.code, e.stderr).toBe(0);
      return ['origin-gcm-decrypt', e.stdout];
    });
    pyBatch(calls).forEach((d, i) => expect(d.equals(payloads[i]!)).toBe(true));
  });

  it('a tampered origin envelope fails authentication (exit 1)', () => {
    const env = JSON.parse(py(['origin-gcm-encrypt'], 'hello').out);
    const data = Buffer.from(env.data, 'base64');
    data[0]! ^= 1;
    env.data = data.toString('base64');
    expect(run(['decrypt', '--embedded-key'], { input: JSON.stringify(env) }).code).toBe(1);
  });

  const QUIRK = '39b96ec8e9f303bfbb14917b232866d5';
  it('CBC base64(iv + ct) with the utf8-key quirk: origin -> aes-payload', () => {
    const made = pyBatch(payloads.map((p) => ['origin-cbc-encrypt', QUIRK, p]));
    payloads.forEach((p, i) => {
      const d = run(['decrypt', '--alg', 'A256CBC', '--format', 'raw', '--key-encoding', 'utf8'], {
        input: made[i],
        env: { AES_PAYLOAD_KEY: QUIRK },
      });
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout.equals(p)).toBe(true);
    });
  });

  it('CBC base64(iv + ct) with the utf8-key quirk: aes-payload -> origin', () => {
    const calls = payloads.map((p): [string, string, Buffer] => {
      const e = run(['encrypt', '--alg', 'A256CBC', '--format', 'raw', '--key-encoding', 'utf8'], {
        input: p,
        env: { AES_PAYLOAD_KEY: QUIRK },
      });
      expect(e.code).toBe(0);
      return ['origin-cbc-decrypt', QUIRK, e.stdout];
    });
    pyBatch(calls).forEach((d, i) => expect(d.equals(payloads[i]!)).toBe(true));
  });
});

describe('openssl', () => {
  it('openssl enc -d decrypts our raw A256CBC output', () => {
    const key = randomBytes(32).toString('hex');
    for (const p of payloads) {
      const e = run(['encrypt', '--alg', 'A256CBC', '--format', 'raw'], { input: p, env: { AES_PAYLOAD_KEY: key } });
      const raw = Buffer.from(e.out.trim(), 'base64');
      const iv = raw.subarray(0, 16).toString('hex');
      const d = runPeer('openssl', ['enc', '-d', '-aes-256-cbc', '-K', key, '-iv', iv], raw.subarray(16));
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout.equals(p)).toBe(true);
    }
  });

  it('we decrypt openssl enc -aes-128-cbc output laid out as base64(iv + ct)', () => {
    const key = randomBytes(16).toString('hex');
    const iv = randomBytes(16);
    const ct = runPeer('openssl', ['enc', '-aes-128-cbc', '-K', key, '-iv', iv.toString('hex')], payloads[0]).stdout;
    const d = run(['decrypt', '--alg', 'A128CBC'], {
      input: Buffer.concat([iv, ct]).toString('base64'),
      env: { AES_PAYLOAD_KEY: key },
    });
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout.equals(payloads[0]!)).toBe(true);
  });
});
