import { open, specOf } from '../../crypto/aead.js';
import type { Alg } from '../../crypto/algs.js';
import { AmbiguousKeyError, AuthError, FormatError } from '../../errors.js';
import { keyId } from '../../keys/kid.js';
import { otherNonceLength, split } from './codec.js';

/**
 * Open raw bytes (nonce/IV ‖ ciphertext ‖ tag, docs/FORMAT.md §4) with each
 * candidate key in turn. When none authenticates an AES-GCM input with the
 * nonce length expected, the other length (12 or 16) is tried too, only to
 * say so: such an input is refused (exit 4) with a message naming
 * `--nonce-bytes`, instead of blaming the key. No plaintext of that attempt
 * leaves this function. `what` names the input in that message.
 *
 * @example
 * ```ts
 * openRawBytes(bytes, 'A256GCM', 12, [key], undefined); // throws "… authenticates with a 16-byte AES-GCM nonce …" for pycryptodome's default
 * ```
 */
export function openRawBytes(
  bytes: Buffer,
  alg: Alg,
  nonceLen: number,
  candidates: readonly Uint8Array[],
  aad: Uint8Array | undefined,
  opts: { usedKey?: (k: Uint8Array) => void; authDetail?: string; what?: string } = {},
): Buffer {
  const sealed = split(bytes, alg, nonceLen);
  // Every candidate is tried: AES-GCM does not commit to its key, so an input
  // that two keys open is refused rather than read under the first
  // (SECURITY.md, "One key per ciphertext").
  const opened: { plaintext: Buffer; key: Uint8Array }[] = [];
  for (const key of candidates) {
    try {
      opened.push({ plaintext: open(sealed, key, aad), key });
    } catch (e) {
      if (!(e instanceof AuthError)) throw e;
    }
  }
  if (opened.length > 1) {
    for (const o of opened) o.plaintext.fill(0);
    throw new AmbiguousKeyError(opened.map((o) => keyId(o.key)), 'kids');
  }
  const one = opened[0];
  if (one) {
    opts.usedKey?.(one.key);
    return one.plaintext;
  }
  const spec = specOf(alg);
  if (spec.kind === 'gcm') {
    const other = otherNonceLength(nonceLen);
    if (bytes.length >= other + spec.tagLen) {
      const alt = split(bytes, alg, other);
      for (const key of candidates) {
        try {
          open(alt, key, aad).fill(0);
        } catch (e) {
          if (e instanceof AuthError) continue;
          throw e;
        }
        throw new FormatError(
          `${opts.what ?? 'raw input'} authenticates with a ${other}-byte AES-GCM nonce, not the ${nonceLen} bytes expected: pass --nonce-bytes ${other}${other === 16 ? " (pycryptodome's AES.MODE_GCM default)" : ''}`,
          'ERR_NONCE_LENGTH',
        );
      }
    }
  }
  throw new AuthError(opts.authDetail);
}
