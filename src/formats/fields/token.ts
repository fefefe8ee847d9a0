import { specOf, type Sealed } from '../../crypto/aead.js';
import { isAlg, type Alg } from '../../crypto/algs.js';
import { FormatError, quote } from '../../errors.js';
import { b64urlDecodeStrict, b64urlEncode } from '../common/base64.js';

/**
 * Field tokens and the document header (docs/FORMAT.md §10). A token is one
 * JSON string that replaces an encrypted value:
 *
 *     aesp:2:<alg>:<kid>:<nonce>:<ciphertext>:<tag>
 *
 * with base64url (unpadded) byte fields. Version-1 tokens (`aesp:1:`, from
 * aes-payload 0.1) are read only on request. The header of a version-2
 * document is `aesp:2:doc:<mode>:<kid>:<id>:<mac>`.
 */
export const TOKEN_PREFIX = 'aesp:2:';
export const TOKEN_PREFIX_V1 = 'aesp:1:';
export const HEADER_PREFIX = 'aesp:2:doc:';
/** Every string that starts with this is treated as (meant to be) a token or header. */
export const RESERVED_PREFIX = 'aesp:';

export interface Token extends Sealed {
  version: 1 | 2;
  kid: string;
}

/** How much of the document its MAC covers: every value, or the encrypted ones only. */
export type MacMode = 'all' | 'enc';

export interface DocHeader {
  mode: MacMode;
  kid: string;
  /** 16 random bytes, base64url: binds every token to this document. */
  id: string;
  mac: Buffer;
}

const KID = /^[0-9a-f]{16}$/;
const DOC_ID = /^[A-Za-z0-9_-]{22}$/;

/** Whether a string is (meant to be) a token or a header: anything with the reserved prefix. */
export function reserved(s: string): boolean {
  return s.startsWith(RESERVED_PREFIX);
}

/** Whether a string is meant to be a document header (not a token). */
export function isHeaderText(s: string): boolean {
  return s.startsWith(HEADER_PREFIX);
}

/**
 * @example
 * ```ts
 * encode({ version: 2, alg: 'A256GCM', kid, nonce, ciphertext, tag }); // 'aesp:2:A256GCM:fb14…:…'
 * ```
 */
export function encode(t: Omit<Token, 'version'>): string {
  return `${TOKEN_PREFIX}${t.alg}:${t.kid}:${b64urlEncode(t.nonce)}:${b64urlEncode(t.ciphertext)}:${b64urlEncode(t.tag)}`;
}

/** Parse and check a token of version 1 or 2 (exit 4 when malformed). */
export function decode(s: string): Token {
  const parts = s.split(':');
  const version = s.startsWith(TOKEN_PREFIX) ? 2 : s.startsWith(TOKEN_PREFIX_V1) ? 1 : 0;
  if (!version || parts.length !== 7 || isHeaderText(s)) throw new FormatError('malformed field token', 'ERR_TOKEN');
  const [, , alg, kid, nonce, ct, tag] = parts as [string, string, string, string, string, string, string];
  if (!isAlg(alg) || !specOf(alg).authenticated) throw new FormatError(`field token has an unsupported algorithm ${quote(alg, 20)}`, 'ERR_TOKEN');
  if (!KID.test(kid)) throw new FormatError('field token has a malformed kid', 'ERR_TOKEN');
  const t: Token = {
    version,
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
 * The AAD that binds a token to its place. Version 2 binds the document id
 * and the location; version 1 bound the location only:
 *
 *     v2: aesp:2:<alg>:<kid>:<id>:<location as compact JSON>
 *     v1: aesp:1:<alg>:<kid>:<location as compact JSON>
 */
export function tokenAad(version: 1 | 2, alg: Alg, kid: string, docId: string | undefined, loc: readonly (string | number)[]): Buffer {
  const head = version === 2 ? `${TOKEN_PREFIX}${alg}:${kid}:${docId}:` : `${TOKEN_PREFIX_V1}${alg}:${kid}:`;
  return Buffer.from(head + JSON.stringify(loc), 'utf8');
}

/**
 * @example
 * ```ts
 * encodeHeader({ mode: 'all', kid, id, mac }); // 'aesp:2:doc:all:fb14…:…:…'
 * ```
 */
export function encodeHeader(h: DocHeader): string {
  return `${HEADER_PREFIX}${h.mode}:${h.kid}:${h.id}:${b64urlEncode(h.mac)}`;
}

/** Parse and check a document header (exit 4 when malformed). */
export function decodeHeader(s: string): DocHeader {
  const parts = s.split(':');
  if (!isHeaderText(s) || parts.length !== 7) throw new FormatError('malformed field document header', 'ERR_DOC_HEADER');
  const [, , , mode, kid, id, mac] = parts as [string, string, string, string, string, string, string];
  if (mode !== 'all' && mode !== 'enc') throw new FormatError(`field document header has an unknown mode ${quote(mode, 20)}`, 'ERR_DOC_HEADER');
  if (!KID.test(kid)) throw new FormatError('field document header has a malformed kid', 'ERR_DOC_HEADER');
  if (!DOC_ID.test(id) || b64urlDecodeStrict(id, 'field document id').length !== 16) throw new FormatError('field document header has a malformed id', 'ERR_DOC_HEADER');
  const m = b64urlDecodeStrict(mac, 'field document MAC');
  if (m.length !== 32) throw new FormatError('field document MAC has the wrong length', 'ERR_DOC_HEADER');
  return { mode, kid, id, mac: m };
}
