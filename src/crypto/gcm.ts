import { createCipheriv, createDecipheriv, createSecretKey, type CipherGCMTypes, type KeyObject } from 'node:crypto';
import { AuthError } from '../errors.js';
import { finishOrAuthFail } from './finish.js';

/** AES-GCM tag length written and required, in bytes. */
export const GCM_TAG_LEN = 16;

/** The longest GCM nonce node:crypto (OpenSSL) accepts, in bytes. */
export const GCM_MAX_NONCE_LEN = 128;

function gcmName(key: Uint8Array): CipherGCMTypes {
  switch (key.length) {
    case 16:
      return 'aes-128-gcm';
    case 24:
      return 'aes-192-gcm';
    case 32:
      return 'aes-256-gcm';
    default:
      throw new RangeError(`AES-GCM key must be 16, 24 or 32 bytes, not ${key.length}`);
  }
}

// Line mode seals one record after another under the same key. A KeyObject
// made once spares re-importing the raw key for every record (about 15% of
// the per-record cost). The cache holds one key, checked by content each time
// (callers may zero their key buffers), and keeps its own copy.
let cached: { raw: Buffer; obj: KeyObject } | undefined;
function keyObject(key: Uint8Array): KeyObject {
  if (!cached || !cached.raw.equals(key)) cached = { raw: Buffer.from(key), obj: createSecretKey(key) };
  return cached.obj;
}

/**
 * Seal `plaintext` with AES-GCM. The caller supplies a fresh random nonce.
 *
 * @example
 * ```ts
 * const { ciphertext, tag } = gcmSeal(key, randomBytes(12), Buffer.from('hi'));
 * ```
 */
export function gcmSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad?: Uint8Array,
): { ciphertext: Buffer; tag: Buffer } {
  const c = createCipheriv(gcmName(key), keyObject(key), nonce, { authTagLength: GCM_TAG_LEN });
  if (aad && aad.length > 0) c.setAAD(aad);
  const ciphertext = c.update(plaintext);
  c.final(); // GCM is a stream mode: final() emits no bytes, it computes the tag
  return { ciphertext, tag: c.getAuthTag() };
}

/**
 * Open an AES-GCM ciphertext. Returns the plaintext only after the tag has
 * verified; any failure throws {@link AuthError}.
 *
 * @example
 * ```ts
 * const plaintext = gcmOpen(key, nonce, ciphertext, tag);
 * ```
 */
export function gcmOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad?: Uint8Array,
): Buffer {
  if (nonce.length === 0 || tag.length !== GCM_TAG_LEN) throw new AuthError();
  let d;
  try {
    d = createDecipheriv(gcmName(key), keyObject(key), nonce, { authTagLength: GCM_TAG_LEN });
  } catch (e) {
    if (e instanceof RangeError) throw e;
    throw new AuthError();
  }
  d.setAuthTag(tag);
  if (aad && aad.length > 0) d.setAAD(aad);
  return finishOrAuthFail(d, d.update(ciphertext));
}
