// The stream format, end to end through the built CLI: round trips on both
// the single-thread and worker paths, every tampering the issue names, armor,
// verify, the in-memory limit hint, a Python decoder written from the spec,
// and the progress spinner on a real terminal.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUTH_FAILED_MESSAGE } from '../../../src/errors.js';
import { keyId } from '../../../src/keys/kid.js';
import { BIN, PYTHON, ROOT, oneLineError, run, runPeer, tempDir } from '../../helpers.js';

const dir = tempDir();
const key = randomBytes(32);
const env = { AES_PAYLOAD_KEY: key.toString('hex') };
/** The chunk size of new streams (docs/FORMAT.md §9: 2^18 since 0.4; 2^16 before). */
const CHUNK = 262144;
const WIRE = CHUNK + 16;
const HEADER = 68;

function enc(data: Buffer, extra: string[] = []): Buffer {
  const r = run(['encrypt', '--format', 'stream', ...extra], { env, input: data });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

function file(name: string, data: Buffer | string): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

function authFail(r: ReturnType<typeof run>): void {
  expect(r.code, r.stderr).toBe(1);
  expect(oneLineError(r.stderr)).toMatch(new RegExp(`^aes-payload: ${AUTH_FAILED_MESSAGE}`));
}

describe('round trips', () => {
  const sizes = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 16 * CHUNK, 16 * CHUNK + 1, 3 * 16 * CHUNK - 5];
  // Both code paths: in order (pipes, stdin and stdout) and at offsets (file to file).
  it(`sizes ${sizes.join(', ')} through pipes`, () => {
    for (const n of sizes) {
      const data = randomBytes(n);
      const c = enc(data, []);
      const chunks = Math.max(1, Math.ceil(n / CHUNK));
      expect(c.length, `size ${n}`).toBe(HEADER + n + 16 * chunks);
      const d = run(['decrypt'], { env, input: c });
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout.equals(data), `size ${n}`).toBe(true);
    }
  });

  // The main thread alone, and with a worker thread (the default only when a core is free).
  it.each(['0', '1'])(`sizes ${sizes.join(', ')} file to file, the same bytes as through pipes would decrypt (AES_PAYLOAD_THREADS=%s)`, (threads) => {
    const tenv = { ...env, AES_PAYLOAD_THREADS: threads };
    for (const n of sizes) {
      const data = randomBytes(n);
      const inp = file(`size-${n}.bin`, data);
      const out = join(dir, `size-${n}-${threads}.aesp`);
      expect(run(['encrypt', '--format', 'stream', inp, '-o', out], { env: tenv }).code).toBe(0);
      expect(readFileSync(out).length, `size ${n}`).toBe(HEADER + n + 16 * Math.max(1, Math.ceil(n / CHUNK)));
      // decrypt through a pipe (the in-order path) and to a file (at offsets)
      expect(run(['decrypt'], { env, input: readFileSync(out) }).stdout.equals(data), `size ${n}`).toBe(true);
      const back = join(dir, `size-${n}-${threads}.back`);
      const d = run(['decrypt', out, '-o', back], { env: tenv });
      expect(d.code, d.stderr).toBe(0);
      expect(readFileSync(back).equals(data), `size ${n}`).toBe(true);
    }
  });

  it('files with -o, at offsets (6 MiB), and 16-byte keys', () => {
    const data = randomBytes(6 * 1024 * 1024 + 7);
    const inp = file('six.bin', data);
    const out = join(dir, 'six.aesp');
    const back = join(dir, 'six.back');
    for (const k of [key, randomBytes(16)]) {
      const e = { AES_PAYLOAD_KEY: k.toString('hex') };
      expect(run(['encrypt', '--format', 'stream', inp, '-o', out, '--force'], { env: e }).code).toBe(0);
      const r = run(['decrypt', out, '-o', back, '--force'], { env: e });
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(back).equals(data)).toBe(true);
      const h = readFileSync(out).subarray(0, HEADER);
      expect(h.subarray(0, 8).toString()).toBe('AESPSTRM');
      expect([h[8], h[9], h[10], h[11]]).toEqual([1, k.length === 16 ? 1 : 3, 18, 0]);
      expect(h.subarray(12, 20).toString('hex')).toBe(keyId(k));
    }
  });

  it('armor: text lines of 64 characters that decrypt and verify', () => {
    const data = randomBytes(100_000);
    const a = enc(data, ['--armor']).toString();
    const lines = a.trimEnd().split('\n');
    expect(lines[0]).toBe('-----BEGIN AES-PAYLOAD STREAM-----');
    expect(lines.at(-1)).toBe('-----END AES-PAYLOAD STREAM-----');
    expect(lines.slice(1, -2).every((l) => l.length === 64)).toBe(true);
    expect(run(['decrypt'], { env, input: a }).stdout.equals(data)).toBe(true);
    expect(run(['decrypt'], { env, input: a.replace(/\n/g, '\r\n') }).stdout.equals(data)).toBe(true);
    expect(run(['verify'], { env, input: a }).code).toBe(0);
    const cut = lines.slice(0, -1).join('\n');
    const r = run(['decrypt'], { env, input: cut });
    expect(r.code).toBe(4);
    expect(oneLineError(r.stderr)).toMatch(/no -----END AES-PAYLOAD STREAM----- line/);
  });
});

