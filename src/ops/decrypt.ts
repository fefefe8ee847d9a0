import { toKeys, type KeyArg, type Keys } from '../keys/model.js';
import { asText, detectFormat, formatOf } from '../formats/index.js';
import { checkNonceBytes } from '../formats/common/open.js';
import * as envelope from '../formats/envelope/codec.js';
import { openEnvelope } from '../formats/envelope/open.js';
import { decryptOrigin } from '../formats/fields/originDecrypt.js';
import type { DecryptOptions, DecryptResult } from './types.js';

/**
 * Decrypt a text input with keys already resolved: detect its format
 * (src/formats/index.ts), then let that format open it. `forVerify`: what
 * verify needs (unauthenticated algorithms fail instead of decrypting).
 */
export function decryptAny(text: string, keys: Keys, opts: DecryptOptions, forVerify: boolean): DecryptResult {
  if (opts.valueFormat === 'origin') return decryptOrigin(text, keys, opts);
  // The canonical keyed envelope (what line mode reads by the million) is parsed once.
  const fast = !opts.fields && opts.nonceBytes === undefined && (opts.format === undefined || opts.format === 'auto' || opts.format === 'json') ? envelope.decodeFast(text) : undefined;
  if (fast) {
    const o = openEnvelope(text, keys, opts, forVerify, fast);
    return { plaintext: o.plaintext, alg: o.alg, ...(o.kid !== undefined ? { kid: o.kid } : {}), format: 'json' };
  }
  const format = detectFormat(text, opts.format, opts.fields);
  if (format !== 'raw') checkNonceBytes(opts.nonceBytes, 'input', format);
  return formatOf(format).open(text, keys, opts, forVerify, format);
}

/**
 * Decrypt any input aes-payload reads: an envelope, raw base64, a JWE or a
 * field document, detected by structure. Plaintext is returned only after
 * it has authenticated; a wrong key or tampered input throws
 * {@link AuthError}, JSON that holds nothing encrypted a {@link FormatError}.
 *
 * @example
 * ```ts
 * import { decrypt } from 'aes-payload';
 * const { plaintext, alg, kid } = decrypt(text, key);
 * ```
 */
export function decrypt(input: string | Uint8Array, key: KeyArg, opts: DecryptOptions = {}): DecryptResult {
  return decryptAny(asText(input), toKeys(key), opts, false);
}
