import type { Alg } from '../crypto/algs.js';
import { AesPayloadError } from '../errors.js';
import { asText, detectFormat } from '../formats/index.js';
import * as envelope from '../formats/envelope/codec.js';
import { toKeys, type KeyArg } from '../keys/model.js';
import { decryptAny } from './decrypt.js';
import type { DecryptOptions, DecryptedFormat, VerifyResult } from './types.js';

/**
 * Authenticate an input without returning its plaintext. Unauthenticated
 * `A*CBC` input fails with "unauthenticated algorithm". Never throws an
 * {@link AesPayloadError}: the result says what went wrong.
 *
 * @example
 * ```ts
 * import { verify } from 'aes-payload';
 * const r = verify(text, key); // { ok: true, alg: 'A256GCM', kid: '…', format: 'json' }
 * ```
 */
export function verify(input: string | Uint8Array, key: KeyArg, opts: DecryptOptions = {}): VerifyResult {
  let format: DecryptedFormat | undefined;
  try {
    const text = asText(input);
    format = detectFormat(text, opts.format, opts.fields);
    const r = decryptAny(text, toKeys(key), { ...opts, format }, true);
    r.plaintext.fill(0);
    return { ok: true, format: r.format, ...(r.alg ? { alg: r.alg } : {}), ...(r.kid !== undefined ? { kid: r.kid } : {}), ...(r.wrap ? { wrap: r.wrap } : {}) };
  } catch (e) {
    if (e instanceof AesPayloadError) return { ok: false, ...(format ? { format } : {}), ...claimed(input, format), error: e };
    throw e;
  }
}

/** For a failed envelope: the algorithm and kid it claims (unauthenticated, for the report). */
function claimed(input: string | Uint8Array, format: DecryptedFormat | undefined): { alg?: Alg; kid?: string } {
  if (format !== 'json') return {};
  try {
    const env = envelope.decode(asText(input));
    return { ...(env.alg ? { alg: env.alg } : {}), ...(env.kid !== undefined ? { kid: env.kid } : {}) };
  } catch {
    return {};
  }
}