describe('streams of every chunk size, and those written by 0.3.0', () => {
  const V = join(ROOT, 'test/vectors/stream-0.3.0');
  const fixtureKey = createHash('sha256').update('aes-payload stream 0.3.0 fixture key').digest();
  const pattern = Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 31 + 7) & 255));
  it('0.3.0 streams (64 KiB chunks, binary and armored, A256GCM and A128GCM) decrypt through pipes and file to file, and verify', () => {
    for (const [name, k] of [['pattern-70000-a256.aesp', fixtureKey], ['pattern-70000-a256.txt', fixtureKey], ['pattern-70000-a128.aesp', fixtureKey.subarray(0, 16)]] as const) {
      const e = { AES_PAYLOAD_KEY: k.toString('hex') };
      const p = join(V, name);
      expect(readFileSync(p).subarray(0, 11).toString('latin1'), name).toMatch(/^(AESPSTRM\x01[\x01\x03]\x10|-----BEGIN)/);
      const piped = run(['decrypt'], { env: e, input: readFileSync(p) });
      expect(piped.code, piped.stderr).toBe(0);
      expect(piped.stdout.equals(pattern), name).toBe(true);
      const back = join(dir, `${name}.back`);
      const r = run(['decrypt', p, '-o', back], { env: e });
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(back).equals(pattern), name).toBe(true);
      expect(run(['verify', p], { env: e }).code).toBe(0);
    }
  });

  it('streams the library writes with 4 KiB, 64 KiB and 1 MiB chunks decrypt through pipes and file to file (with a worker)', async () => {
    const { encryptStream } = await import('../../../src/formats/stream/pipeline.js');
    const data = randomBytes(9 * 1024 * 1024 + 123); // over the worker threshold
    for (const log2 of [12, 16, 20]) {
      const parts: Buffer[] = [];
      let at = 0;
      const sink = { write: async (b: Uint8Array) => void parts.push(Buffer.from(b)), commit() {}, abort() {}, written: 0 };
      await encryptStream({ read: (buf: Buffer) => { const n = data.copy(buf, 0, at); at += n; return n; } }, sink, key, { chunkLog2: log2 });
      const c = Buffer.concat(parts);
      expect(c[10]).toBe(log2);
      expect(c.length).toBe(HEADER + data.length + 16 * Math.ceil(data.length / 2 ** log2));
      const p = file(`lib-${log2}.aesp`, c);
      const wenv = { ...env, AES_PAYLOAD_THREADS: '1' };
      const piped = run(['decrypt'], { env, input: c });
      expect(piped.code, piped.stderr).toBe(0);
      expect(piped.stdout.equals(data), `2^${log2} through a pipe`).toBe(true);
      const back = join(dir, `lib-${log2}.back`);
      const r = run(['decrypt', p, '-o', back], { env: wenv });
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(back).equals(data), `2^${log2} file to file`).toBe(true);
      // a flipped bit in the last chunk, file to file: exit 1 and no output file
      const bad = file(`lib-${log2}-bad.aesp`, Buffer.from(c.map((b, i) => (i === c.length - 40 ? b ^ 1 : b))));
      authFail(run(['decrypt', bad, '-o', join(dir, `lib-${log2}-bad.out`)], { env: wenv }));
      expect(existsSync(join(dir, `lib-${log2}-bad.out`))).toBe(false);
    }
  });
});

