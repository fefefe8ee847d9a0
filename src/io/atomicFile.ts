import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, constants, fsyncSync, linkSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { IOError, ioError } from '../errors.js';
import { hookSignals, pending, warnStaleTemps } from './tempFiles.js';

/** How {@link AtomicFile.create} makes the output. */
export interface AtomicWriteOptions {
  /** Mode of a newly created file, before the umask. Default 0o666. */
  mode?: number;
  /** Replace an existing file. Without it an existing file is an error (exit 5). */
  overwrite?: boolean;
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

/** The error for an output that exists and may not be replaced. */
export function exists(path: string): IOError {
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
 * An existing output that is not a regular file (a device such as /dev/full
 * or /dev/stdout's target, a FIFO, a socket) is never replaced by the
 * rename of an atomic write, even with --force: as root, that would put a
 * regular file where the device was. Write to stdout and redirect instead.
 */
function refuseSpecial(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    return; // absent: fine
  }
  if (!st.isFile()) throw new IOError(`cannot write ${path}: not a regular file${st.isDirectory() ? ' (a directory)' : ''}; outputs are written to a temp file and renamed into place, so write to stdout (> ${path}) instead`, 'ERR_NOT_REGULAR');
}

/**
 * An output file written atomically: bytes go to a temp file in the same
 * directory (created with O_EXCL and `mode`); {@link AtomicFile.commit}
 * fsyncs and moves it into place, {@link AtomicFile.abort} removes it. A
 * failed or interrupted run leaves no partial file. Without `overwrite`, an
 * existing file is never clobbered: the temp file is hard-linked into place,
 * which fails if `path` exists.
 *
 * @example
 * ```ts
 * const f = AtomicFile.create('big.out', { mode: 0o600 });
 * try { f.write(chunk); f.commit(); } catch (e) { f.abort(); throw e; }
 * ```
 */

export class AtomicFile {
  readonly path: string;
  readonly tmp: string;
  private fd: number | undefined;
  private readonly overwrite: boolean;

  private constructor(path: string, tmp: string, fd: number, overwrite: boolean) {
    this.path = path;
    this.tmp = tmp;
    this.fd = fd;
    this.overwrite = overwrite;
  }

  static create(path: string, opts: AtomicWriteOptions = {}): AtomicFile {
    const dir = dirname(path);
    // The pid in the name lets a later run tell a temp file that a killed run
    // left behind (SIGKILL cannot be caught) from one still being written.
    const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    warnStaleTemps(path);
    if (!opts.overwrite) assertAbsent(path);
    else refuseSpecial(path);
    hookSignals();
    let fd: number;
    try {
      fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, opts.mode ?? 0o666);
    } catch (e) {
      // A directory that exists but takes no new file (/proc, /sys): say so, not "no such file".
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && existsSync(dir)) {
        throw new IOError(`cannot write ${path}: ${dir} takes no new files (a kernel file system such as /proc or /sys); outputs are written to a temp file there and renamed into place, so write to stdout (> ${path}) instead`, 'ERR_OUTPUT_DIR');
      }
      throw ioError(e, `cannot write ${path}`);
    }
    pending.add(tmp);
    return new AtomicFile(path, tmp, fd, Boolean(opts.overwrite));
  }

  /** The temp file's descriptor, for asynchronous and positional writes. */
  get descriptor(): number | undefined {
    return this.fd;
  }

  write(data: Uint8Array): void {
    try {
      let off = 0;
      while (off < data.length) off += writeSync(this.fd!, data, off, data.length - off);
    } catch (e) {
      this.abort();
      throw ioError(e, `cannot write ${this.path}`);
    }
  }

  commit(): void {
    const { path, tmp } = this;
    try {
      const fd = this.fd!;
      this.fd = undefined;
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      if (this.overwrite) {
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
      fsyncDir(dirname(path));
    } catch (e) {
      this.abort();
      throw ioError(e, `cannot write ${path}`);
    }
  }

  /** Remove the temp file (idempotent). */
  abort(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = undefined;
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      /* never created or already gone */
    }
    pending.delete(this.tmp);
  }
}

/**
 * Write `data` to `path` atomically (see {@link AtomicFile}).
 *
 * @example
 * ```ts
 * writeFileAtomic('out.json', Buffer.from('{}\n'), { mode: 0o600 });
 * ```
 */
export function writeFileAtomic(path: string, data: Uint8Array | string, opts: AtomicWriteOptions = {}): void {
  const f = AtomicFile.create(path, opts);
  f.write(typeof data === 'string' ? Buffer.from(data) : data);
  f.commit();
}
