import { KeyError } from '../errors.js';

/**
 * How key text is read (`--key-encoding`).
 *
 * @example
 * ```ts
 * KEY_ENCODINGS; // ['auto', 'hex', 'base64', 'utf8']
 * ```
 */
export const KEY_ENCODINGS = ['auto', 'hex', 'base64', 'utf8'] as const;
export type KeyEncoding = (typeof KEY_ENCODINGS)[number];

/** Byte lengths a symmetric key may have (AES-128/192/256, and CBC-HS 384/512). */
export const KEY_LENGTHS: readonly number[] = [16, 24, 32, 48, 64];

const HEX = /^[0-9a-fA-F]*$/;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Remove one trailing "\n" (or "\r\n"). */
export function stripOneNewline(b: Buffer): { bytes: Buffer; stripped: boolean } {
  let end = b.length;
  if (end > 0 && b[end - 1] === 0x0a) {
    end--;
    if (end > 0 && b[end - 1] === 0x0d) end--;
    return { bytes: b.subarray(0, end), stripped: true };
  }
  return { bytes: b, stripped: false };
}

function decodeHex(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 2 !== 0 || !HEX.test(text)) return undefined;
  return Buffer.from(text, 'hex');
}

/** Strict base64 or base64url, padded or not, canonical (no stray bits). */
export function decodeBase64Any(text: string): Buffer | undefined {
  if (text.length === 0) return undefined;
  const url = !B64.test(text);
  if (url && !B64URL.test(text)) return undefined;
  const unpadded = text.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return undefined;
  if (text.length !== unpadded.length && text.length % 4 !== 0) return undefined;
  const buf = Buffer.from(unpadded, url ? 'base64url' : 'base64');
  const again = buf.toString('base64url');
  const norm = url ? unpadded : unpadded.replace(/\+/g, '-').replace(/\//g, '_');
  return again === norm ? buf : undefined;
}

function hasOuterWhitespace(text: string): boolean {
  return text.length > 0 && (/^\s/.test(text) || /\s$/.test(text));
}

/**
 * Decode key text (from env, a file, an .ini value or a prompt) into key
 * bytes. One trailing newline is removed first.
 *
 * - `hex`: hex digits, either case.
 * - `base64`: standard or URL alphabet, padded or not.
 * - `utf8`: the bytes themselves (the seed's quirk of using a 32-character
 *   hex string as a 32-byte key).
 * - `auto`: hex when all hex digits of length 32, 48, 64, 96 or 128;
 *   otherwise base64/base64url decoding to 16, 24, 32, 48 or 64 bytes.
 *
 * The result must be 16, 24, 32, 48 or 64 bytes. Errors never quote the key.
 *
 * @example
 * ```ts
 * decodeKey(Buffer.from('00112233445566778899aabbccddeeff\n'), 'auto').length; // 16
 * ```
 */
export function decodeKey(raw: Buffer, encoding: KeyEncoding): Buffer {
  const { bytes } = stripOneNewline(raw);
  if (bytes.length === 0) throw new KeyError('the key is empty', 'ERR_KEY_EMPTY');
  let key: Buffer | undefined;
  if (encoding === 'utf8') {
    key = Buffer.from(bytes);
  } else {
    const text = bytes.toString('latin1');
    if (encoding === 'hex') key = decodeHex(text);
    else if (encoding === 'base64') key = decodeBase64Any(text);
    else {
      if (HEX.test(text) && [32, 48, 64, 96, 128].includes(text.length)) key = decodeHex(text);
      else {
        const b = decodeBase64Any(text);
        if (b && KEY_LENGTHS.includes(b.length)) key = b;
      }
    }
    if (!key) {
      const ws = hasOuterWhitespace(text) ? ' (it has leading or trailing white space)' : '';
      const what =
        encoding === 'auto'
          ? 'expected 32, 48, 64, 96 or 128 hex digits, or base64 of 16, 24, 32, 48 or 64 bytes; ' +
            'use --key-encoding utf8 to take the text itself as the key'
          : `it is not valid ${encoding}`;
      throw new KeyError(`cannot decode the key (${text.length} characters): ${what}${ws}`, 'ERR_KEY_DECODE');
    }
  }
  if (!KEY_LENGTHS.includes(key.length)) {
    throw new KeyError(
      `the key is ${key.length} bytes; a key must be 16, 24, 32, 48 or 64 bytes`,
      'ERR_KEY_LENGTH',
    );
  }
  return key;
}

/**
 * Encode key bytes for output.
 *
 * @example
 * ```ts
 * encodeKey(Buffer.from([0xab, 0xcd]), 'hex'); // 'abcd'
 * ```
 */
export function encodeKey(key: Uint8Array, encoding: 'hex' | 'base64' | 'base64url'): string {
  return Buffer.from(key).toString(encoding);
}
