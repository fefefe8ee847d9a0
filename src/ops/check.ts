/**
 * What `verify` looks at besides authenticating: the structure of an input
 * checked without a key (`--no-key`), field documents checked against
 * `--require`, and the facts its messages need.
 */
import { specOf } from '../crypto/aead.js';
import { FormatError } from '../errors.js';
import { b64decodeStrict } from '../formats/common/base64.js';
import * as envelope from '../formats/envelope/codec.js';
import { fieldCodec, type FieldFormat } from '../formats/fields/documents.js';
import type { FieldsCheck } from '../formats/fields/fields.js';
import type { FieldPath } from '../formats/fields/paths.js';
import * as jweCodec from '../formats/jwe/codec.js';
import { keyForKid, type Keys } from '../keys/model.js';
import type { DecryptedFormat, InputType } from './types.js';

export type { FieldsCheck };

/** Whether a text is base64 as raw input is (white space anywhere ignored). */
export function isBase64Text(text: string): boolean {
  try {
    b64decodeStrict(text.replace(/\s+/g, ''), 'raw input');
    return true;
  } catch {
    return false;
  }
}

/** Structure only (verify --no-key): the input parses as its format; nothing is decrypted. What its header claims, unauthenticated. */
export function structureOf(text: string, format: DecryptedFormat, allowLegacy: boolean): { format: DecryptedFormat; alg?: string | null; wrap?: string | null; kid?: string | null } {
  if (format === 'jwe' || format === 'jwe-json') {
    const jwe = jweCodec.decode(text);
    const h = jwe.protectedHeader;
    return { format, alg: typeof h.enc === 'string' ? h.enc : null, wrap: typeof h.alg === 'string' ? h.alg : null, kid: typeof h.kid === 'string' ? h.kid : null };
  }
  if (format === 'json') {
    const e = envelope.decode(text);
    if (e.version !== 2 && !envelope.isOrigin(e) && !allowLegacy) throw new FormatError(`this is a version-${e.version} envelope; pass --allow-legacy to check it`, 'ERR_LEGACY');
    if (e.alg && !specOf(e.alg).authenticated) throw new FormatError('unauthenticated algorithm', 'ERR_UNAUTHENTICATED');
    return { format, alg: e.alg ?? null, kid: e.kid ?? null };
  }
  b64decodeStrict(text.replace(/\s+/g, ''), 'raw input');
  return { format: 'raw' };
}

/** Whether an input is an envelope that carries its own key (encrypt --random-key), so it is not secret. */
export function carriesOwnKey(text: string, format: DecryptedFormat): boolean {
  try {
    return format === 'json' && Boolean(envelope.decode(text).key);
  } catch {
    return false; // not a readable envelope
  }
}

/** Check a field document: with keys, its MAC and every token; without, its structure; and the `require` paths. */
export function checkDocument(format: FieldFormat, text: string, keys: Keys | undefined, opts: { require?: FieldPath[]; what: string; allowLegacy: boolean }): FieldsCheck {
  return fieldCodec(format).check(text, keys ? keyForKid(keys) : undefined, opts);
}

/** `--require` on a document with nothing encrypted: the values the paths select (all in the clear), and the paths that select nothing. */
export function requireOnPlain(type: InputType, text: string, require: FieldPath[], what: string): { plaintext: string[]; missing: string[] } {
  return fieldCodec(type).requirePlain(text, require, what);
}
