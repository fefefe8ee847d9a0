/**
 * Field documents encrypted to age recipients (docs/FORMAT.md §17): a fresh
 * data key per document, wrapped to each recipient in the recipients header;
 * everything else is the ordinary field document under that key, so the
 * field operations (src/ops encrypt/decrypt/verify, the codecs' rotate and
 * reencrypt) run unchanged on the document without its recipients header.
 */
import { fieldCodec } from '../formats/fields/documents.js';
import type { AgeIdentity, AgeRecipient } from '../formats/age/keys.js';
import { parseRecipient } from '../formats/age/keys.js';
import {
  RECIPIENTS_MEMBER,
  RECIPIENTS_PREFIX,
  decodeHeader,
  joinHeader,
  makeHeader,
  newRecipientsKey,
  openHeader,
  ownMember,
  recipientsSyntax,
  splitHeader,
  type DocSyntax,
  type RecipientsHeader,
} from '../formats/fields/recipients.js';
import type { KdfBudget } from '../crypto/kdf.js';
import { encrypt } from './encrypt.js';
import type { EncryptOptions, EncryptResult } from './types.js';

export { recipientsSyntax, type DocSyntax } from '../formats/fields/recipients.js';

/** The YAML reader, when the caller has loaded it (yamlfields.ts `yamlToJson`). */
export type YamlReader = ((text: string) => string) | undefined;

/** A recipient document taken apart: the ordinary field document, its recipients header, and where it came from. */
export interface RecipientDoc {
  syntax: DocSyntax;
  rest: string;
  header: RecipientsHeader;
  headerText: string;
}

/** Take a recipient document apart without any key (structure only); undefined for a document without recipients. */
export function readRecipientDoc(text: string, yaml: YamlReader): RecipientDoc | undefined {
  const syntax = recipientsSyntax(text);
  if (!syntax) return undefined;
  const s = splitHeader(text, syntax, yaml);
  if (!s) return undefined;
  return { syntax, rest: s.rest, header: decodeHeader(s.header), headerText: s.header };
}

/** Open a recipient document with any one identity: the field document without its recipients header, and its key K. */
export function openRecipientDoc(text: string, identities: readonly AgeIdentity[], yaml: YamlReader, budget?: KdfBudget): RecipientDoc & { key: Buffer; fileKey: Buffer } {
  const d = readRecipientDoc(text, yaml);
  if (!d) throw new Error('not a recipient document');
  return { ...d, ...openHeader(d.header, identities, budget) };
}

/** Whether the document's own data has a member named like the recipients header. */
function refuseOwn(text: string, syntax: DocSyntax, yaml: YamlReader): void {
  if (!new RegExp(`${RECIPIENTS_MEMBER}`).test(text)) return;
  if (syntax === 'json') {
    const o = JSON.parse(text) as unknown;
    if (o && typeof o === 'object' && Object.hasOwn(o, RECIPIENTS_MEMBER)) throw ownMember();
  } else if (syntax === 'env') {
    if (new RegExp(`^(export )?${RECIPIENTS_MEMBER}=`, 'm').test(text)) throw ownMember();
  } else if (yaml) {
    const o = JSON.parse(yaml(text)) as unknown;
    if (o && typeof o === 'object' && Object.hasOwn(o, RECIPIENTS_MEMBER)) throw ownMember();
  }
}

/**
 * `encrypt --fields -r …` on a plaintext document (or one sealed under a
 * symmetric key is refused by the field code): a fresh data key, the values
 * sealed under it, the recipients header appended.
 */
export function encryptToRecipients(text: string, recipients: readonly AgeRecipient[], opts: EncryptOptions & { inputType: DocSyntax }, yaml: YamlReader): EncryptResult {
  refuseOwn(text, opts.inputType, yaml);
  const { fileKey, key, header } = newRecipientsKey(recipients);
  try {
    const r = encrypt(text, { secret: key }, opts);
    return { ...r, text: joinHeader(r.text, opts.inputType, header) };
  } finally {
    fileKey.fill(0);
    key.fill(0);
  }
}

