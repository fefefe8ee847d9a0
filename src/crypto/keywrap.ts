import { createCipheriv, createDecipheriv } from 'node:crypto';
import { AuthError } from '../errors.js';

/** RFC 3394 default initial value. */
const IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');

function cipherName(kek: Uint8Array): string {
  if (kek.length !== 16 && kek.length !== 24 && kek.length !== 32) {
    throw new RangeError(`AES key wrap needs a 16, 24 or 32-byte key, not ${kek.length}`);
  }
  return `id-aes${kek.length * 8}-wrap`;
}

/**
 * AES Key Wrap (RFC 3394), as JOSE's A128KW/A192KW/A256KW use it. The key to
 * wrap must be a multiple of 8 bytes and at least 16.
 *
 * @example
 * ```ts
 * const wrapped = aesKwWrap(kek, cek); // cek.length + 8 bytes
 * ```
 */
export function aesKwWrap(kek: Uint8Array, key: Uint8Array): Buffer {
  if (key.length < 16 || key.length % 8 !== 0) throw new RangeError('AES key wrap needs a key of 16 or more bytes, a multiple of 8');
  const c = createCipheriv(cipherName(kek), kek, IV);
  return Buffer.concat([c.update(key), c.final()]);
}

/**
 * Unwrap an RFC 3394 AES key wrap. Any failure (bad length or integrity
 * check) throws the one {@link AuthError}.
 *
 * @example
 * ```ts
 * const cek = aesKwUnwrap(kek, wrapped);
 * ```
 */
export function aesKwUnwrap(kek: Uint8Array, wrapped: Uint8Array): Buffer {
  const name = cipherName(kek);
  if (wrapped.length < 24 || wrapped.length % 8 !== 0) throw new AuthError();
  try {
    const d = createDecipheriv(name, kek, IV);
    return Buffer.concat([d.update(wrapped), d.final()]);
  } catch {
    throw new AuthError();
  }
}
