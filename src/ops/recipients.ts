/**
 * Field documents encrypted to age recipients (docs/FORMAT.md §17): a fresh
 * data key per document, wrapped to each recipient in the recipients header;
 * everything else is the ordinary field document under that key, so the
 * field operations (src/ops encrypt/decrypt/verify, the codecs' rotate and
 * reencrypt) run unchanged on the document without its recipients header.
 * A document taken apart is in `recipientDoc.ts`; pending values, added with
 * public keys only, in `pending.ts`.
 */
import { fieldCodec } from '../formats/fields/documents.js';
import type { AgeRecipient } from '../formats/age/keys.js';
import { parseRecipient } from '../formats/age/keys.js';
import { RECIPIENTS_MEMBER, joinHeader, makeHeader, newRecipientsKey, ownMember, type DocSyntax } from '../formats/fields/recipients.js';
import { encrypt } from './encrypt.js';
import { rejoin, type RecipientDoc, type YamlReader } from './recipientDoc.js';
import type { EncryptOptions, EncryptResult } from './types.js';

export { recipientsSyntax, type DocSyntax } from '../formats/fields/recipients.js';
export { openRecipientDoc, readRecipientDoc, rejoin, type RecipientDoc, type YamlReader } from './recipientDoc.js';
export { PENDING_MEMBER } from '../formats/fields/pending.js';
export { appendedNames, bodyNames, overlayPending, splitAppended, dropPendingValues, openPendingValues, overlay, sealPendingFields, setPendingValue, splitPending, withPending } from './pending.js';

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
