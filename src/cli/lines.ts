import { AtomicFile, signalsFirst } from '../io/output.js';
import { processLines, type LineFastPath, type OnError } from '../io/lines.js';
import type { Source } from '../io/source.js';
import { writeStdout } from '../io/stdout.js';
import type { Ui } from './ui.js';

/** The --on-error values (README, "Line mode"). */
export const ON_ERROR = ['skip', 'stop', 'record'] as const;

/** --on-error, with --fail-fast as the old name of `stop` (both need --lines: src/cli/usage.ts). */
export function onErrorOf(o: { failFast?: boolean; onError?: string }): OnError {
  return o.failFast ? 'stop' : ((o.onError as OnError | undefined) ?? 'skip');
}

/**
 * Line mode, shared by encrypt and decrypt: every line on its own, as a
 * live filter; a bad line is reported with its number, then skipped, or
 * stops the run, or leaves an error record in its place (--on-error); the
 * exit status is that of the first failure. With -o the file is written
 * only if every line succeeded, or with --on-error record.
 */
export async function runLines(
  src: Source,
  o: { output?: string; force?: boolean; onError: OnError },
  fn: (line: Buffer) => string | Buffer,
  ui: Ui,
  mode = 0o600,
  fast?: LineFastPath,
): Promise<void> {
  const file = o.output !== undefined && o.output !== '-' ? AtomicFile.create(o.output, { mode, overwrite: Boolean(o.force) }) : undefined;
  try {
    const rep = await processLines(src, fn, file ? (b) => file.write(b) : writeStdout, (n, e) => ui.error(`line ${n}: ${e.message}`), { onError: o.onError, ...(fast ? { fast } : {}) });
    ui.line(`${rep.lines} line${rep.lines === 1 ? '' : 's'}, ${rep.failed} failed`);
    if (rep.failed) {
      process.exitCode = rep.firstExit;
      // Each bad line has had its one error line; -o FILE is not written (README, "Line mode"),
      // unless error records stand in for the bad lines.
      if (o.onError !== 'record') {
        file?.abort();
        return;
      }
    }
    if (file) {
      await signalsFirst();
      file.commit();
    }
  } catch (e) {
    file?.abort();
    throw e;
  } finally {
    src.close();
    // A read of a pipe that stays open cannot be cancelled, and would keep the
    // process waiting for input it no longer wants: exit once the status is set.
    if (src.reading) setImmediate(() => process.exit());
  }
}
