// Line mode's parallel fast path (src/io/lineWorkers.ts) against the
// one-thread path: for the same input, stdout, stderr and the exit status
// are identical, whatever the lines hold, and nonces never repeat.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WORKERS_AFTER_LINES } from '../../src/io/lines.js';
import { BIN, HANG_MS, baseEnv } from '../helpers.js';

const key = randomBytes(32);
const KEY = { AES_PAYLOAD_KEY: key.toString('hex') };

function cli(args: string[], input: Buffer | string, threads: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, env: baseEnv({ ...KEY, AES_PAYLOAD_THREADS: threads }), maxBuffer: 1 << 30, timeout: HANG_MS });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** Both paths, which must agree exactly. */
function both(args: string[], input: Buffer | string) {
  const one = cli(args, input, '0');
  const par = cli(args, input, '2');
  expect(par.code).toBe(one.code);
  expect(par.stderr).toBe(one.stderr);
  expect(par.stdout.equals(one.stdout)).toBe(true);
  return one;
}

describe('line mode in parallel gives exactly what one thread gives', () => {
  const n = WORKERS_AFTER_LINES + 6000;
  const plain = Array.from({ length: n }, (_, i) => (i % 997 === 5 ? '' : `{"i":${i},"s":"${'x'.repeat(i % 50)}"}`));
  const input = `${plain.join('\n')}\n`;

  it('encrypt then decrypt round trips, through both paths', () => {
    const e = cli(['encrypt', '--lines'], input, '2');
    expect(e.code, e.stderr).toBe(0);
    expect(e.stderr).toBe(`${n} lines, 0 failed\n`);
    const d = both(['decrypt', '--lines'], e.stdout);
    expect(d.code).toBe(0);
    expect(d.stdout.toString()).toBe(input);
  });

  it('hostile lines after the threshold: every one fails or passes exactly as on one thread', () => {
    const lines = cli(['encrypt', '--lines'], input, '2').stdout.toString().split('\n');
    const good = lines[WORKERS_AFTER_LINES + 10]!;
    const flip = (s: string, field: string) => s.replace(new RegExp(`"${field}":"(.)`), (_, ch: string) => `"${field}":"${ch === 'A' ? 'B' : 'A'}`);
    const other = cli(['encrypt', '--lines'], 'x\n', '2').stdout.toString().trim();
    const hostile = [
      flip(good, 'data'),
      flip(good, 'mac'),
      flip(good, 'nonce'),
      good.replace(/"kid":"(.)/, (_, ch: string) => `"kid":"${ch === 'a' ? 'b' : 'a'}`),
      good.replace('"v":2', '"v":1'),
      good.replace('{"v":2', '{ "v":2'),
      `${good} `,
      `${good}\r`,
      good.replace(/"mac":"([^"]*)==/, (_, m: string) => `"mac":"${m.slice(0, -1)}${m.at(-1) === 'A' ? 'B' : 'A'}==`), // non-canonical bits
      good.replace(/"data":"([^"]*)"/, (_, d: string) => `"data":"${d}AAAA"`),
      good.replace('"alg":"A256GCM"', '"alg":"A128GCM"'),
      other.replace(/"kid":"[0-9a-f]+"/, good.match(/"kid":"[0-9a-f]+"/)![0]),
      '{"a":1}',
      'AAAA',
      '',
      '{"v":2,"alg":"A256GCM","kid":"0000000000000000","nonce":"","data":"","mac":""}',
      `{"v":2,"alg":"A256GCM","kid":"${key.length}","nonce":"x"}`,
      Buffer.from([0xff, 0xfe, 0x7b]).toString('latin1'),
    ];
    const mixed = [...lines.slice(0, -1)];
    hostile.forEach((h, i) => mixed.splice(WORKERS_AFTER_LINES + 100 + i * 311, 0, h));
    const text = Buffer.from(`${mixed.join('\n')}\n`, 'latin1');
    const d = both(['decrypt', '--lines'], text);
    expect(d.code).not.toBe(0);
    // valid, and the same on both paths: "", the CR line, a trailing space, a space inside the
    // object (the strict parser reads those), and `other` (the same key, so its kid was right)
    expect(d.stderr.split('\n').filter((l) => l.startsWith('aes-payload: line ')).length).toBe(hostile.length - 5);
    const ff = both(['decrypt', '--lines', '--fail-fast'], text);
    expect(ff.stderr.split('\n').filter((l) => l.startsWith('aes-payload: line ')).length).toBe(1);
  });

  it('nonces stay unique across workers and batches: 1,000,000 records', () => {
    const e = cli(['encrypt', '--lines'], 'a\n'.repeat(1_000_000), '2');
    expect(e.code, e.stderr).toBe(0);
    const nonces = new Set<string>();
    const text = e.stdout.toString('latin1');
    for (let at = text.indexOf('"nonce":"'); at !== -1; at = text.indexOf('"nonce":"', at + 9)) nonces.add(text.slice(at + 9, at + 25));
    expect(nonces.size).toBe(1_000_000);
  });
});
