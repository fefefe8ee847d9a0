import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * The suites that are slow by nature, left out of `npm run test:quick`:
 * real peers (Python, npm jose, SoftHSM2), terminals and shells, the hostile
 * input corpus and the property tests (hundreds of CLI runs each), faults
 * and hostile work on large inputs (48 MiB files, scrypt budgets), a million
 * line-mode records, the README run whole, and `npm pack`. `npm test` (and
 * .ci/run) runs them all.
 */
const SLOW = [
  'test/hardening.test.ts',
  'test/properties.test.ts',
  'test/faults.test.ts',
  'test/attacks/hostile-work.test.ts',
  'test/interop.test.ts',
  'test/age-interop.test.ts',
  'test/age-cli.test.ts',
  'test/jwe-interop.test.ts',
  'test/seeds.test.ts',
  'test/hsm.test.ts',
  'test/tty.test.ts',
  'test/ecosystem.test.ts',
  'test/lines-parallel.test.ts',
  'test/readme.test.ts',
  'test/package.test.ts',
];

export default defineConfig({
  test: {
    // No test may pass or fail by how fast the machine is: tests wait for
    // events, and these limits only stop a hang (a bug). They are far beyond
    // what any test needs on a loaded machine; each process a test runs has
    // its own backstop, HANG_MS in test/helpers.ts (10 minutes).
    testTimeout: 30 * 60_000,
    hookTimeout: 30 * 60_000,
    pool: 'forks',
    // Most of the time is spent in the CLI processes the tests spawn, not in
    // vitest: one test file per core keeps every core busy (vitest's default
    // leaves one core idle).
    maxWorkers: Math.max(2, availableParallelism()),
    // The JSON report lets .ci/run print a plain 'N passed, N failed' line.
    reporters: ['default', ['json', { outputFile: 'dist/test-results.json' }]],
    // Each project lists its own files (the root has no include, which projects would add to theirs).
    projects: [
      { extends: true, test: { name: 'quick', include: ['test/**/*.test.ts'], exclude: SLOW } },
      { extends: true, test: { name: 'slow', include: SLOW } },
    ],
  },
});
