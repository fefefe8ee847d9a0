import { writevSync } from 'node:fs';
import { Backoff } from './backoff.js';

const backoff = new Backoff();

/**
 * Write every byte of `parts` with writev(2), synchronously, at `position`
 * (null: the descriptor's own position, as for a pipe). A partial write
 * goes on from where it stopped; EAGAIN, from a descriptor someone else made
 * non-blocking, backs off (see {@link Backoff}). Other errors are thrown as
 * they come (the caller names the file). Returns the bytes written.
 *
 * One system call per call for a blocking pipe or a file, where the
 * thread-pool writes they replace cost two context switches each (README,
 * "Performance").
 *
 * @example
 * ```ts
 * writevAll(1, [piece1, piece2, tag], null);
 * ```
 */
export function writevAll(fd: number, parts: readonly Uint8Array[], position: number | null): number {
  let total = 0;
  for (const p of parts) total += p.length;
  let left: readonly Uint8Array[] = parts;
  let done = 0;
  while (done < total) {
    let n: number;
    try {
      n = writevSync(fd, left as Uint8Array[], position === null ? undefined : position + done);
      backoff.reset();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        backoff.wait();
        continue;
      }
      throw e;
    }
    done += n;
    if (done >= total) break;
    // A partial write: drop what went out, resume inside the part it stopped in.
    let skip = n;
    let i = 0;
    while (skip >= left[i]!.length) skip -= left[i++]!.length;
    left = [left[i]!.subarray(skip), ...left.slice(i + 1)];
  }
  return total;
}
