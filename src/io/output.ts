import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  linkSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { IOError, ioError } from '../errors.js';

export interface AtomicWriteOptions {
  /** Mode of a newly created file, before the umask. Default 0o666. */
  mode?: number;
  /** Replace an existing file. Without it an existing file is an error (exit 5). */
  overwrite?: boolean;
}

/** Temp files being written; removed if the process is interrupted. */
const pending = new Set<string>();
let hooked = false;

function hookSignals(): void {
  if (hooked) return;
  hooked = true;
  const cleanup = () => {
    for (const p of pending) {
      try {
        unlinkSync(p);
      } catch {
        /* already gone */
      }
    }
    pending.clear();
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      cleanup();
      process.kill(process.pid, sig);
    });
  }
  process.once('exit', cleanup);
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* some file systems do not support fsync on directories */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function exists(path: string): IOError {
  return new IOError(`${path} already exists; use --force to overwrite it`, 'ERR_EXISTS');
}

/** Throw unless nothing exists at `path`. */
function assertAbsent(path: string): void {
  try {
    statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw ioError(e, `cannot write ${path}`);
  }
  throw exists(path);
}

/**
 * Write `data` to `path` atomically: a temp file in the same directory
 * (created with O_EXCL and `mode`), fsync, then rename. A failed run leaves
 * no partial file. Without `overwrite`, an existing file is never clobbered:
 * the temp file is hard-linked into place, which fails if `path` exists.
 *
 * @example
 * ```ts
 * writeFileAtomic('out.json', Buffer.from('{}\n'), { mode: 0o600 });
 * ```
 */
export function writeFileAtomic(path: string, data: Uint8Array | string, opts: AtomicWriteOptions = {}): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  if (!opts.overwrite) assertAbsent(path);
  hookSignals();
  let fd: number;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, opts.mode ?? 0o666);
  } catch (e) {
    throw ioError(e, `cannot write ${path}`);
  }
  pending.add(tmp);
  try {
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (opts.overwrite) {
      renameSync(tmp, path);
    } else {
      try {
        linkSync(tmp, path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw exists(path);
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw e;
        // No hard links on this file system: check, then rename (a small race).
        assertAbsent(path);
        renameSync(tmp, path);
      }
      try {
        unlinkSync(tmp);
      } catch {
        /* renamed away */
      }
    }
    pending.delete(tmp);
    fsyncDir(dir);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* never created or already gone */
    }
    pending.delete(tmp);
    throw ioError(e, `cannot write ${path}`);
  }
}

/**
 * Check an output path before any work is done: never the input itself
 * (under any name), and not an existing file unless `overwrite`.
 */
export function checkOutput(input: string | undefined, output: string | undefined, overwrite: boolean): void {
  if (!output || output === '-') return;
  let out;
  try {
    out = statSync(output);
  } catch {
    return; // does not exist yet: fine
  }
  if (input && input !== '-') {
    try {
      const a = statSync(input);
      if (a.dev === out.dev && a.ino === out.ino) {
        throw new IOError(`refusing to write the output over the input ${input}`, 'ERR_SAME_FILE');
      }
    } catch (e) {
      if (e instanceof IOError) throw e;
    }
  }
  if (!overwrite) throw exists(output);
}

/** Permission bits of an open file, or of a path. */
export function fileMode(pathOrFd: string | number): number {
  return (typeof pathOrFd === 'number' ? fstatSync(pathOrFd) : statSync(pathOrFd)).mode & 0o777;
}
