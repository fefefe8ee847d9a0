// Faults: SIGKILL in the middle of writing, a full disk, a closed stdout,
// unreadable and odd inputs, concurrent runs. Each runs the built CLI.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync, writeSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, HANG_MS, baseEnv, oneLineError, run, tempDir } from './helpers.js';

const dir = tempDir();
const key = randomBytes(32).toString('hex');
const env = { AES_PAYLOAD_KEY: key };
const big = join(dir, 'big.bin');
writeFileSync(big, randomBytes(48 * 1024 * 1024));

/** Start the CLI, SIGKILL it once a new temp file for `out` appears (checked every 2 ms), and wait for it to die. */
async function killWhileWriting(args: string[], outDir: string): Promise<void> {
  const before = new Set(readdirSync(outDir).filter((f) => f.endsWith('.tmp')));
  const p = spawn(process.execPath, [BIN, ...args], { env: baseEnv(env), stdio: 'ignore' });
  const done = new Promise((r) => p.on('close', r));
  const deadline = Date.now() + HANG_MS; // a hang backstop only
  while (Date.now() < deadline && !readdirSync(outDir).some((f) => f.endsWith('.tmp') && !before.has(f))) await new Promise((r) => setTimeout(r, 2));
  p.kill('SIGKILL');
  await done;
}

describe('SIGKILL in the middle of a write', () => {
  for (const [name, mk] of [
    ['encrypt -o (stream)', (out: string) => ['encrypt', '--format', 'stream', big, '-o', out]],
    ['encrypt -o (JSON)', (out: string) => ['encrypt', big, '-o', out]],
    ['decrypt -o (stream)', (out: string) => ['decrypt', join(dir, 'big.aesp'), '-o', out]],
  ] as const) {
    it(`${name}: no file, or the previous one untouched; the next run names the temp file left behind`, async () => {
      if (!existsSync(join(dir, 'big.aesp'))) expect(run(['encrypt', '--format', 'stream', big, '-o', join(dir, 'big.aesp')], { env }).code).toBe(0);
      const d = join(dir, name.replace(/\W+/g, '-'));
      mkdirSync(d);
      const out = join(d, 'out');
      await killWhileWriting(mk(out), d);
      expect(existsSync(out)).toBe(false);
      const temps = readdirSync(d).filter((f) => f.endsWith('.tmp'));
      expect(temps.length).toBe(1); // SIGKILL cannot be caught: the temp file stays…
      // …and the next run that writes there says where it is.
      const again = run(['encrypt', '-o', out], { env, input: 'x' });
      expect(again.code).toBe(0);
      expect(again.stderr).toBe(`aes-payload: warning: ${join(d, temps[0]!)} was left by an interrupted run (killed before it finished); remove it\n`);
      // With --force over an existing file, a kill leaves that file as it was.
      const before = readFileSync(out);
      await killWhileWriting([...mk(out), '--force'], d);
      expect(readFileSync(out).equals(before)).toBe(true);
    });
  }
});

describe('I/O faults give one line and exit 5', () => {
  it('writing to /dev/full', () => {
    for (const args of [['encrypt'], ['encrypt', '--format', 'stream']]) {
      const fd = openSync('/dev/full', 'w');
      const r = spawnSync(process.execPath, [BIN, ...args], { env: baseEnv(env), input: 'payload', stdio: ['pipe', fd, 'pipe'] });
      closeSync(fd);
      expect(r.status).toBe(5);
      expect(oneLineError(r.stderr.toString())).toBe('aes-payload: cannot write to standard output: no space left on device');
    }
  });

  it('a closed stdout ends quietly (exit 0), also mid-stream', () => {
    const enc = run(['encrypt', '--format', 'stream', big], { env });
    for (const [args, input] of [[['decrypt'], enc.stdout], [['encrypt', '--format', 'stream'], readFileSync(big)]] as const) {
      const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" ${args.join(' ')} | head -c 1 > /dev/null`], { env: baseEnv(env), input });
      expect(r.status).toBe(0);
      expect(r.stderr.toString()).toBe('');
    }
  });

  it('an unreadable input, a directory, a missing file', () => {
    const unreadable = join(dir, 'secret-unreadable');
    writeFileSync(unreadable, 'x');
    chmodSync(unreadable, 0);
    // root reads any file whatever its mode; /proc/self/mem refuses even root at offset 0
    const target = process.getuid?.() === 0 ? '/proc/self/mem' : unreadable;
    const u = run(['decrypt', target], { env });
    expect(u.code).toBe(5);
    expect(oneLineError(u.stderr)).toMatch(new RegExp(`^aes-payload: cannot read ${target}: (permission denied|input/output error)$`));
    const d = run(['decrypt', dir], { env });
    expect(d.code).toBe(5);
    expect(oneLineError(d.stderr)).toBe(`aes-payload: cannot read ${dir}: is a directory`);
    const m = run(['encrypt', join(dir, 'nope')], { env });
    expect(m.code).toBe(5);
    expect(oneLineError(m.stderr)).toBe(`aes-payload: cannot read ${join(dir, 'nope')}: no such file or directory`);
  });

  it('a FIFO whose writer closes early', async () => {
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const envelope = run(['encrypt'], { env, input: 'through a fifo' }).out;
    const p = spawn(process.execPath, [BIN, 'decrypt', fifo], { env: baseEnv(env) });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = new Promise<number | null>((r) => p.on('close', r));
    const w = openSync(fifo, 'w');
    writeSync(w, envelope.slice(0, 30));
    closeSync(w);
    expect(await code).toBe(4);
    expect(Buffer.concat(out).length).toBe(0);
    expect(oneLineError(err)).toMatch(/^aes-payload: input is not valid JSON: unterminated string at line 1, column \d+$/);
  });
});

describe('concurrent runs', () => {
  it('eight runs writing different outputs in one directory do not collide', async () => {
    const d = join(dir, 'concurrent');
    mkdirSync(d);
    const small = join(dir, 'small.bin');
    writeFileSync(small, randomBytes(6 * 1024 * 1024));
    const runs = Array.from({ length: 8 }, (_, i) =>
      new Promise<number | null>((resolve) => {
        const p = spawn(process.execPath, [BIN, 'encrypt', '--format', i % 2 ? 'stream' : 'json', small, '-o', join(d, `out-${i}`)], { env: baseEnv(env), stdio: 'ignore' });
        p.on('close', resolve);
      }),
    );
    expect(await Promise.all(runs)).toEqual(Array(8).fill(0));
    const original = readFileSync(small);
    for (let i = 0; i < 8; i++) {
      const r = run(['decrypt', join(d, `out-${i}`)], { env });
      expect(r.code).toBe(0);
      expect(r.stdout.equals(original)).toBe(true);
    }
    expect(readdirSync(d).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
