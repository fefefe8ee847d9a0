import { FormatError } from '../../errors.js';

const STD = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decode standard, padded base64 strictly: the alphabet, the padding and the
 * unused bits must all be canonical, so one ciphertext has one encoding.
 */
export function b64decodeStrict(text: string, what: string): Buffer {
  if (text.length % 4 !== 0 || !STD.test(text)) {
    throw new FormatError(`${what} is not valid base64${whyNotBase64(text)}`, 'ERR_BASE64');
  }
  if (!canonicalTail(text)) throw new FormatError(`${what} is not canonical base64`, 'ERR_BASE64');
  return Buffer.from(text, 'base64');
}

/** Which rule of padded standard base64 a text breaks, when it is another common spelling (URL-safe, unpadded). */
function whyNotBase64(text: string): string {
  const t = text.replace(/=+$/, '');
  if (/^[A-Za-z0-9_-]*$/.test(t) && /[-_]/.test(t)) return ': it is URL-safe base64 (- and _), and this takes standard base64 (+ and /, padded with =)';
  if (/^[A-Za-z0-9+/]*$/.test(t) && text.length % 4 !== 0 && t.length % 4 !== 1) return `: ${text.length} characters, not a multiple of 4 (unpadded, or cut short?); standard base64 is padded with = to a multiple of 4`;
  return '';
}

/**
 * For padded base64 of the standard alphabet (already checked): the unused
 * bits of the last character before the padding must be zero, which is what
 * makes the encoding canonical (re-encoding gives the same text).
 */
function canonicalTail(text: string): boolean {
  if (text.endsWith('==')) return 'AQgw'.includes(text[text.length - 3]!);
  if (text.endsWith('=')) return 'AEIMQUYcgkosw048'.includes(text[text.length - 2]!);
  return true;
}

/** For the canonical envelope parser, whose regex has checked the alphabet and padding already. */
export function b64decodeChecked(text: string, what: string): Buffer {
  if (text.length % 4 !== 0 || !canonicalTail(text)) throw new FormatError(`${what} is not canonical base64`, 'ERR_BASE64');
  return Buffer.from(text, 'base64');
}

export function b64encode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

const URL = /^[A-Za-z0-9_-]*$/;

/**
 * Decode unpadded base64url (RFC 7515 §2) strictly: no padding, no other
 * alphabet, canonical unused bits.
 *
 * @example
 * ```ts
 * b64urlDecodeStrict('AQID', 'iv'); // <Buffer 01 02 03>
 * ```
 */
export function b64urlDecodeStrict(text: string, what: string): Buffer {
  if (!URL.test(text) || text.length % 4 === 1) throw new FormatError(`${what} is not valid base64url`, 'ERR_BASE64');
  const buf = Buffer.from(text, 'base64url');
  if (buf.toString('base64url') !== text) throw new FormatError(`${what} is not canonical base64url`, 'ERR_BASE64');
  return buf;
}

export function b64urlEncode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}
