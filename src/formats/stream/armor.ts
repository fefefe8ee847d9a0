import { FormatError } from '../../errors.js';
import { ARMOR_BEGIN, ARMOR_END, ARMOR_LINE } from './codec.js';
import type { ByteReader } from '../../io/source.js';
import type { Sink } from './sink.js';

const LINE_BYTES = (ARMOR_LINE / 4) * 3;

/**
 * Wrap a sink so that bytes are written as armor: a BEGIN line, base64 in
 * lines of 64 characters, an END line (docs/FORMAT.md §9.5).
 *
 * @example
 * ```ts
 * const out = armorSink(stdoutSink()); await out.write(bytes); await out.finish(); out.commit();
 * ```
 */
export function armorSink(inner: Sink): Sink & { finish(): Promise<void> } {
  let rest = Buffer.alloc(0);
  let started = false;
  const lines = (b: Buffer): string => {
    let s = '';
    for (let i = 0; i < b.length; i += LINE_BYTES) s += `${b.subarray(i, i + LINE_BYTES).toString('base64')}\n`;
    return s;
  };
  /** The armor text for these bytes (whole lines; the rest waits for more). */
  const encode = (parts: readonly Uint8Array[]): Buffer | undefined => {
    const all = Buffer.concat([rest, ...parts]);
    const whole = all.length - (all.length % LINE_BYTES);
    rest = Buffer.from(all.subarray(whole));
    const text = (started ? '' : `${ARMOR_BEGIN}\n`) + (whole ? lines(all.subarray(0, whole)) : '');
    started = true;
    return text ? Buffer.from(text, 'ascii') : undefined;
  };
  const tail = (): Buffer => {
    const b = Buffer.from(`${started ? '' : `${ARMOR_BEGIN}\n`}${rest.length ? lines(rest) : ''}${ARMOR_END}\n`, 'ascii');
    started = true;
    return b;
  };
  const sink: Sink & { finish(): Promise<void> } = {
    async write(b: Uint8Array) {
      const text = encode([b]);
      if (text) await inner.write(text);
    },
    /** The last line and the END line; call (and await) before commit. */
    async finish() {
      if (inner.writev) inner.writev([tail()]);
      else await inner.write(tail());
    },
    commit() {
      inner.commit();
    },
    abort: () => inner.abort(),
    get written() {
      return inner.written;
    },
  };
  if (inner.writev) {
    const w = inner.writev.bind(inner);
    sink.writev = (parts) => {
      const text = encode(parts);
      if (text) w([text]);
    };
  }
  return sink;
}

function bad(why: string): FormatError {
  return new FormatError(`armored stream: ${why}`, 'ERR_ARMOR');
}

/**
 * Decode armor from a reader, line by line, in constant memory. Lines must be
 * 64 base64 characters except the last (which may be shorter and padded); LF
 * or CRLF; nothing but white space after the END line.
 */
export class ArmorReader implements ByteReader {
  private readonly src: ByteReader;
  private text = '';
  private decoded: Buffer = Buffer.alloc(0);
  private state: 'begin' | 'body' | 'done' = 'begin';
  private sawShort = false;
  private srcEnded = false;

  constructor(src: ByteReader) {
    this.src = src;
  }

  private more(): boolean {
    if (this.srcEnded) return false;
    const buf = Buffer.allocUnsafe(256 * 1024);
    const n = this.src.read(buf);
    if (n < buf.length) this.srcEnded = true;
    this.text += buf.subarray(0, n).toString('latin1');
    return n > 0;
  }

  /** Next complete line (without its end), or undefined at the end of input. */
  private line(): string | undefined {
    for (;;) {
      const i = this.text.indexOf('\n');
      if (i >= 0) {
        const l = this.text.slice(0, i).replace(/\r$/, '');
        this.text = this.text.slice(i + 1);
        return l;
      }
      if (this.text.length > 4096) throw bad('line too long');
      if (!this.more()) {
        if (this.text.length === 0) return undefined;
        const l = this.text;
        this.text = '';
        return l;
      }
    }
  }

  private fill(want: number): void {
    const parts: Buffer[] = [this.decoded];
    let have = this.decoded.length;
    while (have < want && this.state !== 'done') {
      const l = this.line();
      if (l === undefined) throw bad(`no ${ARMOR_END} line (truncated)`);
      if (this.state === 'begin') {
        if (l.replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trim() === '') continue;
        if (l.replace(/^\xEF\xBB\xBF/, '') !== ARMOR_BEGIN) throw bad(`the first line is not ${ARMOR_BEGIN}`);
        this.state = 'body';
        continue;
      }
      if (l === ARMOR_END) {
        this.state = 'done';
        let tail: string | undefined;
        while ((tail = this.line()) !== undefined) if (tail.trim() !== '') throw bad('data after the END line');
        break;
      }
      if (this.sawShort) throw bad('a short line before the end');
      if (l.length === 0 || l.length > ARMOR_LINE || l.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(l)) throw bad('invalid base64 line');
      if (l.length < ARMOR_LINE || l.endsWith('=')) this.sawShort = true;
      const b = Buffer.from(l, 'base64');
      if (b.toString('base64') !== l) throw bad('non-canonical base64');
      parts.push(b);
      have += b.length;
    }
    this.decoded = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  read(buf: Buffer): number {
    this.fill(buf.length);
    const n = this.decoded.copy(buf, 0, 0, Math.min(buf.length, this.decoded.length));
    this.decoded = this.decoded.subarray(n);
    return n;
  }
}
