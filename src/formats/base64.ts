import { FormatError } from '../errors.js';

const STD = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decode standard, padded base64 strictly: the alphabet, the padding and the
 * unused bits must all be canonical, so one ciphertext has one encoding.
 */
export function b64decodeStrict(text: string, what: string): Buffer {
  if (text.length % 4 !== 0 || !STD.test(text)) {
    throw new FormatError(`${what} is not valid base64`, 'ERR_BASE64');
  }
  const buf = Buffer.from(text, 'base64');
  if (buf.toString('base64') !== text) throw new FormatError(`${what} is not canonical base64`, 'ERR_BASE64');
  return buf;
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