/**
 * `encrypt --fields` on an existing recipient document by a holder of an
 * identity: the same data key, other tokens unchanged.
 */
export function encryptOpened(d: RecipientDoc & { key: Buffer }, opts: EncryptOptions): EncryptResult {
  const r = encrypt(d.rest, { secret: d.key }, { ...opts, inputType: d.syntax });
  return { ...r, text: joinHeader(r.text, d.syntax, d.headerText) };
}

/** Put an opened document's field text back together with its recipients header. */
export function rejoin(d: RecipientDoc, restText: string, headerText = d.headerText): string {
  return joinHeader(restText, d.syntax, headerText);
}

/** The recipients of a document, as written in its header (`age1…`). */
export function listRecipients(d: RecipientDoc): string[] {
  return [...d.header.recipients];
}

/**
 * `recipients add|remove` (sops updatekeys): the same data key wrapped to a
 * new list; no value changes. Needs the opened document.
 */
export function rewrap(d: RecipientDoc & { fileKey: Buffer }, recipients: readonly AgeRecipient[]): string {
  return rejoin(d, d.rest, makeHeader(d.fileKey, recipients));
}

/** The recipients listed in a header, parsed. */
export function parsedRecipients(d: RecipientDoc): AgeRecipient[] {
  return d.header.recipients.map(parseRecipient);
}

/**
 * `rotate` of a recipient document: a new data key (wrapped to
 * `recipients`, default the same list), every value re-encrypted.
 */
export function rotateRecipientDoc(d: RecipientDoc & { key: Buffer }, recipients?: readonly AgeRecipient[]): { text: string; rotated: number } {
  const next = newRecipientsKey(recipients ?? parsedRecipients(d));
  try {
    const r = fieldCodec(d.syntax).rotate(d.rest, d.key, { newKey: next.key });
    return { text: rejoin(d, r.text, next.header), rotated: r.rotated };
  } finally {
    next.fileKey.fill(0);
    next.key.fill(0);
  }
}

// ---- Pending values (FORMAT.md §17.5): written with public keys only, outside the document MAC.

import { PENDING_MEMBER, PENDING_PREFIX, checkPendingLimits, decodePending, docIdOf, encodePending, openPending, sealPending, type PendingEntry } from '../formats/fields/pending.js';
import { envValue, parseEnv } from '../formats/fields/dotenv.js';
import { parseJsonSpans } from '../formats/common/jsonSpans.js';
import { formatRecipient } from '../formats/age/keys.js';
import { AesPayloadError, EXIT, FormatError, UsageError } from '../errors.js';
import { NoIdentityMatchedError } from '../formats/age/stanzas.js';

/** Take the pending trailer out of a field document text (the part under the data key). */
export function splitPending(rest: string, syntax: DocSyntax, yaml: YamlReader): { rest: string; entries: PendingEntry[] } {
  const s = splitHeader(rest, syntax, yaml, PENDING_MEMBER, PENDING_PREFIX);
  if (!s) return { rest, entries: [] };
  if (!pendingIsLast(rest, syntax)) {
    throw new FormatError(
      `the ${PENDING_MEMBER} trailer must be the last ${syntax === 'json' ? 'member' : 'line'} of the document (just before or after ${RECIPIENTS_MEMBER}), where writers put it (docs/FORMAT.md §17.5); remove it with aes-payload recipients drop FILE NAMES`,
      'ERR_PENDING',
    );
  }
  return { rest: s.rest, entries: decodePending(s.header, syntax) };
}

