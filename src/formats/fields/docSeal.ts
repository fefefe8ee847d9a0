import { randomBytes } from 'node:crypto';
import { FormatError } from '../../errors.js';
import { keyId } from '../../keys/kid.js';
import type { JsonNode } from '../common/jsonSpans.js';
import * as token from './token.js';
import type { MacMode } from './token.js';
import { splice, type Edit } from './splice.js';
import { computeMac } from './docMac.js';
import { HEADER_MEMBER, type Doc } from './jsonDoc.js';

// Writing a field document's header (docs/FORMAT.md §10.2): where it goes in
// the root object, in the document's own style, and the MAC it carries.

/** Where to write a new header into the root object, in the document's own style. */
function insertHeader(doc: Doc, value: string): Edit {
  const root = doc.root as JsonNode & { kind: 'object' };
  const json = JSON.stringify(value);
  const es = root.entries;
  if (es.length === 0) return { start: root.start + 1, end: root.end - 1, text: `"${HEADER_MEMBER}":${json}` };
  const last = es[es.length - 1]!;
  const sep = es.length >= 2 ? doc.text.slice(es[es.length - 2]!.value.end, last.keyStart) : `,${doc.text.slice(root.start + 1, es[0]!.keyStart)}`;
  const colon = doc.text.slice(last.keyEnd, last.value.start);
  return { start: last.value.end, end: last.value.end, text: `${sep}"${HEADER_MEMBER}"${colon}${json}` };
}

/** The edit that removes the header member (the inverse of {@link insertHeader}). */
export function removeHeader(doc: Doc): Edit {
  const root = doc.root as JsonNode & { kind: 'object' };
  const i = root.entries.indexOf(doc.header!.entry);
  const es = root.entries;
  if (es.length === 1) return { start: es[0]!.keyStart, end: es[0]!.value.end, text: '' };
  if (i === es.length - 1) return { start: es[i - 1]!.value.end, end: es[i]!.value.end, text: '' };
  return { start: es[i]!.keyStart, end: es[i + 1]!.keyStart, text: '' };
}

/**
 * The root member `"aesp"` holds the header; a document whose root already
 * has one of its own (not a header) cannot take a header without losing or
 * duplicating it, so it is refused.
 */
export function refuseOwnHeaderMember(doc: Doc): void {
  if (doc.header || doc.root.kind !== 'object') return;
  if (doc.root.entries.some((e) => e.key === HEADER_MEMBER)) {
    throw new FormatError(
      `the document already has a root "${HEADER_MEMBER}" member of its own, where field encryption puts its header; rename that member first (nothing was written)`,
      'ERR_HEADER_MEMBER',
    );
  }
}

/** Write the header for `doc` (whose body is final) under `key`. */
export function sealDocument(doc: Doc, key: Uint8Array, mode: MacMode, id: string): string {
  refuseOwnHeaderMember(doc);
  const h = { mode, kid: keyId(key), id };
  const value = token.encodeHeader({ ...h, mac: computeMac(key, h, doc) });
  if (doc.header) {
    const v = doc.header.entry.value;
    return splice(doc.text, [{ start: v.start, end: v.end, text: JSON.stringify(value) }]);
  }
  return splice(doc.text, [insertHeader(doc, value)]);
}

/** A new random document id (128 bits). */
export const newDocId = (): string => randomBytes(16).toString('base64url');
