import { specOf, type Sealed } from '../crypto/aead.js';
import { isAlg, type Alg } from '../crypto/algs.js';
import { FormatError } from '../errors.js';
import { b64urlDecodeStrict, b64urlEncode } from './base64.js';

/**
 * Field tokens (docs/FORMAT.md §10): one JSON string that replaces an
 * encrypted value, `aesp:1:<alg>:<kid>:<nonce>:<ciphertext>:<tag>` with
 * base64url (unpadded) byte fields.
 */
export const TOKEN_PREFIX = 'aesp:1:';

export interface Token extends Sealed {
  kid: string;
}

/** Whether a string is (meant to be) a token. */
export function detect(s: string): boolean {
  return s.startsWith(TOKEN_PREFIX);
}

/**
 * @example
 * ```ts
 * encode({ alg: 'A256GCM', kid, nonce, ciphertext, tag }); // 'aesp:1:A256GCM:fb14…:…'
 * ```
 */
export function encode(t: Token): string {
  return `${TOKEN_PREFIX}${t.alg}:${t.kid}:${b64urlEncode(t.nonce)}:${b64urlEncode(t.ciphertext)}:${b64urlEncode(t.tag)}`;
}

/** Parse and check a token (exit 4 when malformed). */
export function decode(s: string): Token {
  const parts = s.split(':');
  if (parts.length !== 7 || `${parts[0]}:${parts[1]}:` !== TOKEN_PREFIX) throw new FormatError('malformed field token', 'ERR_TOKEN');
  const [, , alg, kid, nonce, ct, tag] = parts as [string, string, string, string, string, string, string];
  if (!isAlg(alg) || !specOf(alg).authenticated) throw new FormatError(`field token has an unsupported algorithm "${alg.slice(0, 20)}"`, 'ERR_TOKEN');
  if (!/^[0-9a-f]{16}$/.test(kid)) throw new FormatError('field token has a malformed kid', 'ERR_TOKEN');
  const t: Token = {
    alg,
    kid,
    nonce: b64urlDecodeStrict(nonce, 'field token nonce'),
    ciphertext: b64urlDecodeStrict(ct, 'field token ciphertext'),
    tag: b64urlDecodeStrict(tag, 'field token tag'),
  };
  const spec = specOf(alg);
  if (t.nonce.length !== spec.nonceLen || t.tag.length !== spec.tagLen) throw new FormatError('field token nonce or tag has the wrong length', 'ERR_TOKEN');
  return t;
}

/**
 * The AAD that binds a token to its place: the token's header and the JSON
 * array of the value's location, e.g. `aesp:1:A256GCM:<kid>:["users",0,"ssn"]`.
 */
export function tokenAad(alg: Alg, kid: string, loc: readonly (string | number)[]): Buffer {
  return Buffer.from(`${TOKEN_PREFIX}${alg}:${kid}:${JSON.stringify(loc)}`, 'utf8');
}
