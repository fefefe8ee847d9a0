/**
 * Field documents encrypted to age recipients (docs/FORMAT.md §15): a fresh
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