/** Whether the pending trailer is the last member (JSON) or line (.env, YAML: only blank and comment lines after it) of a document without its recipients header. */
function pendingIsLast(rest: string, syntax: DocSyntax): boolean {
  if (syntax === 'json') {
    const root = parseJsonSpans(rest);
    return root.kind === 'object' && root.entries[root.entries.length - 1]?.key === PENDING_MEMBER;
  }
  const m = new RegExp(`^${PENDING_MEMBER}${syntax === 'env' ? '=' : ':'}[^\\n]*(\\n|$)`, 'm').exec(rest);
  return m !== null && rest.slice(m.index + m[0].length).split('\n').every((l) => /^[ \t]*(#.*)?\r?$/.test(l));
}

/**
 * The top-level names of a field document's body (structure only, no key;
 * not the `aesp` header): which pending values replace a value the
 * document MAC covers, and which are new.
 */
export function bodyNames(rest: string, syntax: DocSyntax, yaml: YamlReader): Set<string> {
  let names: string[] = [];
  if (syntax === 'env') names = parseEnv(rest).entries.map((e) => e.name);
  else if (syntax === 'json') {
    const root = parseJsonSpans(rest);
    if (root.kind === 'object') names = root.entries.map((e) => e.key);
  } else if (yaml) {
    const o = JSON.parse(yaml(rest)) as unknown;
    if (o && typeof o === 'object' && !Array.isArray(o)) names = Object.keys(o);
  }
  return new Set(names.filter((n) => n !== 'aesp'));
}

/** Open every pending value with the identities: `[name, value]`, later entries for a name win. */
export function openPendingValues(rest: string, entries: readonly PendingEntry[], identities: readonly AgeIdentity[], budget?: KdfBudget, syntax?: DocSyntax): [string, string][] {
  if (!entries.length) return [];
  const id = docIdOf(rest);
  const out = new Map<string, string>();
  for (const e of entries) {
    try {
      out.set(e.name, openPending(e, id, identities, budget, syntax));
    } catch (err) {
      if (!(err instanceof NoIdentityMatchedError)) throw err;
      throw new AesPayloadError('ERR_PENDING', EXIT.AUTH, `the pending value ${e.name} is not sealed to any identity given (pending values are written with public keys only: anyone could have written it); remove its entry from aesp_pending, or ask a recipient it is sealed to`);
    }
  }
  return [...out];
}

/** Put values at top-level names of a plaintext document (replacing, or appending), in its syntax. */
export function overlay(text: string, syntax: DocSyntax, values: readonly [string, string][]): string {
  let out = text;
  for (const [name, value] of values) {
    if (syntax === 'env') {
      const e = parseEnv(out).entries.filter((x) => x.name === name).pop();
      if (e) out = out.slice(0, e.start) + envValue(value, e.quote, `the value of ${name}`) + out.slice(e.end);
      else out = `${out}${out.length && !out.endsWith('\n') ? '\n' : ''}${name}=${envValue(value, '', `the value of ${name}`)}\n`;
    } else if (syntax === 'json') {
      const root = parseJsonSpans(out);
      if (root.kind !== 'object') throw new FormatError('not a JSON object', 'ERR_NOT_OBJECT');
      const e = root.entries.find((x) => x.key === name);
      out = e ? out.slice(0, e.value.start) + JSON.stringify(value) + out.slice(e.value.end) : joinHeader(out, 'json', value, name);
    } else {
      const re = new RegExp(`^(?:${name}|'${name}'|"${name}"):([ \\t].*)?$`, 'm'); // names are [A-Za-z_][A-Za-z0-9_-]*: no quoting within
      const m = re.exec(out);
      const line = `${name}: ${JSON.stringify(value)}`;
      if (m) {
        const after = out.slice(m.index + m[0].length + 1);
        if (/^[ \t]/.test(after)) throw new FormatError(`the YAML value of ${name} spans several lines; seal the pending value (recipients seal) to replace it`, 'ERR_PENDING');
        out = out.slice(0, m.index) + line + out.slice(m.index + m[0].length);
      } else out = `${out}${out.length && !out.endsWith('\n') ? '\n' : ''}${line}\n`;
    }
  }
  return out;
}

/** Check that `-r` names exactly the document's recipients (a writer with public keys only pins them). */
function sameRecipients(d: RecipientDoc, recipients: readonly AgeRecipient[]): void {
  const given = new Set(recipients.map(formatRecipient));
  const listed = new Set(d.header.recipients);
  if (given.size !== listed.size || [...given].some((r) => !listed.has(r))) {
    throw new UsageError(
      `-r/-R must name exactly the document's ${listed.size} recipient${listed.size === 1 ? '' : 's'} (aes-payload recipients list FILE): a writer without an identity cannot check the list in the file, so it seals only to recipients it was given`,
    );
  }
}

/**
 * Add or replace the value of a top-level name of a recipient document with
 * public keys only (the library side of `set`): the document body and every
 * token stay as they are; the value goes into the pending trailer, sealed to
 * `recipients`, which must be exactly the document's own.
 *
 * @example
 * ```ts
 * setPendingValue(text, 'API_TOKEN', 'tok', [parseRecipient('age1…')], yamlToJson);
 * ```
 */
export function setPendingValue(text: string, name: string, value: string, recipients: readonly AgeRecipient[], yaml: YamlReader): string {
  return addPendingValues(text, [[name, value]], recipients, yaml);
}

function addPendingValues(text: string, values: readonly [string, string][], recipients: readonly AgeRecipient[], yaml: YamlReader): string {
  const d = readRecipientDoc(text, yaml);
  if (!d) throw new UsageError('not a field document encrypted to age recipients');
  sameRecipients(d, recipients);
  const p = splitPending(d.rest, d.syntax, yaml);
  const body = p.rest;
  const id = docIdOf(body);
  const names = new Set(values.map(([n]) => n));
  const entries = [...p.entries.filter((e) => !names.has(e.name)), ...values.map(([n, v]) => sealPending(n, v, id, recipients, d.syntax))];
  checkPendingLimits(entries); // no document readers would refuse
  return rejoin(d, joinHeader(body, d.syntax, encodePending(entries), PENDING_MEMBER));
}

/**
 * What a writer without an identity appended after the recipients header
 * (the last line or member aesp-payload writes): the document itself, byte
 * for byte, and the appended text. Values are only ever taken from there, so
 * the body under the document MAC is never changed (FORMAT.md §17.5).
 */
function splitAppended(text: string, syntax: DocSyntax): { doc: string; appended: string } {
  if (syntax === 'json') {
    // The header is a plain string ([A-Za-z0-9_:-]); the strict parser would refuse a name the body has too.
    const hits = [...text.matchAll(new RegExp(`"${RECIPIENTS_MEMBER}"\\s*:\\s*"${RECIPIENTS_PREFIX}[A-Za-z0-9_:-]+"`, 'g'))];
    const last = hits[hits.length - 1];
    const close = text.lastIndexOf('}');
    if (!last || close < 0) return { doc: text, appended: '' };
    const hdrEnd = last.index! + last[0].length;
    const region = text.slice(hdrEnd, close);
    const comma = /^\s*,/.exec(region);
    if (!comma) return { doc: text, appended: '' };
    const inner = `{${region.slice(comma[0].length)}}`;
    const root = parseJsonSpans(inner, 'the members after the recipients header');
    if (root.kind !== 'object' || !root.entries.length) return { doc: text, appended: '' };
    const end = hdrEnd + comma[0].length + root.entries[root.entries.length - 1]!.value.end - 1;
    return { doc: text.slice(0, hdrEnd) + text.slice(end), appended: inner };
  }
  const re = syntax === 'env' ? new RegExp(`^${RECIPIENTS_MEMBER}=[^\\n]*(\\n|$)`, 'gm') : new RegExp(`^${RECIPIENTS_MEMBER}:[^\\n]*(\\n|$)`, 'gm');
  const hits = [...text.matchAll(re)];
  const last = hits[hits.length - 1];
  if (!last) return { doc: text, appended: '' };
  const cut = last.index! + last[0].length;
  const doc = text.slice(0, cut);
  return { doc: last[1] ? doc : `${doc}\n`, appended: text.slice(cut) };
}

const APPEND_HINT = (syntax: DocSyntax, n: string) =>
  syntax === 'json'
    ? `add "${n}": "value" as a new last member, after "${RECIPIENTS_MEMBER}", and change nothing else`
    : `append the line ${n}${syntax === 'env' ? '=' : ': '}value at the end of the file, after the ${RECIPIENTS_MEMBER} line, and change nothing else`;

/**
 * `encrypt --fields NAMES -r …` on an existing recipient document, without
 * an identity: the plaintext values the writer appended after the recipients
 * header become pending values; the document before them stays byte for
 * byte (so its MAC holds, and a value it already has stays under the MAC
 * until a pending value for that name is sealed).
 */
export function sealPendingFields(
  text: string,
  names: readonly string[],
  recipients: readonly AgeRecipient[],
  yaml: YamlReader,
  opts: { checkYaml?: (text: string, what: string) => void } = {},
): { text: string; sealed: number } {
  const syntax = recipientsSyntax(text);
  if (!syntax) throw new UsageError('not a field document encrypted to age recipients');
  const { doc, appended } = splitAppended(text, syntax);
  // YAML: the appended lines pass the checks the document's own text does (§13.1), as in the normal path.
  if (syntax === 'yaml' && appended.trim() && opts.checkYaml) opts.checkYaml(appended, 'the lines after the recipients header');
  const d = readRecipientDoc(doc, yaml);
  if (!d) throw new UsageError('not a field document encrypted to age recipients');
  const obj: Record<string, unknown> = !appended.trim()
    ? {}
    : syntax === 'env'
      ? Object.fromEntries(parseEnv(appended, 'the lines after the recipients header').entries.map((e) => [e.name, e.value]))
      : (JSON.parse(syntax === 'json' ? appended : yaml!(appended)) as Record<string, unknown>);
  const extra = Object.keys(obj).filter((k) => !names.includes(k));
  if (extra.length) throw new UsageError(`${extra[0]} is written after the recipients header but not named by --fields: a writer without an identity may only append the values it seals`);
  const values: [string, string][] = names.map((n) => {
    const v = obj[n];
    if (v === undefined) {
      throw new UsageError(
        `${n}: without an identity, the body of the document cannot change (its MAC needs the data key): to add or replace ${n}, ${APPEND_HINT(syntax, n)}; the value already in the document stays, and readers see the new one (as a pending value)`,
      );
    }
    if (typeof v !== 'string') throw new UsageError(`${n}: a writer without an identity adds string values at top-level names (it has ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`})`);
    return [n, v];
  });
  return { text: addPendingValues(doc, values, recipients, yaml), sealed: values.length };
}

/**
 * Remove the pending entries for `names` from a document, unopened (no
 * identity needed: the trailer is outside the document MAC, and anyone may
 * edit it; this only saves doing it by hand). Entries are matched by their
 * name field alone, so a malformed or refused entry can be dropped too.
 * Returns the new text and how many entries went.
 */
export function dropPendingValues(text: string, names: readonly string[], yaml: YamlReader): { text: string; dropped: number } {
  const d = readRecipientDoc(text, yaml);
  if (!d) throw new UsageError('not a field document encrypted to age recipients');
  const s = splitHeader(d.rest, d.syntax, yaml, PENDING_MEMBER, PENDING_PREFIX);
  if (!s) return { text, dropped: 0 };
  const parts = s.header.slice(PENDING_PREFIX.length).split('.');
  const nameOf = (part: string) => Buffer.from(part.split(':')[0] ?? '', 'base64url').toString('utf8');
  const keep = parts.filter((p) => !names.includes(nameOf(p)));
  const body = keep.length ? joinHeader(s.rest, d.syntax, PENDING_PREFIX + keep.join('.'), PENDING_MEMBER) : s.rest;
  return { text: rejoin(d, body), dropped: parts.length - keep.length };
}

/** The pending trailer of `entries` put back after a body (none: the body as it is). */
export function withPending(body: string, syntax: DocSyntax, entries: readonly PendingEntry[]): string {
  return entries.length ? joinHeader(body, syntax, encodePending(entries), PENDING_MEMBER) : body;
}

export { PENDING_MEMBER };
