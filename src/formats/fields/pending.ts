import { randomBytes } from 'node:crypto';
import { open, seal } from '../../crypto/aead.js';
import { subkey } from '../../crypto/derive.js';
import { FormatError, UsageError } from '../../errors.js';
import type { KdfBudget } from '../../crypto/kdf.js';
import { b64urlDecodeStrict, b64urlEncode } from '../common/base64.js';
import { checkHeaderMac, parseHeader, serializeHeader } from '../age/header.js';
import type { AgeIdentity, AgeRecipient } from '../age/keys.js';
import { LineReader, bufferReader } from '../age/reader.js';
import { unwrapFileKey, wrapFileKey } from '../age/stanzas.js';
import { dataKeyOf } from './recipients.js';
import { YAML_FORBIDDEN, plainKeepsString } from './yamlPortable.js';
import { isUtf8 } from 'node:buffer';

/**
 * Pending values of a recipient document (docs/FORMAT.md §17.5): values a
 * writer with public keys only added. Each is sealed under its own fresh
 * age file key wrapped to the recipients, and kept in the trailer member
 * `aesp_pending`, outside the document MAC (the writer does not have the
 * data key). Anyone with the public keys can write one: readers say so.
 *
 *     aesp:2:pend:<entry>[.<entry>…]
 *     entry = b64url(name) ":" b64url(age header) ":" b64url(nonce) ":" b64url(ciphertext) ":" b64url(tag)
 */
export const PENDING_MEMBER = 'aesp_pending';
export const PENDING_PREFIX = 'aesp:2:pend:';

export interface PendingEntry {
  name: string;
  age: Buffer;
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,254}$/;

/**
 * What a reader takes in a pending trailer (docs/FORMAT.md §11, §17.5):
 * every identity is tried on every stanza of every entry, so the entries
 * and their stanzas in all are capped, and checked before any key is tried.
 * 1,000 stanzas is one age header's own cap: a document costs at most twice
 * the unwrapping work of its recipients header.
 */
export const PENDING_LIMITS = { entries: 100, stanzas: 1000 } as const;

/**
 * Why `name` cannot be the name of a pending value in a document of that
 * syntax, or undefined: the rules of the document's own names (FORMAT.md
 * §17.5.1). Not a reserved name (`aesp…`: the headers and trailer); in .env
 * a portable variable name (no `-`); in YAML a plain key every reader takes
 * for that string (not `on`, `true`, `null`, `yes`, `1e3`…).
 */
