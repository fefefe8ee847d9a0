import { writeAll } from '../../io/async.js';
import { AtomicFile } from '../../io/atomicFile.js';
import { BrokenPipe } from '../../io/stdout.js';
import { writevAll } from '../../io/writev.js';
import { ioError } from '../../errors.js';

/**
 * Where stream output goes: an atomic file, or stdout. `write` is all a sink
 * must have; the sinks made here also write synchronously with `writev`,
 * which is how the stream pipeline writes (README, "Performance").
 */
export interface Sink {
  /** Write in order: each write starts after the previous one resolved. */
  write(b: Uint8Array): Promise<void>;
  /** Write these pieces in order, synchronously (the fast path, when present). */
  writev?(parts: readonly Uint8Array[]): void;
  /**
   * A regular file, for threads that write at offsets themselves: its
   * descriptor, the file offset of the next byte of output, and `wrote`
   * to count bytes so written.
   */
  positional?(): { fd: number; at: number; what: string; wrote(bytes: number): void };
  /** Finish: for a file, fsync and move it into place. */
  commit(): void;
  /** Give up: for a file, remove the temp file. */
  abort(): void;
  /** Bytes written so far (to tell a partial stdout output). */
  readonly written: number;
}

/**
 * Stream output to stdout (a closed reader ends quietly, see writeStdout).
 *
 * @example
 * ```ts
 * await decryptStream(Source.open('x.aesp'), stdoutSink(), key);
 * ```
 */
export function stdoutSink(): Sink {
  let written = 0;
  return {
    async write(b) {
      await writeAll(1, b, null, 'to standard output');
      written += b.length;
    },
    writev(parts) {
      try {
        written += writevAll(1, parts, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EPIPE') throw new BrokenPipe();
        throw ioError(e, 'cannot write to standard output');
      }
    },
    commit() {},
    abort() {},
    get written() {
      return written;
    },
  };
}

/**
 * Stream output to an atomic file (temp file, fsync, rename on commit).
 *
 * @example
 * ```ts
 * await encryptStream(Source.open('dump.sql'), fileSink('dump.aesp', { mode: 0o666, overwrite: false }), key);
 * ```
 */
export function fileSink(path: string, opts: { mode: number; overwrite: boolean }): Sink {
  const f = AtomicFile.create(path, opts);
  let written = 0;
  let end = 0;
  return {
    async write(b) {
      await writeAll(f.descriptor!, b, end, path);
      end += b.length;
      written += b.length;
    },
    writev(parts) {
      let n: number;
      try {
        n = writevAll(f.descriptor!, parts, end);
      } catch (e) {
        throw ioError(e, `cannot write ${path}`);
      }
      end += n;
      written += n;
    },
    positional() {
      return {
        fd: f.descriptor!,
        at: end,
        what: path,
        wrote(bytes: number) {
          written += bytes;
          end = Math.max(end, written);
        },
      };
    },
    commit: () => f.commit(),
    abort: () => f.abort(),
    get written() {
      return written;
    },
  };
}

/** A sink that keeps nothing (verify). */
export function discardSink(): Sink {
  let written = 0;
  return {
    async write(b) {
      written += b.length;
    },
    writev(parts) {
      for (const p of parts) written += p.length;
    },
    commit() {},
    abort() {},
    get written() {
      return written;
    },
  };
}
