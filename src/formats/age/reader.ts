/**
 * A synchronous byte source: `read` fills `buf` and returns fewer bytes
 * only at the end of the input (as io/source.ts `Source.read` does).
 */
export interface SyncReader {
  read(buf: Buffer): number;
}

/** A reader over bytes in memory. */
export function bufferReader(data: Uint8Array): SyncReader {
  let pos = 0;
  return {
    read(buf) {
      const n = Math.min(buf.length, data.length - pos);
      buf.set(data.subarray(pos, pos + n), 0);
      pos += n;
      return n;
    },
  };
}

/**
 * Buffering on top of a {@link SyncReader}: lines for the header, then the
 * rest as a reader again (what was buffered first).
 */
export class LineReader implements SyncReader {
  private buf: Buffer = Buffer.alloc(0);
  private eof = false;
  constructor(private readonly src: SyncReader, private readonly step = 4096) {}

  private more(): boolean {
    if (this.eof) return false;
    const b = Buffer.allocUnsafe(this.step);
    const n = this.src.read(b);
    if (n < b.length) this.eof = true;
    if (n === 0) return false;
    this.buf = this.buf.length ? Buffer.concat([this.buf, b.subarray(0, n)]) : b.subarray(0, n);
    return true;
  }

  /**
   * The next line including its `\n`, or what is left without one at the
   * end of the input (empty at the end). undefined when no `\n` comes within
   * `max` bytes.
   */
  line(max: number): Buffer | undefined {
    let from = 0;
    for (;;) {
      const i = this.buf.indexOf(0x0a, from);
      if (i >= 0) {
        if (i + 1 > max) return undefined;
        const l = this.buf.subarray(0, i + 1);
        this.buf = this.buf.subarray(i + 1);
        return l;
      }
      from = this.buf.length;
      if (from > max) return undefined;
      if (!this.more()) {
        const l = this.buf;
        this.buf = Buffer.alloc(0);
        return l;
      }
    }
  }

  /** Look at the next `n` bytes (fewer at the end) without consuming them. */
  peek(n: number): Buffer {
    while (this.buf.length < n && this.more());
    return this.buf.subarray(0, Math.min(n, this.buf.length));
  }

  read(out: Buffer): number {
    let n = this.buf.copy(out, 0, 0, Math.min(this.buf.length, out.length));
    this.buf = this.buf.subarray(n);
    if (n < out.length && !this.eof) {
      const m = this.src.read(out.subarray(n));
      if (n + m < out.length) this.eof = true;
      n += m;
    }
    return n;
  }
}