export function pendingNameProblem(name: string, syntax?: 'json' | 'env' | 'yaml'): string | undefined {
  if (!NAME.test(name)) return 'a pending value goes at a top-level name of letters, digits, _ and - (not starting with a digit or -)';
  if (/^aesp/i.test(name)) return `${name} is reserved for aes-payload's own headers`;
  if (syntax === 'env' && name.includes('-')) return `${name} is not a portable .env name (letters, digits and _; sh would run it as a command)`;
  if (syntax === 'yaml' && !plainKeepsString(name)) {
    return /^[yYnN]$/.test(name)
      ? `${name} is not read as a string key by every YAML reader (YAML 1.1's type repository, and go-yaml v2 with it, take y and n for booleans; PyYAML does not)`
      : `${name} is not read as a string key by every YAML reader (PyYAML takes it for a boolean, number or null)`;
  }
  return undefined;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** In a YAML document, what no value may hold (§13.1), a byte order mark anywhere included (the value is written inside the document). */
const YAML_VALUE_FORBIDDEN = new RegExp(`${YAML_FORBIDDEN.source}|\ufeff`);

/**
 * Why `value` cannot be the value of a pending value in a document of that
 * syntax, or undefined: the checks of the document's own values (§13.1 for
 * YAML: what YAML 1.1 and 1.2 readers do not read alike), and text UTF-8
 * can carry (no lone surrogate).
 */
export function pendingValueProblem(value: string, syntax?: 'json' | 'env' | 'yaml'): { why: string; code: string } | undefined {
  if (LONE_SURROGATE.test(value)) return { why: 'holds a lone UTF-16 surrogate, which UTF-8 cannot carry', code: 'ERR_UTF8' };
  const bad = syntax === 'yaml' ? YAML_VALUE_FORBIDDEN.exec(value) : null;
  if (bad) {
    const c = bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return { why: `holds the character U+${c}, which YAML 1.1 readers (PyYAML) take for a line break or refuse, so no YAML text reads alike in YAML 1.1 and 1.2`, code: 'ERR_YAML_PORTABLE' };
  }
  return undefined;
}

const aad = (docId: string, e: { name: string; age: Buffer }) => Buffer.from(`${PENDING_PREFIX}${docId}:${b64urlEncode(Buffer.from(e.name, 'utf8'))}:${b64urlEncode(e.age)}`, 'utf8');
const keyOf = (fileKey: Uint8Array) => subkey(dataKeyOf(fileKey), 'token', 32);

/** Seal one value (a string) for the top-level `name` of the document with id `docId`, to `recipients`. */
export function sealPending(name: string, value: string, docId: string, recipients: readonly AgeRecipient[], syntax?: 'json' | 'env' | 'yaml'): PendingEntry {
  const problem = pendingNameProblem(name, syntax);
  if (problem) throw new UsageError(`${problem}: ${JSON.stringify(name.slice(0, 40))} cannot take a pending value`);
  const bad = pendingValueProblem(value, syntax);
  if (bad) throw new FormatError(`the value of ${name} ${bad.why}: refused (nothing was written)`, bad.code);
  const fk = randomBytes(16);
  try {
    const age = serializeHeader(wrapFileKey(fk, recipients), fk);
    const s = seal('A256GCM', keyOf(fk), Buffer.from(value, 'utf8'), aad(docId, { name, age }));
    return { name, age, nonce: s.nonce, ciphertext: s.ciphertext, tag: s.tag };
  } finally {
    fk.fill(0);
  }
}

export function encodePending(entries: readonly PendingEntry[]): string {
  return PENDING_PREFIX + entries.map((e) => [Buffer.from(e.name, 'utf8'), e.age, e.nonce, e.ciphertext, e.tag].map(b64urlEncode).join(':')).join('.');
}

export function decodePending(text: string, syntax?: 'json' | 'env' | 'yaml'): PendingEntry[] {
  if (!text.startsWith(PENDING_PREFIX)) throw new FormatError('malformed pending values', 'ERR_PENDING');
  const parts = text.slice(PENDING_PREFIX.length).split('.');
  if (parts.length > PENDING_LIMITS.entries) throw tooManyEntries(parts.length); // before any entry is decoded
  const entries = parts.map((part) => {
    const f = part.split(':');
    if (f.length !== 5) throw new FormatError('malformed pending value', 'ERR_PENDING');
    const [name, age, nonce, ct, tag] = f.map((x) => b64urlDecodeStrict(x, 'a pending value')) as [Buffer, Buffer, Buffer, Buffer, Buffer];
    const n = name.toString('utf8');
    const problem = pendingNameProblem(n, syntax);
    if (problem) throw new FormatError(`a pending value is refused: ${NAME.test(n) ? problem : 'its name is malformed'}`, 'ERR_PENDING');
    if (nonce.length !== 12 || tag.length !== 16) throw new FormatError('a pending value has a nonce or tag of the wrong length', 'ERR_PENDING');
    return { name: n, age, nonce, ciphertext: ct, tag };
  });
  checkPendingLimits(entries);
  return entries;
}

/** Refuse (exit 4) pending entries beyond {@link PENDING_LIMITS}, by their count and their stanzas in all: before any key is tried, and before a writer adds one too many. */
export function checkPendingLimits(entries: readonly PendingEntry[]): void {
  if (entries.length > PENDING_LIMITS.entries) throw tooManyEntries(entries.length);
  let stanzas = 0;
  for (const e of entries) stanzas += parseHeader(new LineReader(bufferReader(e.age))).stanzas.length;
  if (stanzas > PENDING_LIMITS.stanzas) {
    throw new FormatError(`the pending values' age headers hold ${stanzas} stanzas; at most ${PENDING_LIMITS.stanzas} in all are read (docs/FORMAT.md §11), and nothing was tried: ${DROP_HINT}`, 'ERR_PENDING');
  }
}

const DROP_HINT = 'remove some with aes-payload recipients drop FILE NAMES (no identity needed)';
const tooManyEntries = (n: number) =>
  new FormatError(`the pending trailer holds ${n} pending values; at most ${PENDING_LIMITS.entries} are read (docs/FORMAT.md §11), and nothing was tried: ${DROP_HINT}`, 'ERR_PENDING');

/**
 * Open one pending value with any one identity; authenticated (under its own
 * key, not the document's), then checked as the document's own values are:
 * UTF-8 (never decoded as U+FFFD), and in YAML what every reader reads alike.
 */
export function openPending(e: PendingEntry, docId: string, identities: readonly AgeIdentity[], budget?: KdfBudget, syntax?: 'json' | 'env' | 'yaml'): string {
  const r = new LineReader(bufferReader(e.age));
  const h = parseHeader(r);
  if (r.peek(1).length) throw new FormatError('a pending value has bytes after its age header', 'ERR_PENDING');
  if (h.stanzas.some((s) => s.type === 'scrypt')) throw new FormatError('a pending value has an scrypt stanza', 'ERR_PENDING');
  const fk = unwrapFileKey(h.stanzas, identities.filter((i) => i.type !== 'scrypt'), budget);
  try {
    checkHeaderMac(h, fk);
    const pt = open({ alg: 'A256GCM', nonce: e.nonce, ciphertext: e.ciphertext, tag: e.tag }, keyOf(fk), aad(docId, e));
    try {
      if (!isUtf8(pt)) throw new FormatError(`the pending value ${e.name} is not valid UTF-8: refused (text values must be UTF-8)`, 'ERR_UTF8');
      const value = pt.toString('utf8');
      const bad = pendingValueProblem(value, syntax);
      if (bad) throw new FormatError(`the pending value ${e.name} ${bad.why}: refused`, bad.code);
      return value;
    } finally {
      pt.fill(0);
    }
  } finally {
    fk.fill(0);
  }
}

/** The document id of a field document text (its `aesp:2:doc:` header), which pending values bind. */
export function docIdOf(text: string): string {
  const m = /aesp:2:doc:(?:all|enc):[0-9a-f]{16}:([A-Za-z0-9_-]{22}):/.exec(text);
  if (!m) throw new FormatError('the document has no field document header', 'ERR_DOC_HEADER');
  return m[1]!;
}