describe('tampering is detected (exit 1; no -o file; only authenticated whole chunks on stdout)', () => {
  const data = randomBytes(5 * CHUNK + 100);
  const c = enc(data);
  const chunk = (i: number) => c.subarray(HEADER + i * WIRE, HEADER + (i + 1) * WIRE);
  const header = c.subarray(0, HEADER);
  const cases: Record<string, Buffer> = {
    'truncated at every chunk boundary': Buffer.alloc(0), // expanded below
    'truncated inside the last tag': c.subarray(0, c.length - 1),
    'two chunks swapped': Buffer.concat([header, chunk(1), chunk(0), c.subarray(HEADER + 2 * WIRE)]),
    'a chunk duplicated': Buffer.concat([header, chunk(0), chunk(0), c.subarray(HEADER + WIRE)]),
    'the final chunk dropped': c.subarray(0, HEADER + 5 * WIRE),
    'trailing garbage': Buffer.concat([c, randomBytes(10)]),
    'a whole extra chunk appended': Buffer.concat([c, chunk(2)]),
    'a bit flipped in a chunk': Buffer.from(c.map((b, i) => (i === HEADER + 3 * WIRE + 9 ? b ^ 1 : b))),
    'a bit flipped in a tag': Buffer.from(c.map((b, i) => (i === HEADER + WIRE - 1 ? b ^ 0x80 : b))),
    'a bit flipped in the salt': Buffer.from(c.map((b, i) => (i === 25 ? b ^ 1 : b))),
    'a bit flipped in the kid': Buffer.from(c.map((b, i) => (i === 13 ? b ^ 1 : b))),
    'a bit flipped in the header MAC': Buffer.from(c.map((b, i) => (i === 60 ? b ^ 1 : b))),
    'header only': c.subarray(0, HEADER),
  };
  delete cases['truncated at every chunk boundary'];

  it('truncated at every chunk boundary', () => {
    for (let i = 1; i <= 5; i++) authFail(run(['decrypt'], { env, input: c.subarray(0, HEADER + i * WIRE) }));
  });
  for (const [name, bad] of Object.entries(cases)) {
    it(name, () => {
      const inp = file(`bad-${name.replace(/\W+/g, '-')}`, bad);
      const r = run(['decrypt', inp], { env });
      expect(r.code).toBe(1);
      // To stdout, only whole chunks that authenticated, and the message says how much to discard.
      expect(r.stdout.length % CHUNK).toBe(0);
      expect(r.stdout.equals(data.subarray(0, r.stdout.length))).toBe(true);
      if (r.stdout.length) expect(oneLineError(r.stderr)).toContain(`${r.stdout.length} bytes of plaintext were already written to stdout and are incomplete: discard them`);
      else authFail(r);
      const out = join(dir, 'never.out');
      authFail(run(['decrypt', inp, '-o', out], { env }));
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      expect(run(['verify', inp], { env }).code).toBe(1);
    });
  }

  it('a header swapped in from another stream under the same key', () => {
    const other = enc(randomBytes(5 * CHUNK + 100));
    // From a file: the CLI stops at the header, and a test writing into its stdin would get EPIPE.
    authFail(run(['decrypt', file('swapped-header.aesp', Buffer.concat([other.subarray(0, HEADER), c.subarray(HEADER)]))], { env }));
  });

  it('wrong key exits 1; a key of the other size exits 3; a bad version exits 4', () => {
    const inp = file('wrong-key.aesp', c);
    authFail(run(['decrypt', inp], { env: { AES_PAYLOAD_KEY: randomBytes(32).toString('hex') } }));
    const r = run(['decrypt', inp], { env: { AES_PAYLOAD_KEY: randomBytes(16).toString('hex') } });
    expect(r.code).toBe(3);
    expect(oneLineError(r.stderr)).toBe('aes-payload: key is 16 bytes but this A256GCM stream needs 32 bytes');
    const v2 = Buffer.from(c);
    v2[8] = 2;
    const r2 = run(['decrypt', file('v2.aesp', v2)], { env });
    expect(r2.code).toBe(4);
    expect(oneLineError(r2.stderr)).toBe('aes-payload: unsupported stream version 2');
  });

  it('a failure after some output on stdout says the output is partial', () => {
    const big = randomBytes(40 * CHUNK);
    const e = enc(big);
    const cut = e.subarray(0, HEADER + 39 * WIRE); // drop the final chunk
    const r = run(['decrypt'], { env: env, input: cut });
    expect(r.code).toBe(1);
    expect(r.stdout.length).toBeGreaterThan(0);
    expect(r.stdout.equals(big.subarray(0, r.stdout.length))).toBe(true);
    expect(oneLineError(r.stderr)).toBe(
      `aes-payload: ${AUTH_FAILED_MESSAGE} (kid ${keyId(key)} matches, but the data was altered); ${r.stdout.length} bytes of plaintext were already written to stdout and are incomplete: discard them`,
    );
  });
});

