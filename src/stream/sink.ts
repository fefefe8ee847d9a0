import { AtomicFile } from '../io/output.js';
import { writeStdout } from '../io/stdout.js';

/** Where stream output goes: an atomic file, or stdout. */
export interface Sink {
  write(b: Uint8Array): void;
  /** Finish: for a file, fsync and move it into place. */
  commit(): void;
  /** Give up: for a file, remove the temp file. */
  abort(): void;
  /** Bytes written so far (to tell a partial stdout output). */
  readonly written: number;
  /** A regular temp file's descriptor, for positional writes; the caller adds to `written` via {@link Sink.advance}. */
  fd?(): number | undefined;
  advance?(n: number): void;
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
    write(b) {
      writeStdout(b);
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
  return {
    write(b) {
      f.write(b);
      written += b.length;
    },
    commit: () => f.commit(),
    abort: () => f.abort(),
    get written() {
      return written;
    },
    fd: () => f.descriptor,
    advance(n) {
      written += n;
    },
  };
}
