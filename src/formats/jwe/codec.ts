import { FormatError, quote } from '../../errors.js';
import { b64urlDecodeStrict, b64urlEncode } from '../common/base64.js';
import { parseJson } from '../common/jsonSpans.js';

/** Most recipients a general JWE may list (each may cost an RSA or PBES2 operation). */
export const MAX_RECIPIENTS = 16;

/** JOSE header parameters: a plain JSON object. */
export type Header = Record<string, unknown>;

export interface JweRecipient {
  /** Per-recipient unprotected header (JSON serializations only). */
  header?: Header;
  encryptedKey: Buffer;
}

/** A parsed JWE in any serialization (RFC 7516 §7). */
export interface Jwe {
  serialization: 'compact' | 'flattened' | 'general';
  /** The protected header exactly as it appeared (base64url): it is part of the AAD. */
  protectedB64: string;
  protectedHeader: Header;
  /** Shared unprotected header (JSON serializations only). */
  unprotected?: Header;
  recipients: JweRecipient[];
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
  /** The JSON serialization's `aad` member, as it appeared (base64url). */
  aadB64?: string;
}

const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

/**
 * Which JWE serialization a text is, if any: five dot-separated base64url
 * parts are compact; a JSON object with `ciphertext` is the JSON form.
 *
 * @example
 * ```ts
 * detect('eyJhbGciOi….….….….…'); // 'compact'
 * ```
 */
export function detect(text: string): 'compact' | 'json' | undefined {
  const t = text.trim();
  if (COMPACT.test(t)) return 'compact';
  if (/^\{/.test(t.replace(/^\uFEFF/, '')) && /"ciphertext"\s*:/.test(t)) return 'json'; // a hint only: detectFormat decides by structure
  return undefined;
}

function parseHeaderB64(b64: string): Header {
  const bytes = b64urlDecodeStrict(b64, 'JWE protected header');
  const h = parseJson(bytes.toString('utf8'), 'JWE protected header');
  if (h === null || typeof h !== 'object' || Array.isArray(h)) throw new FormatError('JWE protected header is not a JSON object', 'ERR_JWE');
  return h as Header;
}

function objectMember(o: Record<string, unknown>, name: string): Header | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FormatError(`JWE "${name}" is not a JSON object`, 'ERR_JWE');
  return v as Header;
}

function b64Member(o: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const v = o[name];
  if (v === undefined) {
    if (required) throw new FormatError(`JWE has no "${name}" member`, 'ERR_JWE');
    return undefined;
  }
  if (typeof v !== 'string') throw new FormatError(`JWE "${name}" is not a string`, 'ERR_JWE');
  b64urlDecodeStrict(v, `JWE "${name}"`);
  return v;
}

const JSON_MEMBERS = new Set(['protected', 'unprotected', 'header', 'encrypted_key', 'recipients', 'aad', 'iv', 'ciphertext', 'tag']);

/**
 * Parse a compact or JSON (flattened or general) JWE. Structure only: no
 * algorithm is checked here.
 *
 * @example
 * ```ts
 * const jwe = decode(text); // { serialization: 'compact', protectedHeader: { alg: 'dir', enc: 'A256GCM' }, … }
 * ```
 */