describe('limits and detection', () => {
  it('JSON and raw beyond 64 MiB fail with a hint to use --format stream; stream takes it', () => {
    const big = file('big.bin', Buffer.alloc(64 * 1024 * 1024 + 1));
    for (const fmt of ['json', 'raw']) {
      const r = run(['encrypt', '--format', fmt, big], { env });
      expect(r.code).toBe(4);
      expect(oneLineError(r.stderr)).toMatch(/use --format stream/);
    }
    const out = join(dir, 'big.aesp');
    expect(run(['encrypt', '--format', 'stream', big, '-o', out], { env }).code).toBe(0);
    const v = run(['verify', '--json', out], { env });
    expect(v.code).toBe(0);
    expect(JSON.parse(v.out)).toEqual([{ file: out, ok: true, format: 'stream', alg: 'A256GCM', wrap: null, kid: keyId(key), error: null }]);
  });

  it('--format stream on decrypt refuses other input; --armor needs --format stream', () => {
    const r = run(['decrypt', '--format', 'stream'], { env, input: '{"v":1}' });
    expect(r.code).toBe(4);
    expect(run(['encrypt', '--armor'], { env, input: 'x' }).code).toBe(2);
  });
});

describe('a Python decoder written from docs/FORMAT.md §9 (python3-cryptography)', () => {
  const decoder = join(ROOT, 'test/interop/stream_decode.py');
  it('decrypts binary and armored streams of several sizes', () => {
    for (const n of [0, 5, CHUNK, 3 * CHUNK + 17]) {
      const data = randomBytes(n);
      for (const extra of [[], ['--armor']]) {
        const r = runPeer(PYTHON, [decoder, key.toString('hex')], enc(data, extra));
        expect(r.code, r.stderr).toBe(0);
        expect(createHash('sha256').update(r.stdout).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
      }
    }
  });
  it('rejects truncation at a chunk boundary and a flipped bit, like the CLI', () => {
    const c = enc(randomBytes(3 * CHUNK + 17));
    expect(runPeer(PYTHON, [decoder, key.toString('hex')], c.subarray(0, HEADER + 3 * WIRE)).code).toBe(1);
    expect(runPeer(PYTHON, [decoder, key.toString('hex')], Buffer.from(c.map((b, i) => (i === 100 ? b ^ 1 : b)))).code).toBe(1);
  });
});

describe('progress', () => {
  const big = file('progress.bin', Buffer.alloc(96 * 1024 * 1024, 1));
  it('shows a spinner with MiB, percent and MB/s when stderr is a terminal', () => {
    const out = join(dir, 'progress.aesp');
    const stdoutFile = join(dir, 'progress.stdout');
    const r = runPeer(PYTHON, [join(ROOT, 'test/peers/pty_run.py'), '--stdout', stdoutFile, '--wait', '', '--send', '', '--', process.execPath, BIN, 'encrypt', '--format', 'stream', big, '-o', out], '', {
      ...env,
      TERM: 'xterm-256color',
    });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/encrypting \d+ MiB of 96 MiB \(\d+%\), \d+ MB\/s/);
  });
  it('shows nothing when stderr is not a terminal', () => {
    const out = join(dir, 'progress2.aesp');
    const r = run(['encrypt', '--format', 'stream', big, '-o', out], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });
});
