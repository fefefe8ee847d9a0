import { armorError } from './b64.js';
import type { SyncReader } from './reader.js';
import { LineReader } from './reader.js';

/**
 * age's ASCII armor (C2SP age.md, "ASCII armor"): strict RFC 7468 PEM with
 * the label "AGE ENCRYPTED FILE", 64-column lines of padded canonical
 * base64, the last one shorter (or full); LF or CRLF; white space only
 * before the BEGIN line and after the END line (at most 1 KiB each), as
 * age's own reader.
 */
export const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----';
export const ARMOR_END = '-----END AGE ENCRYPTED FILE-----';
const COLUMNS = 64;
const BYTES_PER_LINE = 48;
const MAX_WHITESPACE = 1024;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

function isSpace(b: Buffer): boolean {
  for (const c of b) if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0b && c !== 0x0c) return false;
  return true;
}

/** Decode one padded base64 line strictly (canonical, padding only where due). */
function decodeLine(line: string): Buffer {
  if (line.length % 4 !== 0 || !B64.test(line)) throw armorError('a line is not canonical base64');
  const b = Buffer.from(line, 'base64');
  if (b.toString('base64') !== line) throw armorError('a line is not canonical base64');
  return b;
}

/** Reads an armored age file and yields the binary file; a {@link SyncReader} itself. */
export class ArmorDecoder implements SyncReader {
  private readonly r: LineReader;
  private started = false;
  private done = false;
  private pending: Buffer = Buffer.alloc(0);

  constructor(src: SyncReader) {
    this.r = src instanceof LineReader ? src : new LineReader(src);
  }

  private line(): string {
    const l = this.r.line(COLUMNS + 2);
    if (l === undefined) throw armorError('a line is longer than 64 columns');
    if (l.length === 0) throw armorError('the END line is missing');
    let s = l.toString('latin1');
    if (s.endsWith('\n')) s = s.slice(0, -1);
    if (s.endsWith('\r')) s = s.slice(0, -1);
    return s;
  }

  private trailing(): void {
    const rest = this.r.peek(MAX_WHITESPACE + 1);
    if (!isSpace(rest)) throw armorError('data after the END line');
    if (rest.length > MAX_WHITESPACE) throw armorError('too much white space after the END line');
    this.done = true;
  }

  private start(): void {
    let skipped = 0;
    for (;;) {
      const l = this.r.line(MAX_WHITESPACE + ARMOR_BEGIN.length + 2);
      if (l === undefined || l.length === 0) throw armorError('no BEGIN AGE ENCRYPTED FILE line');
      if (isSpace(l)) {
        skipped += l.length;
        if (skipped > MAX_WHITESPACE) throw armorError('too much white space before the BEGIN line');
        continue;
      }
      let s = l.toString('latin1');
      if (s.endsWith('\n')) s = s.slice(0, -1);
      if (s.endsWith('\r')) s = s.slice(0, -1);
      if (s !== ARMOR_BEGIN) throw armorError('the first line is not -----BEGIN AGE ENCRYPTED FILE-----');
      this.started = true;
      return;
    }
  }

  /** The next decoded line's bytes, or empty at the END line. */
  private next(): Buffer {
    if (this.done) return Buffer.alloc(0);
    if (!this.started) this.start();
    const s = this.line();
    if (s === ARMOR_END) {
      this.trailing();
      return Buffer.alloc(0);
    }
    if (s.length === 0) throw armorError('an empty line');
    if (s.length > COLUMNS) throw armorError('a line is longer than 64 columns');
    const b = decodeLine(s);
    if (b.length < BYTES_PER_LINE) {
      if (this.line() !== ARMOR_END) throw armorError('a short line that is not followed by the END line');
      this.trailing();
      if (b.length === 0) throw armorError('an empty line');
    }
    return b;
  }

  read(out: Buffer): number {
    let n = 0;
    while (n < out.length) {
      if (!this.pending.length) {
        this.pending = this.next();
        if (!this.pending.length) break;
      }
      const k = this.pending.copy(out, n);
      this.pending = this.pending.subarray(k);
      n += k;
    }
    return n;
  }
}

/**
 * Armor writer: feed it the binary file in order, `end()` at the end.
 * Emits text in 64-column lines (LF).
 */
export class ArmorEncoder {
  private carry: Buffer = Buffer.alloc(0);
  constructor(private readonly emit: (s: Buffer) => void | Promise<void>) {}

  async begin(): Promise<void> {
    await this.emit(Buffer.from(`${ARMOR_BEGIN}\n`));
  }

  async write(b: Buffer): Promise<void> {
    const all = this.carry.length ? Buffer.concat([this.carry, b]) : b;
    const whole = all.length - (all.length % BYTES_PER_LINE);
    if (whole) {
      const text = all.subarray(0, whole).toString('base64');
      let out = '';
      for (let i = 0; i < text.length; i += COLUMNS) out += `${text.slice(i, i + COLUMNS)}\n`;
      await this.emit(Buffer.from(out, 'latin1'));
    }
    this.carry = Buffer.from(all.subarray(whole));
  }

  async end(): Promise<void> {
    const tail = this.carry.length ? `${this.carry.toString('base64')}\n` : '';
    await this.emit(Buffer.from(`${tail}${ARMOR_END}\n`, 'latin1'));
  }
}
