/**
 * The git drivers on field documents encrypted to age recipients
 * (docs/FORMAT.md §17): opening with the identities a driver has, the
 * three-way merge, and the clean filter. No prompts, no flags: the CLI side
 * (src/cli/gitRecipients.ts) finds the identities.
 */
import { KeyError, UsageError } from '../errors.js';
import { loadYaml, yamlToJson } from '../formats/fields/yamlfields.js';
import { parseRecipient, type AgeIdentity, type AgeRecipient } from '../formats/age/keys.js';
import { fieldCodec, type FieldFormat } from '../formats/fields/documents.js';
import { makeHeader } from '../formats/fields/recipients.js';
import type { FieldPath } from '../formats/fields/paths.js';
import { keyId } from '../keys/kid.js';
import { encryptToRecipients, openPendingValues, openRecipientDoc, readRecipientDoc, recipientsSyntax, rejoin, rotateRecipientDoc, splitPending, type RecipientDoc, type YamlReader } from '../ops/recipients.js';
import { rulePaths } from '../rules/fields.js';
import type { Match } from '../rules/rules.js';
import { encryptedKind, plaintextOf, typeOfKind } from './docs.js';
import { knownBlob } from './filter.js';
import { CONFLICT_PREFIX, mergeFields, type MergeOutcome } from './merge.js';

/** The YAML reader (loaded now) when `need`, else undefined. */
export async function yamlReader(need: boolean): Promise<YamlReader> {
  if (!need) return undefined;
  await loadYaml();
  return (t) => yamlToJson(t);
}

export type Opened = RecipientDoc & { key: Buffer; fileKey: Buffer; pending: [string, string][]; pendingNames: string[] };

/** The message when a driver has no identity for a recipient document. */
export function noIdentity(): KeyError {
  return new KeyError('this document is encrypted to age recipients and no identity was found: set AES_PAYLOAD_IDENTITY (identity lines) or AES_PAYLOAD_IDENTITY_FILE (a path); git drivers never prompt', 'ERR_NO_IDENTITY');
}

/** Open a recipient document with the identities; pending values opened too (undefined for another text). */
export function openWith(text: string, ids: readonly AgeIdentity[], yaml: YamlReader): Opened | undefined {
  if (!recipientsSyntax(text)) return undefined;
  const d0 = readRecipientDoc(text, yaml);
  if (!d0) return undefined;
  if (!ids.length) throw noIdentity();
  const p = splitPending(d0.rest, d0.syntax, yaml);
  const d = openRecipientDoc(text, ids, yaml);
  return { ...d, rest: p.rest, pending: openPendingValues(p.rest, p.entries, ids), pendingNames: [...new Set(p.entries.map((e) => e.name))] };
}

/** Pending values stop a driver that would write the document (they are outside its MAC: folding them in needs a review). */
function noPending(d: Opened, which: string): void {
  if (d.pendingNames.length) {
    throw new UsageError(`${which} has pending values (${d.pendingNames.slice(0, 5).join(', ')}) written with public keys only; review them and run aes-payload recipients seal first`);
  }
}

/**
 * The merged recipients list. Equal lists stay. Otherwise, against the
 * base's list: recipients removed on either side stay out; a recipient
 * added is taken only when one side alone changed the list, only by adding,
 * under the base's own data key (a `recipients add`, which needs an
 * identity: the key is rewrapped, not replaced). Any other addition is
 * refused: a side whose data key is new may be a document written anew
 * with public keys only, and a side that added while the other removed
 * could bring a removed party back (recipients change only with
 * `recipients add|remove`). Without a base list that an identity opened,
 * different lists are not guessed at. Every list here was authenticated
 * under its file key.
 */
export function mergeRecipientLists(
  ours: readonly string[],
  theirs: readonly string[],
  base: readonly string[] | undefined,
  baseKey: { ours: boolean; theirs: boolean } = { ours: false, theirs: false },
): string[] {
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));
  if (same(ours, theirs)) return [...ours];
  if (!base) throw new UsageError('the two sides have different recipients and the base version could not be opened to tell which side changed them; merge by hand (aes-payload edit, recipients add|remove)');
  const added = { ours: ours.filter((r) => !base.includes(r)), theirs: theirs.filter((r) => !base.includes(r)) };
  const removed = new Set([...base.filter((r) => !ours.includes(r)), ...base.filter((r) => !theirs.includes(r))]);
  for (const side of ['ours', 'theirs'] as const) {
    if (!added[side].length) continue;
    const other = side === 'ours' ? theirs : ours;
    const alone = same(other, base) && !removed.size && baseKey[side];
    if (!alone) {
      const who = added[side].map((r) => `${r.slice(0, 16)}…`).join(', ');
      throw new UsageError(
        `${side} adds recipient${added[side].length === 1 ? '' : 's'} ${who} ${baseKey[side] ? 'while the other side changed the recipients too' : 'under a new data key (a document written anew: anyone with the public keys can do that)'}; a merge never adds recipients on its own: take one side, then run aes-payload recipients add -i … for those you trust`,
      );
    }
  }
  const out = [...ours, ...theirs.filter((r) => !ours.includes(r))].filter((r) => !removed.has(r));
  if (!out.length) throw new UsageError('the merged document would have no recipient');
  return out;
}

/**
 * Three-way merge of recipient documents over their decrypted values, as
 * mergeFields does for symmetric ones. The same data key on both sides:
 * ours' key and tokens are kept, the header rewrapped only when the
 * recipients changed. Different data keys (a rotate or a remove on one
 * side): the merged document gets a new data key, every value re-encrypted,
 * so that no party removed on either side can read it with an old header.
 */
