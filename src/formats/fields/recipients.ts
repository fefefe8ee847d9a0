import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { AesPayloadError, AuthError, EXIT, FormatError, UsageError } from '../../errors.js';
import { b64urlDecodeStrict, b64urlEncode } from '../common/base64.js';
import { parseJsonSpans, type JsonNode } from '../common/jsonSpans.js';
import { parseHeader, serializeHeader, checkHeaderMac, type Stanza } from '../age/header.js';
import { formatRecipient, parseRecipient, type AgeIdentity, type AgeRecipient } from '../age/keys.js';
import { LineReader, bufferReader } from '../age/reader.js';
import { NoIdentityMatchedError, unwrapFileKey, wrapFileKey } from '../age/stanzas.js';
import type { KdfBudget } from '../../crypto/kdf.js';
import { parseEnv } from './dotenv.js';

/**
 * The recipients header of a field document (docs/FORMAT.md §17): the
 * document's key `K` is derived from a 16-byte age file key `F` that is
 * wrapped to each recipient as an age stanza; the header carries a real age
 * v1 header (stanzas and age's header MAC, which commits to `F` and to the
 * stanza list), the recipients' public keys, and a MAC under `F` over both.
 * The rest of the document is an ordinary field document (§10) under `K`.
 *
 *     aesp:2:rcpt:<recipients joined by "_">:<base64url(age header)>:<base64url(mac)>
 *
 * In JSON it is the root member `"aesp_recipients"`, in .env the line
 * `aesp_recipients=…`, in YAML the top-level key `aesp_recipients: …`.
 */
export const RECIPIENTS_MEMBER = 'aesp_recipients';
export const RECIPIENTS_PREFIX = 'aesp:2:rcpt:';
const DATA_KEY_INFO = 'aes-payload v2 recipients data key';
const HEADER_MAC_INFO = 'aes-payload v2 recipients mac';

export type DocSyntax = 'json' | 'env' | 'yaml';

export interface RecipientsHeader {
  /** The recipients as written (`age1…`, `age1pq1…`), in stanza order. */
  recipients: string[];
  stanzas: Stanza[];
  /** The age header bytes (with its MAC line), and their parsed form. */
  age: Buffer;
  mac: Buffer;
  /** The header text without `:<mac>`, what the MAC covers. */
  macInput: string;
}

/** K = HKDF-SHA-256(F, "", "aes-payload v2 recipients data key", 32). */
export function dataKeyOf(fileKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, Buffer.alloc(0), DATA_KEY_INFO, 32));
}

function headerMac(fileKey: Uint8Array, macInput: string): Buffer {
  const k = Buffer.from(hkdfSync('sha256', fileKey, Buffer.alloc(0), HEADER_MAC_INFO, 32));
  return createHmac('sha256', k).update(macInput, 'utf8').digest();
}

const refuse = (why: string) => new FormatError(`recipients header: ${why}`, 'ERR_RECIPIENTS_HEADER');

/** Recipients a document may have: X25519 and post-quantum keys; a passphrase is not a recipient of a document. */
export function checkDocumentRecipients(rs: readonly AgeRecipient[]): void {
  if (!rs.length) throw new UsageError('no recipient: give -r age1… or -R FILE');
  if (rs.some((r) => r.type === 'scrypt')) {
    throw new UsageError('a field document is not encrypted to an age passphrase; use the symmetric flags (--passphrase…) for that');
  }
  const seen = new Set<string>();
  for (const r of rs) {
    const s = formatRecipient(r);
    if (seen.has(s)) throw new UsageError(`recipient ${s.slice(0, 24)}… is given twice`);
    seen.add(s);
  }
}

/** A fresh header for a new file key `F` wrapped to `recipients`. */
export function makeHeader(fileKey: Uint8Array, recipients: readonly AgeRecipient[]): string {
  checkDocumentRecipients(recipients);
  const stanzas = wrapFileKey(fileKey, recipients);
  const age = serializeHeader(stanzas, fileKey);
  const macInput = `${RECIPIENTS_PREFIX}${recipients.map(formatRecipient).join('_')}:${b64urlEncode(age)}`;
  return `${macInput}:${b64urlEncode(headerMac(fileKey, macInput))}`;
}

