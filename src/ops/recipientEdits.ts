/**
 * The edits of the `recipients` command on a field document encrypted to
 * age recipients (src/ops/recipients.ts): recipients added or removed by
 * their text form, and pending values folded in under the data key.
 */
import { formatRecipient, type AgeRecipient } from '../formats/age/keys.js';
import { fieldCodec } from '../formats/fields/documents.js';
import { parsePaths } from '../formats/fields/paths.js';
import { decrypt } from './decrypt.js';
import { overlay, parsedRecipients, readRecipientDoc, rejoin, splitPending, withPending, type RecipientDoc, type YamlReader } from './recipients.js';

export type { AgeRecipient };

/** recipients add: the document's recipients, then those of `more` it does not have yet. */
export function withMoreRecipients(d: RecipientDoc, more: readonly AgeRecipient[]): { next: AgeRecipient[]; added: number } {
  const have = parsedRecipients(d);
  const known = new Set(have.map(formatRecipient));
  const next = [...have, ...more.filter((r) => !known.has(formatRecipient(r)))];
  return { next, added: next.length - have.length };
}

/** recipients remove: the document's recipients without `gone`, and those of `gone` that are not its recipients. */
export function withoutRecipients(d: RecipientDoc, gone: readonly AgeRecipient[]): { next: AgeRecipient[]; gone: number; missing: string[] } {
  const names = new Set(gone.map(formatRecipient));
  const have = parsedRecipients(d);
  const next = have.filter((r) => !names.has(formatRecipient(r)));
  const missing = [...names].filter((g) => !have.some((r) => formatRecipient(r) === g));
  return { next, gone: names.size, missing };
}

/** Whether `recipients` are exactly the ones a document lists (in any order). */
export function sameRecipients(listed: readonly string[], recipients: readonly AgeRecipient[]): boolean {
  const set = new Set(listed);
  return recipients.length === set.size && recipients.every((r) => set.has(formatRecipient(r)));
}

/**
 * recipients seal: fold the `chosen` pending values into the document,
 * sealed under its data key and covered by its MAC; the pending values not
 * chosen (`only` names the chosen ones) stay pending.
 */
export function sealPendingValues(d: RecipientDoc & { key: Buffer }, text: string, chosen: readonly [string, string][], only: readonly string[] | undefined, yaml: YamlReader): { text: string; left: number } {
  const plain = decrypt(d.rest, { secret: d.key }, {}).plaintext.toString('utf8');
  const next = overlay(plain, d.syntax, chosen);
  const names = chosen.map(([n]) => n);
  const r = fieldCodec(d.syntax).reencrypt(d.rest, next, d.key, { paths: parsePaths(names.join(',')) });
  const left = only ? splitPending(readRecipientDoc(text, yaml)!.rest, d.syntax, yaml).entries.filter((e) => !only.includes(e.name)) : [];
  return { text: rejoin(d, withPending(r.text, d.syntax, left)), left: left.length };
}
