import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, HANG_MS, ROOT, baseEnv } from '../helpers.js';

/** The CLI transcripts in test/transcripts/ (syntax: test/transcripts/README.md). */
const DIR = join(ROOT, 'test/transcripts');

interface Parsed {
  script: string[];
  files: Map<string, string>;
}

function parse(text: string): Parsed {
  const files = new Map<string, string>();
  const parts = text.split(/^-- (.+) --\n/m);
  for (let i = 1; i < parts.length; i += 2) files.set(parts[i]!, parts[i + 1]!);
  return { script: parts[0]!.split('\n'), files };
}

function words(s: string): string[] {
  const out: string[] = [];
  for (const m of s.matchAll(/'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2]!);
  return out;
}

function check(what: string, actual: string, spec: string, dir: string): void {
  if (spec === 'empty') expect(actual, what).toBe('');
  else if (spec.startsWith('~ ')) expect(actual, what).toMatch(new RegExp(spec.slice(2), 'm'));
  else if (spec.startsWith('= ')) expect(actual, what).toBe(readFileSync(join(dir, spec.slice(2)), 'utf8'));
  else throw new Error(`bad expectation: ${what} ${spec}`);
}

function runTranscript(text: string): void {
  const { script, files } = parse(text);
  const dir = mkdtempSync(join(tmpdir(), 'aes-payload-transcript-'));
  try {
    for (const [name, content] of files) writeFileSync(join(dir, name), content, { mode: 0o600 });
    let last: { cmd: string; code: number | null; stdout: string; stderr: string; exitChecked: boolean; stdoutLines: string[]; stderrLines: string[]; stderrChecked: boolean } | undefined;
    const finish = (): void => {
      if (!last) return;
      if (!last.exitChecked) expect(last.code, `exit status of: $ ${last.cmd}\nstderr: ${last.stderr}`).toBe(0);
      if (last.stdoutLines.length) expect(last.stdout, `stdout of: $ ${last.cmd}`).toBe(last.stdoutLines.map((l) => `${l}\n`).join(''));
      if (last.stderrLines.length) expect(last.stderr, `stderr of: $ ${last.cmd}`).toBe(last.stderrLines.map((l) => `${l}\n`).join(''));
      else if (!last.stderrChecked) expect(last.stderr, `stderr of: $ ${last.cmd}`).toBe('');
      last = undefined;
    };
    for (const raw of script) {
      const line = raw.trimEnd();
      if (line === '' || line.startsWith('#')) continue;
      if (line.startsWith('$ ')) {
        finish();
        const w = words(line.slice(2));
        const lt = w.indexOf('<');
        const input = lt >= 0 ? readFileSync(join(dir, w[lt + 1]!)) : '';
        const args = lt >= 0 ? w.slice(0, lt) : w;
        const r = spawnSync(process.execPath, [BIN, ...args], { input, cwd: dir, env: baseEnv(), timeout: HANG_MS, maxBuffer: 64 * 1024 * 1024 });
        if (r.error) throw r.error;
        last = { cmd: line.slice(2), code: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), exitChecked: false, stdoutLines: [], stderrLines: [], stderrChecked: false };
        continue;
      }
      const [verb, ...rest] = line.split(' ');
      const arg = rest.join(' ');
      if (verb === 'file' || verb === 'mode') {
        finish();
        const [name, ...spec] = rest;
        const p = join(dir, name!);
        if (verb === 'mode') expect((statSync(p).mode & 0o777).toString(8).padStart(4, '0'), `mode of ${name}`).toBe(spec.join(' '));
        else check(`content of ${name}`, readFileSync(p, 'utf8'), spec.join(' '), dir);
        continue;
      }
      if (!last) throw new Error(`"${line}" comes before any command`);
      if (verb === 'exit') {
        expect(last.code, `exit status of: $ ${last.cmd}\nstderr: ${last.stderr}`).toBe(Number(arg));
        last.exitChecked = true;
      } else if (verb === 'stdout' || verb === 'stderr') {
        const actual = verb === 'stdout' ? last.stdout : last.stderr;
        if (verb === 'stderr') last.stderrChecked = true;
        if (arg === 'empty' || arg.startsWith('~ ') || arg.startsWith('= ')) check(`${verb} of: $ ${last.cmd}`, actual, arg, dir);
        else (verb === 'stdout' ? last.stdoutLines : last.stderrLines).push(arg);
      } else throw new Error(`unknown line: ${line}`);
    }
    finish();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('CLI transcripts (test/transcripts/*.txt)', () => {
  const names = readdirSync(DIR).filter((n) => n.endsWith('.txt')).sort();
  it('there are transcripts to run', () => expect(names.length).toBeGreaterThan(0));
  for (const name of names) it(name, () => runTranscript(readFileSync(join(DIR, name), 'utf8')));
});