/** A new file key and header: `{ fileKey, key: K, header }`. */
export function newRecipientsKey(recipients: readonly AgeRecipient[]): { fileKey: Buffer; key: Buffer; header: string } {
  const fileKey = randomBytes(16);
  return { fileKey, key: dataKeyOf(fileKey), header: makeHeader(fileKey, recipients) };
}

/** Parse a header strictly (no key needed). */
export function decodeHeader(text: string): RecipientsHeader {
  if (!text.startsWith(RECIPIENTS_PREFIX)) throw refuse('malformed');
  const parts = text.slice(RECIPIENTS_PREFIX.length).split(':');
  if (parts.length !== 3) throw refuse('malformed');
  const [list, ageText, macText] = parts as [string, string, string];
  const recipients = list.split('_');
  for (const r of recipients) {
    try {
      parseRecipient(r);
    } catch {
      throw refuse('the recipients list holds something that is not an age recipient');
    }
  }
  const age = b64urlDecodeStrict(ageText, 'the recipients header');
  const r = new LineReader(bufferReader(age));
  const h = parseHeader(r);
  if (r.peek(1).length) throw refuse('bytes after the age header');
  if (h.stanzas.some((s) => s.type === 'scrypt')) throw refuse('an scrypt (passphrase) stanza, which a field document does not take');
  if (h.stanzas.length !== recipients.length) throw refuse(`${recipients.length} recipients listed but ${h.stanzas.length} stanzas`);
  const mac = b64urlDecodeStrict(macText, 'the recipients header MAC');
  if (mac.length !== 32) throw refuse('the MAC is not 32 bytes');
  return { recipients, stanzas: h.stanzas, age, mac, macInput: `${RECIPIENTS_PREFIX}${list}:${ageText}` };
}

/**
 * Unwrap `F` with any one of `identities`, then check age's header MAC and
 * ours under it; returns `F` and `K`. No identity: exit 1 with the list.
 */
export function openHeader(h: RecipientsHeader, identities: readonly AgeIdentity[], budget?: KdfBudget): { fileKey: Buffer; key: Buffer } {
  let fileKey: Buffer;
  try {
    fileKey = unwrapFileKey(h.stanzas, identities.filter((i) => i.type !== 'scrypt'), budget);
  } catch (e) {
    if (e instanceof NoIdentityMatchedError) {
      const shown = h.recipients.slice(0, 3).map((r) => (r.length > 24 ? `${r.slice(0, 20)}…` : r));
      throw new AesPayloadError('ERR_NO_IDENTITY', EXIT.AUTH, `no identity given matches a recipient of this document (${h.recipients.length}: ${shown.join(', ')}${h.recipients.length > 3 ? ', …' : ''})`);
    }
    throw e;
  }
  const r = new LineReader(bufferReader(h.age));
  checkHeaderMac(parseHeader(r), fileKey);
  if (!timingSafeEqual(headerMac(fileKey, h.macInput), h.mac)) throw new AuthError(); // the same message as age's header MAC failing (SECURITY.md: one uniform error)
  return { fileKey, key: dataKeyOf(fileKey) };
}

