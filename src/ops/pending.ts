/**
 * Pending values (docs/FORMAT.md §17.5): values a writer with public keys
 * only adds to a recipient document, sealed to its recipients in a trailer
 * outside the document MAC, and what a holder of an identity does with them.
 */
import type { KdfBudget } from '../crypto/kdf.js';
import { AesPayloadError, EXIT, FormatError, UsageError } from '../errors.js';
import { formatRecipient, type AgeIdentity, type AgeRecipient } from '../formats/age/keys.js';
import { NoIdentityMatchedError } from '../formats/age/stanzas.js';
import { parseJsonSpans } from '../formats/common/jsonSpans.js';
import { envValue, parseEnv } from '../formats/fields/dotenv.js';
import { checkYamlFieldText, yamlToJson } from '../formats/fields/yamlfields.js';
import { PENDING_MEMBER, PENDING_PREFIX, checkPendingLimits, decodePending, docIdOf, encodePending, openPending, sealPending, type PendingEntry } from '../formats/fields/pending.js';
import { RECIPIENTS_MEMBER, RECIPIENTS_PREFIX, joinHeader, recipientsSyntax, splitHeader, type DocSyntax } from '../formats/fields/recipients.js';
import { readRecipientDoc, rejoin, type RecipientDoc, type YamlReader } from './recipientDoc.js';

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
    let v: string;
    try {
      v = openPending(e, id, identities, budget, syntax);
    } catch (err) {
      if (!(err instanceof NoIdentityMatchedError)) throw err;
      throw new AesPayloadError('ERR_PENDING', EXIT.AUTH, `the pending value ${e.name} is not sealed to any identity given (pending values are written with public keys only: anyone could have written it); remove its entry from aesp_pending, or ask a recipient it is sealed to`);
    }
    // .env: a value every reader reads alike, as the document's own values (checked here too: verify and exec see it before decrypt would write it).
    if (syntax === 'env') envValue(v, '', `the pending value ${e.name}`);
    out.set(e.name, v);
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
  // .env: refused as set -i refuses it (exit 4), so that no reader is left with a value no .env text can hold.
  if (d.syntax === 'env') for (const [n, v] of values) envValue(v, '', `the value of ${n}`);
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
export function splitAppended(text: string, syntax: DocSyntax): { doc: string; appended: string } {
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

/** The top-level names a writer without an identity appended after the recipients header (FORMAT.md §17.5), in order. */
export function appendedNames(text: string, yaml: YamlReader): string[] {
  const syntax = recipientsSyntax(text);
  if (!syntax) return [];
  const { appended } = splitAppended(text, syntax);
  if (!appended.trim()) return [];
  if (syntax === 'env') return [...new Set(parseEnv(appended, 'the lines after the recipients header').entries.map((e) => e.name))];
  const o = JSON.parse(syntax === 'json' ? appended : yaml!(appended)) as unknown;
  return o && typeof o === 'object' && !Array.isArray(o) ? Object.keys(o) : [];
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

/**
 * The plaintext of a document with its pending values set (decrypt), read
 * again as §13.1 asks of every YAML output: it must read alike in YAML 1.1
 * and 1.2 and hold each pending value at its name, or nothing is released.
 */
export function overlayPending(plain: string, d: { syntax: DocSyntax; pending: [string, string][] }, what: string): string {
  const out = overlay(plain, d.syntax, d.pending);
  if (d.syntax !== 'yaml') return out;
  checkYamlFieldText(out, what);
  const o = JSON.parse(yamlToJson(out, what)) as Record<string, unknown>;
  if (d.pending.some(([n, v]) => o[n] !== v)) throw new FormatError(`${what}: the YAML document cannot be written so that YAML 1.1 and 1.2 readers read it alike`, 'ERR_YAML_PORTABLE');
  return out;
}
