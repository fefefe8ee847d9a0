import type { KdfBudget } from '../crypto/kdf.js';
import type { AgeIdentity } from '../formats/age/keys.js';
import { decodeHeader, joinHeader, openHeader, recipientsSyntax, splitHeader, type DocSyntax, type RecipientsHeader } from '../formats/fields/recipients.js';

// A field document encrypted to age recipients, taken apart into the
// ordinary field document and its recipients header, and put back together.

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

/** Put an opened document's field text back together with its recipients header. */
export function rejoin(d: RecipientDoc, restText: string, headerText = d.headerText): string {
  return joinHeader(restText, d.syntax, headerText);
}
