import type { Sealed } from '../../crypto/aead.js';
import { specOf } from '../../crypto/aead.js';
import type { Alg } from '../../crypto/algs.js';
import { FormatError } from '../../errors.js';
import { b64decodeStrict, b64encode } from '../common/base64.js';

/**
 * Raw format (docs/FORMAT.md, "Raw"): one line of standard base64 of
 * nonce/IV ‖ ciphertext ‖ tag (no tag for plain CBC). It carries no
 * algorithm: the reader must know it.
 *
 * @example
 * ```ts
 * encode(seal('A256CBC', key, pt)); // base64(iv + ct), the origin's layout
 * ```
 */
export function encode(s: Sealed): string {
  return b64encode(Buffer.concat([s.nonce, s.ciphertext, s.tag]));
}

/** Raw is the fallback: anything that is not a JSON object. */
export function detect(text: string): boolean {
  return !/^[\s\uFEFF]*\{/.test(text);
}

/**
 * The GCM nonce lengths raw input and output take (`--nonce-bytes`): 12, the
 * default and what NIST recommends, and 16, what pycryptodome's
 * `AES.new(key, AES.MODE_GCM)` draws when no nonce is given.
 */
export const RAW_GCM_NONCE_LENGTHS = [12, 16] as const;
export type RawNonceLength = (typeof RAW_GCM_NONCE_LENGTHS)[number];

/** The other GCM nonce length than `n` (for the hint when raw input fails). */
export function otherNonceLength(n: number): RawNonceLength {
  return n === 16 ? 12 : 16;
}

/**
 * Decode raw text for `alg`. White space anywhere (line wrapping) is ignored;
 * the base64 itself must be canonical. `nonceLen` is the GCM nonce length
 * (default 12); CBC and CBC-HS always have a 16-byte IV.
 */
export function decode(text: string, alg: Alg, nonceLen?: number): Sealed {
  return split(b64decodeStrict(text.replace(/[\s]+/g, ''), 'raw input'), alg, nonceLen);
}

/** Split raw bytes into nonce/IV, ciphertext and tag for `alg` (FORMAT.md §4). */
export function split(bytes: Buffer, alg: Alg, nonceLen?: number): Sealed {
  const spec = specOf(alg);
  const n = spec.kind === 'gcm' && nonceLen !== undefined ? nonceLen : spec.nonceLen;
  const min = n + spec.tagLen + (spec.kind === 'gcm' ? 0 : 16);
  if (bytes.length < min) {
    const other = otherNonceLength(n);
    const hint = spec.kind === 'gcm' && bytes.length >= other + spec.tagLen ? `; it would parse with a ${other}-byte nonce (--nonce-bytes ${other})` : '';
    throw new FormatError(`raw input is ${bytes.length} bytes, too short for ${alg}${spec.kind === 'gcm' ? ` with a ${n}-byte nonce` : ''} (at least ${min})${hint}`, 'ERR_RAW');
  }
  return {
    alg,
    nonce: bytes.subarray(0, n),
    ciphertext: bytes.subarray(n, bytes.length - spec.tagLen),
    tag: bytes.subarray(bytes.length - spec.tagLen),
  };
}
