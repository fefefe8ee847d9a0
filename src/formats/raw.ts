import type { Sealed } from '../crypto/aead.js';
import { specOf } from '../crypto/aead.js';
import type { Alg } from '../crypto/algs.js';
import { FormatError } from '../errors.js';
import { b64decodeStrict, b64encode } from './base64.js';

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
 * Decode raw text for `alg`. White space anywhere (line wrapping) is ignored;
 * the base64 itself must be canonical.
 */
export function decode(text: string, alg: Alg): Sealed {
  const bytes = b64decodeStrict(text.replace(/[\s]+/g, ''), 'raw input');
  const spec = specOf(alg);
  const min = spec.nonceLen + spec.tagLen + (spec.kind === 'gcm' ? 0 : 16);
  if (bytes.length < min) {
    throw new FormatError(`raw input is ${bytes.length} bytes, too short for ${alg} (at least ${min})`, 'ERR_RAW');
  }
  return {
    alg,
    nonce: bytes.subarray(0, spec.nonceLen),
    ciphertext: bytes.subarray(spec.nonceLen, bytes.length - spec.tagLen),
    tag: bytes.subarray(bytes.length - spec.tagLen),
  };
}
