import { createCipheriv, createDecipheriv } from 'node:crypto';
import { AuthError } from '../errors.js';
import { finishOrAuthFail } from './finish.js';

export const CBC_IV_LEN = 16;

function cbcName(key: Uint8Array): string {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new RangeError(`AES-CBC key must be 16, 24 or 32 bytes, not ${key.length}`);
  }
  return `aes-${key.length * 8}-cbc`;
}

/**
 * AES-CBC with PKCS#7 padding. Unauthenticated: use it only where a peer
 * requires it.
 *
 * @example
 * ```ts
 * const ct = cbcEncrypt(key, randomBytes(16), Buffer.from('hi'));
 * ```
 */
export function cbcEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Buffer {
  const c = createCipheriv(cbcName(key), key, iv);
  return Buffer.concat([c.update(plaintext), c.final()]);
}

/**
 * Decrypt AES-CBC with PKCS#7 padding. A ciphertext that is not a whole,
 * non-empty number of blocks, or whose padding is wrong, throws
 * {@link AuthError}, the same error as every other authentication failure.
 *
 * @example
 * ```ts
 * const pt = cbcDecrypt(key, iv, ct);
 * ```
 */
export function cbcDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Buffer {
  const name = cbcName(key);
  if (iv.length !== CBC_IV_LEN || ciphertext.length === 0 || ciphertext.length % 16 !== 0) {
    throw new AuthError();
  }
  const d = createDecipheriv(name, key, iv);
  return finishOrAuthFail(d, d.update(ciphertext));
}