export function mergeRecipientDocs(
  kind: FieldFormat,
  base: string | undefined,
  ours: string,
  theirs: string,
  ids: readonly AgeIdentity[],
  yaml: YamlReader,
  extraPaths?: (plain: string) => FieldPath[],
  baseEncrypted = false,
): MergeOutcome & { rekeyed: boolean } {
  const o = openWith(ours, ids, yaml);
  const t = openWith(theirs, ids, yaml);
  if (!o || !t) throw new UsageError('one side is encrypted to age recipients and the other is not');
  noPending(o, 'ours');
  noPending(t, 'theirs');
  let b: Opened | undefined;
  let baseText: string | undefined;
  let basePlain = false;
  // A base under a symmetric key (the document was converted on both sides) is merged as no base.
  if (base !== undefined && base.trim() !== '' && (recipientsSyntax(base) || !baseEncrypted)) {
    if (recipientsSyntax(base)) {
      try {
        b = openWith(base, ids, yaml);
        if (b && !b.pendingNames.length) baseText = b.rest;
      } catch {
        b = undefined; // not a recipient then, or damaged: merged as if both sides added the file
      }
    } else {
      baseText = base;
      basePlain = true;
    }
  }
  const keys = new Map<string, Buffer>([o.key, t.key, ...(b ? [b.key] : [])].map((k) => [keyId(k), k]));
  const keyFor = (kid: string) => {
    const k = keys.get(kid);
    if (!k) throw new KeyError(`no data key for kid ${kid} on either side`, 'ERR_KID_MISMATCH');
    return k;
  };
  const m = mergeFields(kind, baseText, o.rest, t.rest, keyFor, extraPaths, !basePlain);
  const list = mergeRecipientLists(o.header.recipients, t.header.recipients, b?.header.recipients, { ours: Boolean(b && b.key.equals(o.key)), theirs: Boolean(b && b.key.equals(t.key)) });
  if (o.key.equals(t.key)) {
    const changed = list.length !== o.header.recipients.length || list.some((r, i) => r !== o.header.recipients[i]);
    const header = changed ? makeHeader(o.fileKey, list.map(parseRecipient)) : o.headerText;
    const text = m.text === o.rest && !changed ? ours : rejoin(o, m.text, header);
    return { ...m, text, rekeyed: false };
  }
  const r = rotateRecipientDoc({ ...o, rest: m.text }, list.map(parseRecipient));
  return { ...m, text: r.text, rekeyed: true };
}

/** textconv and smudge: the plaintext of a recipient document (pending values stop smudge, which would fold them in on the next clean). */
export function recipientPlaintext(kind: FieldFormat, d: Opened): string {
  return plaintextOf(kind, d.rest, d.key);
}

/**
 * The clean filter for documents encrypted to age recipients, or undefined
 * when it does not apply (the symmetric clean runs). Input that is a
 * recipient document already passes (checked: every value the rules select
 * is a token); plaintext whose git version is a recipient document is
 * sealed under that document's data key, to its recipients (unchanged
 * plaintext: the very blob); a new file goes to `newRecipients()`.
 */
export async function cleanRecipients(
  plain: string,
  path: string,
  match: Match | undefined,
  ids: () => AgeIdentity[],
  newRecipients: () => AgeRecipient[] | undefined,
): Promise<string | undefined> {
  if (recipientsSyntax(plain)) {
    const yaml = await yamlReader(recipientsSyntax(plain) === 'yaml');
    const d0 = readRecipientDoc(plain, yaml);
    if (!d0) return undefined;
    const body = splitPending(d0.rest, d0.syntax, yaml).rest;
    const require = match ? rulePaths(match.rule, body, d0.syntax) : [];
    const c = fieldCodec(d0.syntax).check(body, undefined, { require, what: path });
    if (c.plaintext.length) throw new UsageError(`${path}: looks encrypted, but ${c.plaintext.slice(0, 3).join(', ')} ${c.plaintext.length === 1 ? 'is' : 'are'} in the clear where the rules say encrypted; refusing to store it`);
    return plain;
  }
  if (plain.includes(CONFLICT_PREFIX) && plain.includes(' >>>>>>> ')) return undefined; // the symmetric clean refuses it
  const old = knownBlob(path);
  if (old !== undefined && recipientsSyntax(old)) {
    const kind = await encryptedKind(old);
    if (!kind) return undefined;
    const yaml = await yamlReader(recipientsSyntax(old) === 'yaml');
    const o = openWith(old, ids(), yaml)!;
    noPending(o, `${path} in git`);
    if (plaintextOf(kind, o.rest, o.key, path) === plain) return old;
    const paths = match ? rulePaths(match.rule, plain, typeOfKind(kind)) : [];
    return rejoin(o, fieldCodec(kind).reencrypt(o.rest, plain, o.key, { paths, what: path }).text);
  }
  if (old !== undefined && (await encryptedKind(old))) return undefined; // a symmetric document keeps its key
  if (!match) return undefined;
  const rs = newRecipients();
  if (!rs) return undefined;
  const type = match.rule.type ?? (/\.ya?ml$/i.test(path) ? 'yaml' : /(^|\/)\.env|\.env$/.test(path) ? 'env' : 'json');
  const yaml = await yamlReader(type === 'yaml');
  return encryptToRecipients(plain, rs, { fields: rulePaths(match.rule, plain, type), allowMissing: true, inputType: type }, yaml).text;
}
