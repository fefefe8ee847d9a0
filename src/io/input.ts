import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { FormatError, ioError } from '../errors.js';

/** The largest payload the in-memory formats (JSON envelope, raw) take. */
export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;

/** Largest encoded input for the in-memory formats: base64 of the largest payload, plus room. */
export const MAX_ENCODED_BYTES = Math.ceil(MAX_PAYLOAD_BYTES / 3) * 4 + 64 * 1024;

export interface Input {
  /** File name as given, or "-" for standard input. */
  name: string;
  data: Buffer;
}

function tooLarge(limit: number): FormatError {
  return new FormatError(
    `input is larger than ${Math.round(limit / 1048576)} MiB, the limit of the in-memory JSON and raw formats; ` +
      'split it (a streaming format for large payloads is planned)',
    'ERR_TOO_LARGE',
  );
}

/**
 * Read a descriptor to its end into one buffer that doubles as it fills (a
 * pipe gives at most 64 KiB a read, so per-read buffers would waste memory).
 * `sizeHint` (a regular file's size) lets the first buffer fit exactly.
 */
function readFd(fd: number, limit: number, sizeHint = 0): Buffer {
  let buf = Buffer.allocUnsafe(Math.min(limit + 1, Math.max(65536, sizeHint + 1)));
  let total = 0;
  for (;;) {
    if (total === buf.length) {
      const bigger = Buffer.allocUnsafe(Math.min(limit + 1, buf.length * 2));
      buf.copy(bigger, 0, 0, total);
      buf = bigger;
    }
    let n: number;
    try {
      n = readSync(fd, buf, total, buf.length - total, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        // A non-blocking descriptor (stdin from some terminals): wait a little.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      throw e;
    }
    if (n === 0) break;
    total += n;
    if (total > limit) throw tooLarge(limit);
  }
  return buf.subarray(0, total);
}

/**
 * Read a whole input: a file, or standard input for `undefined` or "-".
 * Inputs over `limit` bytes fail with exit 4 and a pointer to streaming.
 *
 * @example
 * ```ts
 * const { data } = readInput('payload.json', MAX_PAYLOAD_BYTES);
 * ```
 */
export function readInput(path: string | undefined, limit: number): Input {
  if (path === undefined || path === '-') {
    try {
      return { name: '-', data: readFd(0, limit) };
    } catch (e) {
      throw ioError(e, 'cannot read standard input');
    }
  }
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw ioError(e, `cannot read ${path}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw ioError({ code: 'EISDIR' }, `cannot read ${path}`);
    if (st.isFile() && st.size > limit) throw tooLarge(limit);
    return { name: path, data: readFd(fd, limit, st.isFile() ? st.size : 0) };
  } catch (e) {
    throw ioError(e, `cannot read ${path}`);
  } finally {
    closeSync(fd);
  }
}
