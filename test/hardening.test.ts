// Hostile input (test/corpus.ts) through the real CLI, decrypt and verify:
// every rejection is a documented exit code, one `aes-payload:` line on
// stderr and no stack trace, no bytes on stdout, no -o file and no temp file
// left, within a cap on CPU time (GNU time; CPU seconds, unlike the clock, do
// not grow when the machine is busy). Counts per class are printed.
// decrypt runs once per input; verify, which takes many files and reports
// each on its own line, runs once per batch of inputs with the same flags
// (a failure it does not expect would end the run with a stack and exit 70).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, HANG_MS, baseEnv, tempDir } from './helpers.js';
import { buildCorpus, type Mutant } from './corpus.js';

const DOCUMENTED = new Set([1, 2, 3, 4, 5]);
/** CPU seconds (user + system) one run may use: the bound on hostile work. Hangs are stopped by HANG_MS. */
const CPU_CAP_S = 30;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** CPU seconds the run used (user + system), from GNU time. */
  cpu: number;
}

let runs = 0;
function runAsync(args: string[], env: Record<string, string>, dir: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const times = join(dir, `cpu-${runs++}`);
    // GNU time runs the CLI (exec, so signals and exit codes are the CLI's) and writes its CPU time to a file of its own.
    const p = spawn('/usr/bin/time', ['-q', '-f', '%U %S', '-o', times, process.execPath, BIN, ...args], { env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => p.kill('SIGKILL'), HANG_MS);
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const [user, sys] = readFileSync(times, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), cpu: user! + sys! });
    });
  });
}

async function pool<T, R>(items: T[], width: number, f: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i]!, i);
      }
    }),
  );
  return out;
}

describe('hostile input corpus', () => {
  const dir = tempDir();
  const key = randomBytes(32);

  it('every mutant is rejected the documented way (or accepted, where documented)', async () => {
    const corpus = await buildCorpus(key);
    const rejects = corpus.filter((m) => m.expect === 'reject').length;
    expect(rejects).toBeGreaterThanOrEqual(500);
    const problems: string[] = [];
    const counts = new Map<string, { n: number; codes: Set<number> }>();
    await pool(corpus, 4, async (m: Mutant, i) => {
      const input = join(dir, `in-${i}`);
      writeFileSync(input, m.data);
      const env = { AES_PAYLOAD_KEY: key.toString('hex'), ...(m.env ?? {}) };
      const keyArgs = m.args ?? [];
      const out = join(dir, `out-${i}`);
      const dec = await runAsync(['decrypt', ...keyArgs, input, '-o', out], env, dir);
      const where = `${m.cls} / ${m.name}`;
      const check = (what: string, ok: boolean) => {
        if (!ok) problems.push(`${where}: ${what}`);
      };
      check(`decrypt used ${dec.cpu} s of CPU, over the cap of ${CPU_CAP_S} s`, dec.signal === null && dec.cpu < CPU_CAP_S);
      check('decrypt printed a stack trace', !/\n\s+at /.test(dec.stderr));
      if (m.expect === 'reject') {
        const c = counts.get(m.cls) ?? { n: 0, codes: new Set<number>() };
        c.n++;
        c.codes.add(dec.code ?? -1);
        counts.set(m.cls, c);
        check(`decrypt exit ${dec.code} is not a documented failure`, dec.code !== null && DOCUMENTED.has(dec.code));
        check(`decrypt wrote ${dec.stdout.length} bytes to stdout`, dec.stdout.length === 0);
        const lines = dec.stderr.split('\n').filter(Boolean);
        // line mode ends with its summary, "N lines, M failed", after the one error line
        if (keyArgs.includes('--lines')) check(`line-mode summary missing: ${JSON.stringify(lines.at(-1))}`, /^\d+ lines?, [1-9]\d* failed$/.test(lines.pop() ?? ''));
        check(`decrypt stderr is not one aes-payload: line: ${JSON.stringify(dec.stderr.slice(0, 300))}`, lines.length === 1 && lines[0]!.startsWith('aes-payload: '));
        check('decrypt left an -o file', !existsSync(out));
      } else {
        check(`decrypt exit ${dec.code}: ${dec.stderr}`, dec.code === 0);
        check('decrypt wrote something else', existsSync(out) && (await import('node:fs')).readFileSync(out).equals(m.expect.plaintext));
      }
    });
    // verify: the inputs in batches of the same flags, each input reported on its own line.
    const batches = new Map<string, { args: string[]; env: Record<string, string>; items: { m: Mutant; input: string }[] }>();
    corpus.forEach((m, i) => {
      const args = (m.args ?? []).filter((a) => a !== '--lines');
      const env = { AES_PAYLOAD_KEY: key.toString('hex'), ...(m.env ?? {}) };
      const id = JSON.stringify([args, env]);
      const b = batches.get(id) ?? { args, env, items: [] };
      b.items.push({ m, input: join(dir, `in-${i}`) });
      batches.set(id, b);
    });
    const chunks = [...batches.values()].flatMap((b) => Array.from({ length: Math.ceil(b.items.length / 40) }, (_, k) => ({ ...b, items: b.items.slice(k * 40, k * 40 + 40) })));
    await pool(chunks, 4, async (b) => {
      const ver = await runAsync(['verify', ...b.args, ...b.items.map((x) => x.input)], b.env, dir);
      const all = `verify of ${b.items.length} inputs (${b.args.join(' ') || 'a key'})`;
      if (!(ver.signal === null && ver.cpu < CPU_CAP_S * b.items.length)) problems.push(`${all}: used ${ver.cpu} s of CPU, over ${CPU_CAP_S} s an input`);
      if (/\n\s+at /.test(ver.stderr)) problems.push(`${all}: a stack trace: ${ver.stderr.slice(0, 500)}`);
      if (ver.stdout.length) problems.push(`${all}: wrote ${ver.stdout.length} bytes to stdout`);
      const rejects = b.items.some((x) => x.m.expect === 'reject');
      if (rejects ? !(ver.code !== null && DOCUMENTED.has(ver.code)) : ver.code !== 0) problems.push(`${all}: exit ${ver.code}: ${ver.stderr.slice(0, 500)}`);
      const lines = ver.stderr.split('\n').filter(Boolean);
      let attributed = 0;
      for (const { m, input } of b.items) {
        const mine = lines.filter((l) => l.includes(`${input}:`) || l.includes(`${input} `));
        attributed += mine.length;
        const ok = m.expect === 'reject' ? mine.length === 1 && mine[0]!.startsWith(`aes-payload: FAIL ${input}: `) : mine.length === 1 && mine[0]!.startsWith(`OK ${input} `);
        if (!ok) problems.push(`${m.cls} / ${m.name}: verify said ${JSON.stringify(mine.join('\n').slice(0, 300))}`);
      }
      if (attributed !== lines.length) problems.push(`${all}: stderr has lines that name no input: ${JSON.stringify(ver.stderr.slice(0, 500))}`);
    });
    check: {
      const temps = readdirSync(dir).filter((f) => f.endsWith('.tmp'));
      if (temps.length) problems.push(`temp files left: ${temps.join(', ')}`);
    }
    const table = [...counts].map(([cls, c]) => `  ${cls.padEnd(16)} ${String(c.n).padStart(4)}  exit ${[...c.codes].sort().join(',')}`);
    console.log(`hostile input corpus: ${rejects} rejected, ${corpus.length - rejects} accepted as documented\n${table.join('\n')}`);
    expect(problems).toEqual([]);
  });
});