/** Which syntax a text with a recipients header is in, or undefined when it has none. */
export function recipientsSyntax(text: string): DocSyntax | undefined {
  if (!text.includes(RECIPIENTS_PREFIX)) return undefined;
  if (/^\s*\{/.test(text)) return 'json';
  if (new RegExp(`^${RECIPIENTS_MEMBER}=`, 'm').test(text)) return 'env';
  if (new RegExp(`^${RECIPIENTS_MEMBER}:[ \\t]`, 'm').test(text)) return 'yaml';
  return undefined;
}

export interface Split {
  /** The document without its recipients header: an ordinary field document. */
  rest: string;
  header: string;
}


/**
 * Take the recipients header out of a document. The header must be where
 * aes-payload writes it (JSON: a root member; .env: a line of its own;
 * YAML: a top-level key, plain scalar), exactly once; a parse of the whole
 * document must agree. `yamlToJson` is the YAML reader (loaded lazily by the caller).
 */
export function splitHeader(text: string, syntax: DocSyntax, yamlToJson?: (t: string) => string, member = RECIPIENTS_MEMBER, prefix = RECIPIENTS_PREFIX): Split | undefined {
  const RECIPIENTS_MEMBER = member;
  const RECIPIENTS_PREFIX = prefix;
  const HEADER_VALUE = `(${prefix.replace(/:/g, ':')}[A-Za-z0-9_:.-]+)`;
  if (syntax === 'json') {
    const root = parseJsonSpans(text);
    if (root.kind !== 'object') return undefined;
    const es = root.entries;
    const i = es.findIndex((e) => e.key === RECIPIENTS_MEMBER);
    if (i < 0) return undefined;
    const v = es[i]!.value;
    if (v.kind !== 'string' || !v.value.startsWith(RECIPIENTS_PREFIX)) throw refuse(`the root member "${RECIPIENTS_MEMBER}" is not a recipients header`);
    let start: number;
    let end: number;
    if (es.length === 1) [start, end] = [es[0]!.keyStart, v.end];
    else if (i === es.length - 1) [start, end] = [es[i - 1]!.value.end, v.end];
    else [start, end] = [es[i]!.keyStart, es[i + 1]!.keyStart];
    // A middle member goes with its own comma, the last one with the comma before it.
    return { rest: text.slice(0, start) + text.slice(end), header: v.value };
  }
  if (!text.includes(prefix)) return undefined;
  const re = syntax === 'env' ? new RegExp(`^${RECIPIENTS_MEMBER}=${HEADER_VALUE}(\\n|$)`, 'gm') : new RegExp(`^${RECIPIENTS_MEMBER}: ${HEADER_VALUE}(\\n|$)`, 'gm');
  const hits = [...text.matchAll(re)];
  if (hits.length !== 1) throw refuse(hits.length ? 'more than one recipients header' : `the ${RECIPIENTS_MEMBER} line is not as aes-payload writes it`);
  const m = hits[0]!;
  const header = m[1]!;
  const rest = text.slice(0, m.index) + text.slice(m.index! + m[0].length);
  // The document's own reader must see exactly one such root key with that value.
  if (syntax === 'env') {
    const named = parseEnv(text).entries.filter((e) => e.name === RECIPIENTS_MEMBER);
    if (named.length !== 1 || named[0]!.value !== header) throw refuse(`the ${RECIPIENTS_MEMBER} line is not as aes-payload writes it`);
  } else {
    if (!yamlToJson) throw new Error('YAML reader not loaded');
    const root = JSON.parse(yamlToJson(text)) as Record<string, unknown>;
    if (root === null || typeof root !== 'object' || root[RECIPIENTS_MEMBER] !== header) throw refuse(`the ${RECIPIENTS_MEMBER} key is not a top-level key as aes-payload writes it`);
  }
  return { rest, header };
}

/** Put a recipients header into a document (that has none), as its last member or line. */
export function joinHeader(text: string, syntax: DocSyntax, header: string, member = RECIPIENTS_MEMBER): string {
  const RECIPIENTS_MEMBER = member;
  if (syntax === 'json') {
    const root = parseJsonSpans(text) as JsonNode;
    if (root.kind !== 'object') throw new FormatError('field encryption needs a JSON object at the top', 'ERR_NOT_OBJECT');
    const es = root.entries;
    if (es.some((e) => e.key === RECIPIENTS_MEMBER)) throw ownMember(member);
    const json = JSON.stringify(header);
    if (!es.length) return `${text.slice(0, root.start + 1)}"${RECIPIENTS_MEMBER}":${json}${text.slice(root.end - 1)}`;
    const last = es[es.length - 1]!;
    const sep = es.length >= 2 ? text.slice(es[es.length - 2]!.value.end, last.keyStart) : `,${text.slice(root.start + 1, es[0]!.keyStart)}`;
    const colon = text.slice(last.keyEnd, last.value.start);
    return `${text.slice(0, last.value.end)}${sep}"${RECIPIENTS_MEMBER}"${colon}${json}${text.slice(last.value.end)}`;
  }
  const line = syntax === 'env' ? `${RECIPIENTS_MEMBER}=${header}\n` : `${RECIPIENTS_MEMBER}: ${header}\n`;
  return `${text}${text.length && !text.endsWith('\n') ? '\n' : ''}${line}`;
}

/** A document whose own data has a member named aesp_recipients. */
export function ownMember(member = RECIPIENTS_MEMBER): FormatError {
  return new FormatError(`the document already has a "${member}" of its own, where recipient encryption puts its header; rename it first (nothing was written)`, 'ERR_HEADER_MEMBER');
}
