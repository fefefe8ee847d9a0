// Review 22.5: `aes-payload verify --help | head -1` crashed now and then with an
// EPIPE stack trace (exit 1): commander wrote help with process.stdout.write,
// whose EPIPE arrives later as an uncaught 'error' event. Here stdout is a pipe
// whose read end is closed before the CLI starts, so every write fails with
// EPIPE, deterministically (no timing): exit 0, nothing on stderr.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN } from '../helpers.js';

const CLOSED_PIPE = `
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
sys.stderr.buffer.write(p.stderr)
sys.exit(p.returncode if p.returncode >= 0 else 128 - p.returncode)
`;

function toClosedPipe(args: string[]) {
  const r = spawnSync('/usr/bin/python3', ['-c', CLOSED_PIPE, process.execPath, BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stderr: r.stderr };
}

describe('help and --version to a reader that closed early', () => {
  it.each([['verify', '--help'], ['keygen', '--help'], ['--help'], ['decrypt', '--help'], ['-V'], ['help', 'encrypt']].map((a) => [a.join(' '), a] as const))('%s: exit 0, no stack trace', (_name, args) => {
    for (let i = 0; i < 5; i++) {
      const r = toClosedPipe([...args]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
  });
});
