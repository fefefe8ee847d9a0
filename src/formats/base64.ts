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
