import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { KeyError, ioError } from '../errors.js';
import type { KeyContext } from './source.js';

/** Read a small secret file, warning when group or others can read it. */
export function readSecretFile(path: string, what: string, ctx: KeyContext): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw ioError(e, `cannot read ${what} ${path}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw ioError({ code: 'EISDIR' }, `cannot read ${what} ${path}`);
    if (st.size > 1024 * 1024) throw new KeyError(`${what} ${path} is too large to hold a key`, 'ERR_KEY_FILE');
    // Only a regular file holding a secret can be too open: not /dev/null, a
    // character device or a pipe, and not a public key (.pub).
    if (st.isFile() && (st.mode & 0o077) !== 0 && !path.endsWith('.pub')) {
      ctx.warn(`${path} can be read by group or others; run: chmod 600 ${path}`);
    }
    // Read at most the limit (+1 to see it passed): a device or FIFO has no size to check first (/dev/zero).
    const limit = 1024 * 1024;
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const b = Buffer.alloc(64 * 1024);
      const n = readSync(fd, b, 0, b.length, null);
      if (n === 0) break;
      chunks.push(b.subarray(0, n));
      total += n;
      if (total > limit) {
        for (const c of chunks) c.fill(0);
        throw new KeyError(`${what} ${path} is too large to hold a key`, 'ERR_KEY_FILE');
      }
    }
    const out = Buffer.concat(chunks);
    for (const c of chunks) c.fill(0);
    return out;
  } catch (e) {
    throw ioError(e, `cannot read ${what} ${path}`);
  } finally {
    closeSync(fd);
  }
}
