// The README's benchmark tables are generated: each says exactly what its
// results file (bench/results/node<MAJOR>.json, written by `npm run bench`)
// holds, so that no figure in them was typed by hand. No benchmark runs here.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

describe('README benchmark tables', async () => {
  const { blockOf, render, replaceBlock } = await import('../bench/table.mjs');
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const results = readdirSync(join(ROOT, 'bench/results')).filter((f) => /^node\d+\.json$/.test(f));

  it('there is a table, and one results file per table', () => {
    expect(results.length).toBeGreaterThan(0);
    const majors = [...readme.matchAll(/<!-- BEGIN bench node(\d+):/g)].map((m) => `node${m[1]}.json`);
    expect(majors.sort()).toEqual([...results].sort());
  });

  for (const f of results) {
    it(`the Node ${f.slice(4, -5)} table is exactly bench/results/${f} rendered`, () => {
      const run = JSON.parse(readFileSync(join(ROOT, 'bench/results', f), 'utf8'));
      expect(run.quick).toBe(false);
      expect(blockOf(readme, f.slice(4, -5))).toBe(render(run));
      // and every row that has a goal says met or missed by its own figures
      for (const r of run.rows.filter((x: { goal?: unknown }) => x.goal)) {
        const subject = r.goal.of === 'ours' ? r.ours.median : r.ratio;
        expect(r.met, r.what).toBe(r.goal.op === '>=' ? subject >= r.goal.value : subject <= r.goal.value);
      }
    });
  }

  it('a new run replaces its own block and leaves the other alone', () => {
    const text = 'x\n<!-- bench tables -->\ny\n';
    const a = replaceBlock(text, '20', 'A');
    const b = replaceBlock(a, '24', 'B');
    const c = replaceBlock(b, '20', 'A2');
    expect(blockOf(c, '20')).toBe('A2');
    expect(blockOf(c, '24')).toBe('B');
    expect(c.startsWith('x\n')).toBe(true);
    expect(c.endsWith('\ny\n')).toBe(true);
  });
});
