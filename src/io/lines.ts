import { AesPayloadError, FormatError } from '../errors.js';
import type { ByteReader } from './source.js';

/** Longest line accepted in line mode; longer lines fail alone. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface LineReport {
  lines: number;
  failed: number;
  /** Exit status of the first failure (0 if none). */
  firstExit: number;
}

/**
 * Run `fn` on every line of `src` (LF or CRLF), in order, in bounded memory:
 * input is read 64 KiB at a time, and output is handed to `write` in batches
 * of about 64 KiB (a synchronous write, which is the back-pressure). Empty
 * lines are copied through. A line whose `fn` throws an expected error is
 * reported through `onError` and skipped; with `failFast` processing stops
 * there.
 *
 * @example
 * ```ts
 * processLines(Source.open('-'), (line) => encrypt(line, key).text, writeStdout, (n, e) => ui.error(`line ${n}: ${e.message}`), false);
 * ```
 */
export function processLines(
  src: ByteReader,
  fn: (line: Buffer, n: number) => string,
  write: (chunk: string) => void,
  onError: (n: number, e: AesPayloadError) => void,
  failFast: boolean,
): LineReport {
  const buf = Buffer.allocUnsafe(64 * 1024);
  let carry: Buffer[] = [];
  let carryLen = 0;
  let skipping = false;
  let out = '';
  const rep: LineReport = { lines: 0, failed: 0, firstExit: 0 };
  let stop = false;
  const fail = (n: number, e: AesPayloadError) => {
    rep.failed++;
    if (!rep.firstExit) rep.firstExit = e.exitCode;
    onError(n, e);
    // A spent KDF budget fails every later line too: stop, as with failFast.
    if (failFast || e.code === 'ERR_KDF_BUDGET') stop = true;
  };
  const line = (bytes: Buffer) => {
    const n = ++rep.lines;
    if (skipping) {
      skipping = false;
      return fail(n, new FormatError(`longer than ${MAX_LINE_BYTES} bytes`, 'ERR_LINE_TOO_LONG'));
    }
    let end = bytes.length;
    if (end && bytes[end - 1] === 0x0d) end--;
    if (end === 0) {
      out += '\n';
    } else {
      try {
        out += `${fn(bytes.subarray(0, end), n)}\n`;
      } catch (e) {
        if (!(e instanceof AesPayloadError)) throw e;
        fail(n, e);
      }
    }
    if (out.length >= 65536) {
      write(out);
      out = '';
    }
  };
  for (;;) {
    const got = src.read(buf);
    let start = 0;
    for (let i = buf.indexOf(0x0a, 0); i !== -1 && i < got && !stop; i = buf.indexOf(0x0a, start)) {
      const piece = buf.subarray(start, i);
      if (carryLen) {
        carry.push(piece);
        line(Buffer.concat(carry, carryLen + piece.length));
        carry = [];
        carryLen = 0;
      } else {
        line(piece);
      }
      start = i + 1;
    }
    if (stop) break;
    if (start < got) {
      if (!skipping) {
        carry.push(Buffer.from(buf.subarray(start, got)));
        carryLen += got - start;
        if (carryLen > MAX_LINE_BYTES) {
          skipping = true;
          carry = [];
          carryLen = 0;
        }
      }
    }
    if (got < buf.length) break;
  }
  if (!stop && (carryLen || skipping)) line(Buffer.concat(carry, carryLen)); // last line without a newline
  if (out) write(out);
  return rep;
}
