import { createHmac, timingSafeEqual } from 'node:crypto';
import { AuthError } from '../errors.js';
import { cbcDecrypt, cbcEncrypt } from './cbc.js';

type Hash = 'sha256' | 'sha384' | 'sha512';

const HASH_FOR_KEY_LEN: Record<number, Hash> = { 32: 'sha256', 48: 'sha384', 64: 'sha512' };

function split(key: Uint8Array): { macKey: Buffer; encKey: Buffer; hash: Hash; tagLen: number } {
  const hash = HASH_FOR_KEY_LEN[key.length];
  if (!hash) throw new RangeError(`AES-CBC-HMAC key must be 32, 48 or 64 bytes, not ${key.length}`);
  const half = key.length / 2;
  const k = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return { macKey: k.subarray(0, half), encKey: k.subarray(half), hash, tagLen: half };
}

function computeTag(
  macKey: Uint8Array,
  hash: Hash,
  tagLen: number,
  aad: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
): Buffer {
  const al = Buffer.alloc(8);
  al.writeBigUInt64BE(BigInt(aad.length) * 8n);
  const h = createHmac(hash, macKey);
  h.update(aad);
  h.update(iv);
  h.update(ciphertext);
  h.update(al);
  return h.digest().subarray(0, tagLen);
}

/**
 * AES_CBC_HMAC_SHA2 encryption (RFC 7518 §5.2.2.1): `key` is MAC key ‖ ENC
 * key; returns the ciphertext E and the tag T.
 *
 * @example
 * ```ts
 * const { ciphertext, tag } = cbcHmacSeal(key32, randomBytes(16), pt, aad);
 * ```
 */
export function cbcHmacSeal(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = new Uint8Array(0),
): { ciphertext: Buffer; tag: Buffer } {
  const { macKey, encKey, hash, tagLen } = split(key);
  const ciphertext = cbcEncrypt(encKey, iv, plaintext);
  return { ciphertext, tag: computeTag(macKey, hash, tagLen, aad, iv, ciphertext) };
}

/**
 * AES_CBC_HMAC_SHA2 decryption (RFC 7518 §5.2.2.2). The tag is checked with
 * `timingSafeEqual` before any decryption; every failure, MAC or padding,
 * throws {@link AuthError}.
 *
 * @example
 * ```ts
 * const pt = cbcHmacOpen(key32, iv, ciphertext, tag, aad);
 * ```
 */
export function cbcHmacOpen(
  key: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array = new Uint8Array(0),
): Buffer {
  const { macKey, encKey, hash, tagLen } = split(key);
  const expected = computeTag(macKey, hash, tagLen, aad, iv, ciphertext);
  if (tag.length !== tagLen || !timingSafeEqual(expected, tag)) throw new AuthError();
  return cbcDecrypt(encKey, iv, ciphertext);
}
