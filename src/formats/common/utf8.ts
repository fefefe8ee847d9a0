import { isUtf8 } from 'node:buffer';
import { FormatError } from '../../errors.js';

/**
 * Decode text input strictly as UTF-8. Invalid bytes are refused (exit 4),
 * naming the line and byte, never decoded as U+FFFD: a reader such as
 * python-dotenv, PyYAML or Python's json would refuse the same bytes, or
 * (sh) read them raw, so a document holding them cannot read alike
 * everywhere.
 *
 * @example
 * ```ts
 * readText(Buffer.from([0x61, 0xff]), 'input'); // throws: input: not valid UTF-8 (line 1, byte 2)
 * ```
 */
export function readText(bytes: Uint8Array, what = 'input'): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buf)) return buf.toString('utf8');
  const again = Buffer.from(buf.toString('utf8'), 'utf8');
  let i = 0;
  while (i < buf.length && i < again.length && buf[i] === again[i]) i++;
  let line = 1;
  for (let k = 0; k < i; k++) if (buf[k] === 0x0a) line++;
  throw new FormatError(`${what}: not valid UTF-8 (line ${line}, byte ${i + 1}); text inputs must be UTF-8`, 'ERR_UTF8');
}
