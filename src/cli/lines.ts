import { AtomicFile } from '../io/output.js';
import { processLines, type LineFastPath } from '../io/lines.js';
import type { Source } from '../io/source.js';
import { writeStdout } from '../io/stdout.js';
import type { Ui } from './ui.js';

/**
 * Line mode, shared by encrypt and decrypt: every line on its own; bad lines
 * are reported with their number and skipped; the exit status is that of the
 * first failure. With -o the file is written only if every line succeeded.
 */
export async function runLines(
  src: Source,
  o: { output?: string; force?: boolean; failFast?: boolean },
  fn: (line: Buffer) => string | Buffer,
  ui: Ui,
  mode = 0o600,
  fast?: LineFastPath,
): Promise<void> {
  const file = o.output !== undefined && o.output !== '-' ? AtomicFile.create(o.output, { mode, overwrite: Boolean(o.force) }) : undefined;
  try {
    const rep = await processLines(src, fn, file ? (b) => file.write(b) : writeStdout, (n, e) => ui.error(`line ${n}: ${e.message}`), Boolean(o.failFast), fast);
    ui.line(`${rep.lines} line${rep.lines === 1 ? '' : 's'}, ${rep.failed} failed`);
    if (rep.failed) {
      // Each bad line has had its one error line; -o FILE is not written (README, "Line mode").
      file?.abort();
      process.exitCode = rep.firstExit;
      return;
    }
    file?.commit();
  } catch (e) {
    file?.abort();
    throw e;
  } finally {
    src.close();
  }
}
