// Shared pieces of the attack tests (test/attacks/*.test.ts). Each attack
// file reproduces one class of finding from issue 11 against the built CLI.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { oneLineError, run, tempDir, type RunResult } from '../helpers.js';

export const KEY = randomBytes(32);
export const KEY_HEX = KEY.toString('hex');
export const ENV = { AES_PAYLOAD_KEY: KEY_HEX };

/** A temp dir and a writer of files inside it. */
export function workspace(): { dir: string; file: (name: string, data: string | Buffer) => string } {
  const dir = tempDir();
  return { dir, file: (name, data) => { const p = join(dir, name); writeFileSync(p, data); return p; } };
}

/** Run the CLI with the shared key. */
export function cli(args: string[], input: string | Buffer = '', env: Record<string, string | undefined> = ENV): RunResult {
  return run(args, { env, input });
}

/** Encrypt with the CLI; fail the test unless it worked. */
export function enc(args: string[], input: string | Buffer, env: Record<string, string | undefined> = ENV): string {
  const r = run(['encrypt', ...args], { env, input });
  expect(r.code, r.stderr).toBe(0);
  return r.out;
}

/** A refusal: the exit code, nothing on stdout, one `aes-payload:` line. Returns that line. */
export function refused(r: RunResult, code: number): string {
  expect(r.code, `stderr: ${r.stderr}`).toBe(code);
  expect(r.stdout.length, `stdout: ${r.out}`).toBe(0);
  return oneLineError(r.stderr);
}
