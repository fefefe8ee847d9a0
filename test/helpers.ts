import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'bin/aes-payload.js');
/** Third-party test vectors shipped in the repository (test/vectors/README.md lists their sources and licences). */
export const VECTORS = join(ROOT, 'test/vectors');
export const PYTHON = '/usr/bin/python3';

/**
 * How long one process may run before a test calls it hung: a backstop
 * against hangs (bugs) only, never a measure of speed. No test passes or
 * fails by how fast the machine is (README, Development); this is far beyond what
 * the slowest case needs on a loaded machine. vitest's test timeout
 * (vitest.config.ts) is above it.
 */
export const HANG_MS = 10 * 60_000;

export function vector<T = any>(name: string): T {
  const p = join(VECTORS, name);
  if (!existsSync(p)) throw new Error(`test vector file missing: ${p}`);
  return JSON.parse(readFileSync(p, 'utf8')) as T;
}

export function hex(s: string): Buffer {
  return Buffer.from(s, 'hex');
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  out: string;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/** A clean environment: no key, no colour forcing, nothing from the parent shell. */
export function baseEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LANG: 'C.UTF-8' };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** Spawn the real built CLI with real stdin, env and exit code. */
export function run(args: string[], opts: RunOptions = {}): RunResult {
  const r: SpawnSyncReturns<Buffer> = spawnSync(process.execPath, [BIN, ...args], {
    input: opts.input ?? '',
    env: baseEnv(opts.env),
    cwd: opts.cwd ?? ROOT,
    timeout: HANG_MS,
    maxBuffer: 512 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr.toString('utf8'), out: r.stdout.toString('utf8') };
}

/** Spawn any program (a peer such as python3 or openssl). */
export function runPeer(cmd: string, args: string[], input: string | Buffer = '', env: Record<string, string> = {}): RunResult {
  const r = spawnSync(cmd, args, { input, env: { ...baseEnv(), ...env }, timeout: HANG_MS, maxBuffer: 512 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr.toString('utf8'), out: r.stdout.toString('utf8') };
}

/** A temp directory removed after the test file. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'aes-payload-test-'));
  afterAll(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Assert the shape every expected failure must have: one `aes-payload:` line, no stack. */
export function oneLineError(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.length > 0 && !l.startsWith('aes-payload: warning:'));
  if (lines.length !== 1) throw new Error(`expected one error line, got:\n${stderr}`);
  const line = lines[0]!;
  if (!line.startsWith('aes-payload: ')) throw new Error(`error line does not start with "aes-payload: ": ${line}`);
  if (/\n\s+at /.test(stderr)) throw new Error(`stack trace in stderr:\n${stderr}`);
  return line;
}

/** The jwcrypto peer (test/peers/jwe_peer.py, Debian's python3-jwcrypto): one JSON request in, its results out; any stderr or a non-zero exit fails the test. */
export function jwcryptoPeer(req: unknown): unknown[] {
  const r = runPeer(PYTHON, [join(ROOT, 'test/peers/jwe_peer.py')], JSON.stringify(req));
  if (r.code !== 0 || r.stderr !== '') throw new Error(`jwe_peer.py exited ${r.code}: ${r.stderr}`);
  return (JSON.parse(r.out) as { results: unknown[] }).results;
}

/** A new age identity file (`keygen --age -o path`) and its recipient (the "# public key:" line). */
export function ageKeyAt(path: string): { file: string; recipient: string } {
  const r = run(['keygen', '--age', '-o', path]);
  if (r.code !== 0) throw new Error(`keygen --age exited ${r.code}: ${r.stderr}`);
  return { file: path, recipient: /^# public key: (age1[a-z0-9]+)$/m.exec(readFileSync(path, 'utf8'))![1]! };
}

/** The environment of a git run in a test: no user or system config, a fixed author, no pager; `extra` on top. */
export function gitEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 't',
    GIT_AUTHOR_EMAIL: 't@example.invalid',
    GIT_COMMITTER_NAME: 't',
    GIT_COMMITTER_EMAIL: 't@example.invalid',
    GIT_PAGER: 'cat',
    PAGER: 'cat',
    ...extra,
  };
}
