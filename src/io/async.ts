import { read, write } from 'node:fs';
import { ioError } from '../errors.js';
import { BrokenPipe } from './stdout.js';

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One read(2) on libuv's thread pool, so the main thread goes on working
 * while it waits (`position` null: the descriptor's own position, as for a
 * pipe). EAGAIN, from a descriptor that someone else made non-blocking, is
 * retried after a millisecond.
 */
export async function readOnce(fd: number, buf: Uint8Array, off: number, len: number, position: number | null, what: string): Promise<number> {
  for (;;) {
    try {
      return await new Promise<number>((resolve, reject) => read(fd, buf, off, len, position, (e, n) => (e ? reject(e) : resolve(n))));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        await pause(1);
        continue;
      }
      if (code === 'EOF') return 0;
      throw ioError(e, `cannot read ${what}`);
    }
  }
}

/**
 * Write all of `data` with write(2) on libuv's thread pool (a blocking pipe
 * blocks a pool thread, not the main thread). EPIPE on stdout becomes
 * {@link BrokenPipe}, the quiet exit; EAGAIN is retried.
 */
export async function writeAll(fd: number, data: Uint8Array, position: number | null, what: string): Promise<void> {
  let off = 0;
  while (off < data.length) {
    try {
      off += await new Promise<number>((resolve, reject) =>
        write(fd, data, off, data.length - off, position === null ? null : position + off, (e, n) => (e ? reject(e) : resolve(n))),
      );
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        await pause(1);
        continue;
      }
      if (code === 'EPIPE' && fd === 1) throw new BrokenPipe();
      throw ioError(e, `cannot write ${what}`);
    }
  }
}
