import { readText } from './common/utf8.js';
import { parseJsonSpans } from './common/jsonSpans.js';
import * as envelope from './envelope/codec.js';
import { isFieldFormat } from './fields/documents.js';
import { isEnvFieldDocument } from './fields/envfields.js';
import { HEADER_MEMBER, fieldDocumentKind, notEncrypted } from './fields/fields.js';
import type { FieldPath } from './fields/paths.js';
import { isYamlFieldDocument } from './fields/yamlfields.js';
import * as jweCodec from './jwe/codec.js';
import type { DecryptFormat, DecryptedFormat } from '../ops/types.js';

export const JWE_JSON_MEMBERS = new Set(['protected', 'unprotected', 'header', 'encrypted_key', 'recipients', 'aad', 'iv', 'ciphertext', 'tag']);

/**
 * Which format an input is (docs/FORMAT.md §5), by structure, never by a
 * substring: five base64url parts are a compact JWE; a JSON object is a
 * field document if it has a root `"aesp"` header or holds token values, a
 * JWE if its members are JWE members with `ciphertext`, an envelope if its
 * members are envelope members with `nonce` and `data`; any other JSON is
 * "not an encrypted input" (exit 4); anything else is raw. The binary
 * stream is recognised by the CLI before the input is read whole.
 *
 * @example
 * ```ts
 * detectFormat('{"v":2,"alg":"A256GCM",…}', 'auto'); // 'json'
 * detectFormat('{"role":"admin"}', 'auto'); // throws: not an encrypted input
 * ```
 */
export function detectFormat(text: string, format: DecryptFormat | undefined, fields?: FieldPath[]): DecryptedFormat {
  if (format === 'env' || format === 'yaml') return format;
  const t0 = text.replace(/^\uFEFF/, '').trimStart();
  const notJson = t0[0] !== '{' && t0[0] !== '[';
  if (fields) return notJson && isEnvFieldDocument(text) ? 'env' : notJson && isYamlFieldDocument(text) ? 'yaml' : 'fields';
  if (format && format !== 'auto') return format;
  if (jweCodec.detect(text) === 'compact') return 'jwe';
  const t = text.replace(/^\uFEFF/, '').trimStart();
  if (t[0] !== '{' && t[0] !== '[') return isEnvFieldDocument(text) ? 'env' : isYamlFieldDocument(text) ? 'yaml' : 'raw';
  if (envelope.decodeFast(text)) return 'json';
  const root = parseJsonSpans(text, 'input');
  if (root.kind === 'object') {
    const names = root.entries.map((e) => e.key);
    const header = root.entries.find((e) => e.key === HEADER_MEMBER);
    if (header?.value.kind === 'string' && header.value.value.startsWith('aesp:')) return 'fields';
    if (names.includes('ciphertext') && names.every((n) => JWE_JSON_MEMBERS.has(n))) return 'jwe-json';
    // A numeric "v" says "envelope" (its decoder then names any problem);
    // otherwise every member must be an envelope member, nonce and data among them.
    const v = root.entries.find((e) => e.key === 'v');
    if (v?.value.kind === 'number') return 'json';
    if (names.includes('nonce') && names.includes('data') && names.every((n) => envelope.ENVELOPE_MEMBERS.has(n))) return 'json';
  }
  if (fieldDocumentKind(text)) return 'fields';
  throw notEncrypted();
}

/**
 * The kid an input names, read without a key and without authenticating
 * anything (for a key command's AES_PAYLOAD_KID, never for a decision);
 * undefined when it names none or cannot be read.
 *
 * @example
 * ```ts
 * inputKid('{"v":2,"alg":"A256GCM","kid":"3f1c…",…}'); // '3f1c…'
 * ```
 */
export function inputKid(input: string | Uint8Array): string | undefined {
  const text = asText(input);
  try {
    const format = detectFormat(text, 'auto');
    if (format === 'json') return envelope.decode(text).kid;
    if (format === 'jwe' || format === 'jwe-json') {
      const j = jweCodec.decode(text);
      const kid = j.recipients[0]?.header?.kid ?? j.unprotected?.kid ?? j.protectedHeader.kid;
      return typeof kid === 'string' ? kid : undefined;
    }
    if (isFieldFormat(format)) {
      const m = /aesp:2:doc:[a-z]+:([0-9a-f]{16}):/.exec(text);
      return m?.[1];
    }
  } catch {
    /* no kid to offer */
  }
  return undefined;
}

export function asText(input: string | Uint8Array): string {
  // Bytes are UTF-8 or refused: no U+FFFD in place of what another reader would read otherwise.
  return typeof input === 'string' ? input : readText(input);
}
