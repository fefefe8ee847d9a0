// Line mode as a live filter (issue 21): a line written into a pipe that
// stays open comes out before the next one is written, for encrypt --lines,
// encrypt --lines --fields and decrypt --lines, before and after the worker
// threads start; and --on-error skip|stop|record. Every wait here is for an
// event (a line of output, the process's exit), never for a time: the 100 ms
// design goal is measured in bench/lines.mjs, not asserted.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { WORKERS_AFTER_LINES } from '../../src/io/lines.js';
import { BIN, baseEnv, run, tempDir } from '../helpers.js';

const dir = tempDir();
const key = randomBytes(32);
const env = { AES_PAYLOAD_KEY: key.toString('hex') };

/** The CLI reading a named pipe (a real pipe(2) buffer) that the test holds open for writing. */
class Live {
  readonly child: ChildProcess;
  private fh!: FileHandle;
  private buffered = '';
  private waiters: (() => void)[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;

  private constructor(args: string[], extraEnv: Record<string, string>) {
    const fifo = join(dir, `fifo-${randomBytes(6).toString('hex')}`);
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    this.fifo = fifo;
    // The shell opens the pipe for reading (blocking until the test opens it for writing), then becomes the CLI.
    this.child = spawn('sh', ['-c', 'exec "$@" < "$0"', fifo, process.execPath, BIN, ...args], { env: baseEnv({ ...env, ...extraEnv }), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('latin1');
    this.child.stdout!.on('data', (s: string) => {
      this.buffered += s;
      this.wakeAll();
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (s: string) => (this.stderr += s));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => {
      this.closed = true;
      this.wakeAll();
      resolve(code);
    }));
  }

  private fifo: string;
  private closed = false;

  private wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }

  static async start(args: string[], extraEnv: Record<string, string> = {}): Promise<Live> {
    const l = new Live(args, extraEnv);
    l.fh = await open(l.fifo, 'w');
    return l;
  }

  async write(text: string): Promise<void> {
    await this.fh.write(Buffer.from(text, 'latin1'));
  }

  /** The next `n` complete output lines, as soon as they are there (or fails if the process ends first). */
  async lines(n = 1): Promise<string[]> {
    for (;;) {
      const parts = this.buffered.split('\n');
      if (parts.length - 1 >= n) {
        this.buffered = parts.slice(n).join('\n');
        return parts.slice(0, n);
      }
      if (this.closed) throw new Error(`the process ended after ${parts.length - 1} of ${n} lines; stderr: ${this.stderr}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  async end(): Promise<number | null> {
    await this.fh.close();
    return this.exited;
  }
}

/** Writes each line, reads its output line back before writing the next (with a pause between), returns the outputs. */
async function oneByOne(live: Live, lines: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const l of lines) {
    await live.write(`${l}\n`);
    out.push((await live.lines(1))[0]!);
    await pause(15);
  }
  return out;
}

const record = (i: number) => `{"id":${i},"email":"user${i}@example.com","note":"n${i}"}`;

describe('a line into a pipe that stays open comes out before the next is written', () => {
  for (const threads of ['0', '2']) {
    it(`encrypt --lines and decrypt --lines, one line at a time (AES_PAYLOAD_THREADS=${threads})`, { timeout: 120_000 }, async () => {
      const enc = await Live.start(['encrypt', '--lines'], { AES_PAYLOAD_THREADS: threads });
      const first = Array.from({ length: 8 }, (_, i) => record(i));
      const encrypted = await oneByOne(enc, first);
      expect(encrypted.every((l) => l.startsWith('{"v":2,"alg":"A256GCM"'))).toBe(true);
      // Fast input past the worker threshold, then single lines again: the workers' output flows too.
      const bulk = Array.from({ length: WORKERS_AFTER_LINES + 1000 }, (_, i) => record(100 + i));
      await enc.write(`${bulk.join('\n')}\n`);
      const bulkOut = await enc.lines(bulk.length);
      const late = Array.from({ length: 8 }, (_, i) => record(90_000 + i));
      const lateOut = await oneByOne(enc, late);
      expect(await enc.end()).toBe(0);
      expect(enc.stderr).toBe(`${first.length + bulk.length + late.length} lines, 0 failed\n`);

      const all = [...encrypted, ...bulkOut, ...lateOut];
      const back = run(['decrypt', '--lines'], { env, input: `${all.join('\n')}\n` });
      expect(back.code, back.stderr).toBe(0);
      expect(back.stdout.toString()).toBe(`${[...first, ...bulk, ...late].join('\n')}\n`);

      // decrypt --lines, live, past its own worker threshold
      const dec = await Live.start(['decrypt', '--lines'], { AES_PAYLOAD_THREADS: threads });
      expect(await oneByOne(dec, encrypted)).toEqual(first);
      await dec.write(`${bulkOut.join('\n')}\n`);
      expect(await dec.lines(bulkOut.length)).toEqual(bulk);
      expect(await oneByOne(dec, lateOut)).toEqual(late);
      expect(await dec.end()).toBe(0);
    });
  }

  it('encrypt --lines --fields, one record at a time', { timeout: 60_000 }, async () => {
    const live = await Live.start(['encrypt', '--lines', '--fields', 'email']);
    const input = Array.from({ length: 10 }, (_, i) => record(i));
    const out = await oneByOne(live, input);
    expect(await live.end()).toBe(0);
    out.forEach((l, i) => {
      expect(l).not.toContain(`user${i}@example.com`);
      expect(l).toContain(`"note":"n${i}"`);
    });
    const back = run(['decrypt', '--lines'], { env, input: `${out.join('\n')}\n` });
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout.toString()).toBe(`${input.join('\n')}\n`);
  });

  it('--on-error record: the error record comes out in place of a bad line, at once, and the run goes on', { timeout: 60_000 }, async () => {
    const good = run(['encrypt', '--lines'], { env, input: 'one\ntwo\n' }).stdout.toString().trim().split('\n');
    const live = await Live.start(['decrypt', '--lines', '--on-error', 'record']);
    expect(await oneByOne(live, [good[0]!, 'not an envelope', good[1]!])).toEqual(['one', '{"aesp_error":{"line":2,"code":"ERR_BASE64"}}', 'two']);
    expect(await live.end()).toBe(4);
    expect(live.stderr).toBe('aes-payload: line 2: raw input is not valid base64\n3 lines, 1 failed\n');
  });

  it('--on-error stop: the process exits at the bad line while the pipe is still open', { timeout: 60_000 }, async () => {
    const good = run(['encrypt', '--lines'], { env, input: 'one\n' }).stdout.toString().trim();
    const live = await Live.start(['decrypt', '--lines', '--on-error', 'stop']);
    expect(await oneByOne(live, [good])).toEqual(['one']);
    await live.write('not an envelope\n');
    expect(await live.exited).toBe(4); // the test still holds the pipe open
    expect(live.stderr).toBe('aes-payload: line 2: raw input is not valid base64\n2 lines, 1 failed\n');
    await live.end();
  });
});

describe('--on-error', () => {
  const good = run(['encrypt', '--lines'], { env, input: 'a\nb\nc\n' }).stdout.toString().trim().split('\n');
  const tampered = good[1]!.replace(/"data":"(.)/, (_, ch: string) => `"data":"${ch === 'A' ? 'B' : 'A'}`);
  const input = `${good[0]}\n${tampered}\n${good[2]}\n`;

  it('skip (the default) drops the line, stop (= --fail-fast) stops there, record writes {"aesp_error":…}: never the plaintext', () => {
    const skip = run(['decrypt', '--lines'], { env, input });
    expect([skip.code, skip.stdout.toString()]).toEqual([1, 'a\nc\n']);
    expect(skip.stderr).toMatch(/^aes-payload: line 2: .*\n3 lines, 1 failed\n$/);
    expect(run(['decrypt', '--lines', '--on-error', 'skip'], { env, input }).stdout.toString()).toBe('a\nc\n');
    for (const args of [['--on-error', 'stop'], ['--fail-fast'], ['--fail-fast', '--on-error', 'stop']]) {
      const stop = run(['decrypt', '--lines', ...args], { env, input });
      expect([stop.code, stop.stdout.toString()]).toEqual([1, 'a\n']);
      expect(stop.stderr.split('\n').at(-2)).toBe('2 lines, 1 failed');
    }
    const rec = run(['decrypt', '--lines', '--on-error', 'record'], { env, input });
    expect(rec.code).toBe(1);
    expect(rec.stdout.toString()).toBe('a\n{"aesp_error":{"line":2,"code":"ERR_AUTH"}}\nc\n');
    expect(JSON.parse(rec.stdout.toString().split('\n')[1]!)).toEqual({ aesp_error: { line: 2, code: 'ERR_AUTH' } });
  });

  it('record with -o FILE writes the file (the records stand in for the bad lines); skip and stop do not', () => {
    const bad = join(dir, 'in.ndjson');
    const out = join(dir, 'out.ndjson');
    const r = run(['decrypt', '--lines', '--on-error', 'record', '-o', out], { env, input });
    expect(r.code).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe('a\n{"aesp_error":{"line":2,"code":"ERR_AUTH"}}\nc\n');
    for (const how of ['skip', 'stop']) {
      const o2 = join(dir, `out-${how}.ndjson`);
      expect(run(['decrypt', '--lines', '--on-error', how, '-o', o2], { env, input }).code).toBe(1);
      expect(existsSync(o2)).toBe(false);
    }
    expect(existsSync(bad)).toBe(false);
  });

  it('record keeps the output aligned with the input on the worker path too, for encrypt and decrypt', () => {
    const n = WORKERS_AFTER_LINES + 3000;
    const plain = Array.from({ length: n }, (_, i) => `{"i":${i}}`);
    const e = run(['encrypt', '--lines'], { env: { ...env, AES_PAYLOAD_THREADS: '2' }, input: `${plain.join('\n')}\n` });
    const lines = e.stdout.toString().trim().split('\n');
    const broken = new Set([3, WORKERS_AFTER_LINES + 17, WORKERS_AFTER_LINES + 2999]);
    const mixed = lines.map((l, i) => (broken.has(i) ? l.replace('"v":2', '"v":7') : l));
    const d = run(['decrypt', '--lines', '--on-error', 'record'], { env: { ...env, AES_PAYLOAD_THREADS: '2' }, input: `${mixed.join('\n')}\n` });
    expect(d.code).toBe(4);
    const outLines = d.stdout.toString().trim().split('\n');
    expect(outLines.length).toBe(n);
    outLines.forEach((l, i) => {
      if (broken.has(i)) expect(JSON.parse(l)).toEqual({ aesp_error: { line: i + 1, code: expect.stringMatching(/^ERR_/) } });
      else expect(l).toBe(plain[i]);
    });
    // a field that is missing with --fields on encrypt: a record too
    const f = run(['encrypt', '--lines', '--fields', 'email', '--on-error', 'record'], { env, input: '{"email":"a@b"}\n{"x":1}\n' });
    expect(f.code).not.toBe(0);
    expect(f.stdout.toString().split('\n')[1]).toMatch(/^\{"aesp_error":\{"line":2,"code":"ERR_[A-Z_]+"\}\}$/);
  });

  it('needs --lines, and --fail-fast goes only with stop', () => {
    for (const args of [['--on-error', 'record'], ['--fail-fast']]) {
      const r = run(['decrypt', ...args], { env, input: 'x' });
      expect(r.code).toBe(2);
    }
    const r = run(['decrypt', '--lines', '--fail-fast', '--on-error', 'record'], { env, input: 'x\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--fail-fast is --on-error stop/);
    expect(run(['decrypt', '--lines', '--on-error', 'later'], { env, input: 'x\n' }).code).toBe(2);
  });
});
