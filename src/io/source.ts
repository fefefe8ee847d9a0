import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ioError } from '../errors.js';
import { Backoff } from './backoff.js';
import { readOnce } from './async.js';

/** Something that fills buffers: a file or stdin, or a decoder over one. */
export interface ByteReader {
  /** Fill `buf` completely, unless the input ends first; returns the bytes read (0 at the end). */
  read(buf: Buffer): number;
  /** One read(2) on libuv's thread pool: whatever the input has ready (at least a byte), 0 at the end. */
  readSome?(buf: Buffer): Promise<number>;
  /** For a named regular file: where the unread rest is, for reads at offsets. */
  positional?(): { fd: number; offset: number; size: number } | undefined;
}


/**
 * An input file, or standard input for `undefined` or "-", read
 * synchronously. Bytes looked at with {@link Source.peek} are not lost:
 * later reads return them first.
 *
 * @example
 * ```ts
 * const src = Source.open('dump.sql');
 * const head = src.peek(8);
 * ```
 */
export class Source implements ByteReader {
  readonly name: string;
  /** Size of a regular file; undefined for pipes and terminals. */
  readonly size: number | undefined;
  private readonly fd: number;
  private readonly owned: boolean;
  private pre: Buffer = Buffer.alloc(0);
  private ended = false;
  /** Bytes returned by read() so far. */
  private consumed = 0;
  private readonly backoff = new Backoff();
  /** A {@link Source.readSome} is waiting on the descriptor (it cannot be cancelled). */
  reading = false;

  private constructor(name: string, fd: number, owned: boolean, size: number | undefined) {
    this.name = name;
    this.fd = fd;
    this.owned = owned;
    this.size = size;
  }

  static open(path: string | undefined): Source {
    if (path === undefined || path === '-') {
      let size: number | undefined;
      try {
        const st = fstatSync(0);
        if (st.isFile()) size = st.size;
      } catch {
        /* closed stdin reads as empty */
      }
      return new Source('-', 0, false, size);
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
      return new Source(path, fd, true, st.isFile() ? st.size : undefined);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** What to call this input in messages. */
  get what(): string {
    return this.name === '-' ? 'standard input' : this.name;
  }

  /** One read(2) into `buf` at `off`; 0 at the end. */
  private readOnce(buf: Buffer, off: number, len: number): number {
    if (this.ended) return 0;
    for (;;) {
      try {
        const n = readSync(this.fd, buf, off, len, null);
        this.backoff.reset();
        if (n === 0) this.ended = true;
        return n;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          this.backoff.wait(); // a descriptor made non-blocking by whoever gave it to us
          continue;
        }
        if (code === 'EOF') {
          this.ended = true;
          return 0;
        }
        throw ioError(e, `cannot read ${this.what}`);
      }
    }
  }

  /** Fill `buf` from the descriptor (not from peeked bytes), up to its end. */
  private fill(buf: Buffer, from: number): number {
    let total = from;
    while (total < buf.length) {
      const n = this.readOnce(buf, total, buf.length - total);
      if (n === 0) break;
      total += n;
    }
    return total;
  }

  read(buf: Buffer): number {
    const fromPeek = this.pre.copy(buf, 0, 0, Math.min(this.pre.length, buf.length));
    this.pre = this.pre.subarray(fromPeek);
    const total = this.fill(buf, fromPeek);
    this.consumed += total;
    return total;
  }

  async readSome(buf: Buffer): Promise<number> {
    let n: number;
    if (this.pre.length) {
      n = this.pre.copy(buf, 0, 0, Math.min(this.pre.length, buf.length));
      this.pre = this.pre.subarray(n);
    } else if (this.ended) {
      n = 0;
    } else {
      this.reading = true;
      try {
        n = await readOnce(this.fd, buf, 0, buf.length, null, this.what);
      } finally {
        this.reading = false;
      }
      if (n === 0) this.ended = true;
    }
    this.consumed += n;
    return n;
  }

  positional(): { fd: number; offset: number; size: number } | undefined {
    if (!this.owned || this.size === undefined) return undefined;
    return { fd: this.fd, offset: this.consumed, size: this.size };
  }

  /** Look at up to `n` bytes without consuming them. */
  peek(n: number): Buffer {
    if (this.pre.length < n) {
      const more = Buffer.allocUnsafe(n - this.pre.length);
      this.pre = Buffer.concat([this.pre, more.subarray(0, this.fill(more, 0))]);
    }
    return this.pre.subarray(0, Math.min(n, this.pre.length));
  }

  /**
   * Read everything that is left into one buffer that doubles as it fills.
   * `tooLarge` is thrown once more than `limit` bytes arrive.
   */
  readAll(limit: number, tooLarge: () => Error): Buffer {
    if (this.size !== undefined && this.size > limit) throw tooLarge();
    let buf = Buffer.allocUnsafe(Math.min(limit + 1, Math.max(65536, (this.size ?? 0) + 1, this.pre.length + 1)));
    let total = this.pre.copy(buf, 0);
    this.pre = Buffer.alloc(0);
    for (;;) {
      if (total === buf.length) {
        if (total > limit) throw tooLarge();
        const bigger = Buffer.allocUnsafe(Math.min(limit + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, total);
        buf = bigger;
      }
      const n = this.readOnce(buf, total, buf.length - total);
      if (n === 0) break;
      total += n;
      if (total > limit) throw tooLarge();
    }
    return buf.subarray(0, total);
  }

  close(): void {
    if (this.owned) {
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
    }
  }
}
