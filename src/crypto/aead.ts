import { randomBytes } from 'node:crypto';
import { AuthError, FormatError, KeyError } from '../errors.js';
import { algSpec, type Alg, type AlgSpec } from './algs.js';
import { cbcDecrypt, cbcEncrypt } from './cbc.js';
import { cbcHmacOpen, cbcHmacSeal } from './cbcHmac.js';
import { GCM_MAX_NONCE_LEN, gcmOpen, gcmSeal } from './gcm.js';

/** One sealed message: what every wire format carries. */
export interface Sealed {
  alg: Alg;
  /** GCM nonce, or CBC IV. */
  nonce: Buffer;
  ciphertext: Buffer;
  /** Authentication tag; empty for plain CBC. */
  tag: Buffer;
}

// Random bytes for nonces and IVs, drawn from the CSPRNG 64 KiB at a time:
// one randomFillSync per message costs more than the encryption itself in
// line mode. Each nonce is a fresh, never reused slice.
let pool = Buffer.alloc(0);
let poolAt = 0;

/**
 * `n` fresh random bytes from node:crypto's CSPRNG (batched).
 *
 * @example
 * ```ts
 * const iv = freshRandom(12);
 * ```
 */
export function freshRandom(n: number): Buffer {
  if (n > 4096) return randomBytes(n);
  if (poolAt + n > pool.length) {
    pool = randomBytes(65536);
    poolAt = 0;
  }
  const out = pool.subarray(poolAt, poolAt + n);
  poolAt += n;
  return out;
}

/** The spec of a known algorithm (throws on an unknown name: a bug). */
export function specOf(alg: Alg): AlgSpec {
  const s = algSpec(alg);
  if (!s) throw new TypeError(`unknown algorithm ${alg}`);
  return s;
}

/**
 * Check that `key` has the length `alg` needs; otherwise throw a
 * {@link KeyError} that names both lengths.
 */
export function checkKeyLength(alg: Alg, key: Uint8Array): void {
  const need = specOf(alg).keyLen;
  if (key.length !== need) {
    throw new KeyError(`key is ${key.length} bytes but ${alg} needs ${need} bytes`, 'ERR_KEY_LENGTH');
  }
}

/**
 * Encrypt with a fresh random nonce or IV. `gcmNonceLen` changes the length
 * of a GCM nonce (12 by default; raw output for pycryptodome's defaults uses
 * 16); CBC IVs are always 16 bytes.
 *
 * @example
 * ```ts
 * const s = seal('A256GCM', key, Buffer.from('{"a":1}'));
 * ```
 */
export function seal(alg: Alg, key: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array, gcmNonceLen?: number): Sealed {
  checkKeyLength(alg, key);
  const spec = specOf(alg);
  const nonce = freshRandom(spec.kind === 'gcm' && gcmNonceLen !== undefined ? gcmNonceLen : spec.nonceLen);
  switch (spec.kind) {
    case 'gcm': {
      const { ciphertext, tag } = gcmSeal(key, nonce, plaintext, aad);
      return { alg, nonce, ciphertext, tag };
    }
    case 'cbc-hs': {
      const { ciphertext, tag } = cbcHmacSeal(key, nonce, plaintext, aad);
      return { alg, nonce, ciphertext, tag };
    }
    case 'cbc':
      return { alg, nonce, ciphertext: cbcEncrypt(key, nonce, plaintext), tag: Buffer.alloc(0) };
  }
}

/**
 * Decrypt and authenticate. Plaintext is returned only after the tag or MAC
 * has verified (for plain CBC, only after the padding checked). Every
 * failure throws the one {@link AuthError}.
 *
 * @example
 * ```ts
 * const pt = open(s, key);
 * ```
 */
export function open(sealed: Sealed, key: Uint8Array, aad?: Uint8Array): Buffer {
  checkKeyLength(sealed.alg, key);
  const spec = specOf(sealed.alg);
  switch (spec.kind) {
    case 'gcm':
      if (sealed.nonce.length < 1 || sealed.nonce.length > GCM_MAX_NONCE_LEN) {
        throw new FormatError(
          `a GCM nonce of ${sealed.nonce.length} bytes is not supported (1 to ${GCM_MAX_NONCE_LEN})`,
          'ERR_NONCE_LENGTH',
        );
      }
      return gcmOpen(key, sealed.nonce, sealed.ciphertext, sealed.tag, aad);
    case 'cbc-hs':
      if (sealed.nonce.length !== spec.nonceLen) throw new AuthError();
      return cbcHmacOpen(key, sealed.nonce, sealed.ciphertext, sealed.tag, aad);
    case 'cbc':
      return cbcDecrypt(key, sealed.nonce, sealed.ciphertext);
  }
}