export function decode(text: string): Jwe {
  const t = text.trim();
  if (COMPACT.test(t)) {
    const [p, ek, iv, ct, tag] = t.split('.') as [string, string, string, string, string];
    return {
      serialization: 'compact',
      protectedB64: p,
      protectedHeader: parseHeaderB64(p),
      recipients: [{ encryptedKey: b64urlDecodeStrict(ek, 'JWE encrypted key') }],
      iv: b64urlDecodeStrict(iv, 'JWE iv'),
      ciphertext: b64urlDecodeStrict(ct, 'JWE ciphertext'),
      tag: b64urlDecodeStrict(tag, 'JWE tag'),
    };
  }
  const o = parseJson(t, 'input') as Record<string, unknown>;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new FormatError('JWE is not a JSON object', 'ERR_JWE');
  for (const k of Object.keys(o)) {
    if (!JSON_MEMBERS.has(k)) throw new FormatError(`JWE has an unknown member ${quote(k)}`, 'ERR_JWE');
  }
  const protectedB64 = b64Member(o, 'protected', false) ?? '';
  const jwe: Jwe = {
    serialization: o.recipients !== undefined ? 'general' : 'flattened',
    protectedB64,
    protectedHeader: protectedB64 ? parseHeaderB64(protectedB64) : {},
    recipients: [],
    iv: b64urlDecodeStrict(b64Member(o, 'iv', true)!, 'JWE "iv"'),
    ciphertext: b64urlDecodeStrict(b64Member(o, 'ciphertext', true)!, 'JWE "ciphertext"'),
    tag: b64urlDecodeStrict(b64Member(o, 'tag', true)!, 'JWE "tag"'),
  };
  const unprotected = objectMember(o, 'unprotected');
  if (unprotected) jwe.unprotected = unprotected;
  const aad = b64Member(o, 'aad', false);
  if (aad !== undefined) jwe.aadB64 = aad;
  const recipient = (r: Record<string, unknown>): JweRecipient => {
    const ek = b64Member(r, 'encrypted_key', false);
    const rec: JweRecipient = { encryptedKey: ek ? b64urlDecodeStrict(ek, 'JWE "encrypted_key"') : Buffer.alloc(0) };
    const header = objectMember(r, 'header');
    if (header) rec.header = header;
    return rec;
  };
  if (jwe.serialization === 'general') {
    if (o.header !== undefined || o.encrypted_key !== undefined) {
      throw new FormatError('JWE mixes "recipients" with a flattened "header" or "encrypted_key"', 'ERR_JWE');
    }
    if (!Array.isArray(o.recipients) || o.recipients.length === 0) throw new FormatError('JWE "recipients" must be a non-empty array', 'ERR_JWE');
    if (o.recipients.length > MAX_RECIPIENTS) throw new FormatError(`JWE has ${o.recipients.length} recipients, more than the ${MAX_RECIPIENTS} aes-payload tries`, 'ERR_JWE');
    for (const r of o.recipients) {
      if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new FormatError('JWE recipient is not a JSON object', 'ERR_JWE');
      for (const k of Object.keys(r)) {
        if (k !== 'header' && k !== 'encrypted_key') throw new FormatError(`JWE recipient has an unknown member ${quote(k)}`, 'ERR_JWE');
      }
      jwe.recipients.push(recipient(r as Record<string, unknown>));
    }
  } else {
    jwe.recipients.push(recipient(o));
  }
  return jwe;
}

/**
 * Encode a JWE in the compact serialization (one line, no newline), the
 * flattened JSON serialization, or (several recipients) the general one.
 *
 * @example
 * ```ts
 * encode({ serialization: 'compact', protectedB64, recipients: [{ encryptedKey }], iv, ciphertext, tag, protectedHeader });
 * ```
 */
export function encode(jwe: Jwe): string {
  if (jwe.serialization === 'general') {
    const o: Record<string, unknown> = { protected: jwe.protectedB64 };
    if (jwe.unprotected) o.unprotected = jwe.unprotected;
    o.recipients = jwe.recipients.map((r) => ({ ...(r.header ? { header: r.header } : {}), ...(r.encryptedKey.length ? { encrypted_key: b64urlEncode(r.encryptedKey) } : {}) }));
    if (jwe.aadB64 !== undefined) o.aad = jwe.aadB64;
    o.iv = b64urlEncode(jwe.iv);
    o.ciphertext = b64urlEncode(jwe.ciphertext);
    o.tag = b64urlEncode(jwe.tag);
    return JSON.stringify(o);
  }
  const r = jwe.recipients[0]!;
  if (jwe.serialization === 'compact') {
    return [jwe.protectedB64, b64urlEncode(r.encryptedKey), b64urlEncode(jwe.iv), b64urlEncode(jwe.ciphertext), b64urlEncode(jwe.tag)].join('.');
  }
  const o: Record<string, unknown> = { protected: jwe.protectedB64 };
  if (jwe.unprotected) o.unprotected = jwe.unprotected;
  if (r.header) o.header = r.header;
  if (r.encryptedKey.length) o.encrypted_key = b64urlEncode(r.encryptedKey);
  if (jwe.aadB64 !== undefined) o.aad = jwe.aadB64;
  o.iv = b64urlEncode(jwe.iv);
  o.ciphertext = b64urlEncode(jwe.ciphertext);
  o.tag = b64urlEncode(jwe.tag);
  return JSON.stringify(o);
}

/** The content's AAD (RFC 7516 §5.1 step 14): ASCII(BASE64URL(protected header)), with `.` and the `aad` member after it when there is one. */
export function contentAad(protectedB64: string, aadB64: string | undefined): Buffer {
  return Buffer.from(aadB64 === undefined ? protectedB64 : `${protectedB64}.${aadB64}`, 'ascii');
}
