// The README as a user meets it: every ```sh block is run as written, in
// order, in one bash (set -e, pipefail) in an empty directory, with a bare
// `aes-payload` on PATH (as `npm link` gives) and no key in the environment.
// Blocks fenced otherwise (```console, ```json) are not run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, HANG_MS, ROOT, tempDir } from './helpers.js';

export function shBlocks(markdown: string): { line: number; code: string }[] {
  const out: { line: number; code: string }[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```sh') continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && lines[j] !== '```') j++;
    out.push({ line: start + 1, code: lines.slice(start, j).join('\n') });
    i = j;
  }
  return out;
}

describe('README', () => {
  const blocks = shBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));

  it('has sh blocks to run', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
  });

  it('every sh block runs as written, in order', () => {
    const dir = tempDir();
    const bin = join(dir, '.bin');
    mkdirSync(bin);
    symlinkSync(BIN, join(bin, 'aes-payload'));
    const work = join(dir, 'work');
    mkdirSync(work);
    // One script: a marker before each block, so a failure names its README line.
    const script = blocks.map((b) => `echo "@@ README line ${b.line}" >&2\n${b.code}`).join('\n');
    const r = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', script], {
      cwd: work,
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, LANG: 'C.UTF-8' },
      encoding: 'utf8',
      timeout: HANG_MS,
    });
    const last = [...(r.stderr ?? '').matchAll(/@@ README line (\d+)/g)].at(-1)?.[1];
    expect(r.status, `README block at line ${last} failed:\n${r.stderr.slice(-3000)}`).toBe(0);
    expect(last).toBe(String(blocks.at(-1)!.line));
  });
});
