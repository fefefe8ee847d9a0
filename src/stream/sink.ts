import { writeAll } from '../io/async.js';
import { AtomicFile } from '../io/output.js';

/** Where stream output goes: an atomic file, or stdout. Writes are asynchronous, on libuv's thread pool. */
export interface Sink {
  /** Write in order: each write starts after the previous one resolved. */
  write(b: Uint8Array): Promise<void>;
  /** A regular file: write at `pos` (from the start of the output), in any order. */
  writeAt?(b: Uint8Array, pos: number): Promise<void>;
  /** Finish: for a file, fsync and move it into place. */
  commit(): void;
  /** Give up: for a file, remove the temp file. */
  abort(): void;
  /** Bytes written so far (to tell a partial stdout output). */
  readonly written: number;
}

/**
 * Stream output to stdout (a closed reader ends quietly, see writeAll).
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
    async writeAt(b, pos) {
      await writeAll(f.descriptor!, b, pos, path);
      end = Math.max(end, pos + b.length);
      written += b.length;
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
    commit() {},
    abort() {},
    get written() {
      return written;
    },
  };
}
