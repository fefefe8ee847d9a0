import { writeSync } from 'node:fs';
import { ioError } from '../errors.js';
import { Backoff } from './backoff.js';

const backoff = new Backoff();

/** Thrown (and caught by the CLI) when the reader of stdout has gone away. */
export class BrokenPipe extends Error {
  constructor() {
    super('broken pipe');
  }
}

/**
 * Write all of `data` to standard output, synchronously, so that nothing is
 * lost when the process exits. EPIPE (the reader closed, as in `| head -c1`)
 * throws {@link BrokenPipe}, which the CLI turns into a quiet exit.
 *
 * @example
 * ```ts
 * writeStdout('{"v":1,…}\n');
 * ```
 */
export function writeStdout(data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(1, bytes, off, bytes.length - off);
      backoff.reset();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        backoff.wait();
        continue;
      }
      if (code === 'EPIPE') throw new BrokenPipe();
      throw ioError(e, 'cannot write to standard output');
    }
  }
}
