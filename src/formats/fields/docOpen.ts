import { isUtf8 } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';
import { open } from '../../crypto/aead.js';
import { subkey } from '../../crypto/derive.js';
import { AuthError, FormatError } from '../../errors.js';
import { keyId } from '../../keys/kid.js';
import * as token from './token.js';
import type { DocHeader } from './token.js';
import type { Location } from './paths.js';
import { computeMac } from './docMac.js';
import { kindOf, notEncrypted, scan, where, type Doc, type Found, type KeyForKid, type Scan, type StringNode } from './jsonDoc.js';

// Reading a version-2 field document (docs/FORMAT.md §10.5): the header and
// document MAC first, the structure checks, then each token under its key.

function kidsDiffer(named: string, given: string): string {
  return `the input names kid ${named}; the key given is kid ${given}`;
}

/**
 * Check the header and the document MAC under the key the header names.
 * Nothing is decrypted before this has passed.
 */
export function authenticate(doc: Doc, keyFor: KeyForKid): { header: DocHeader; key: Uint8Array } {
  if (!doc.header) throw new AuthError('the document has field tokens but no "aesp" header');
  const header = token.decodeHeader(doc.header.value);
  const key = keyFor(header.kid);
  const kid = keyId(key);
  if (kid !== header.kid) throw new AuthError(kidsDiffer(header.kid, kid));
  const want = computeMac(key, header, doc);
  if (!timingSafeEqual(want, header.mac)) throw new AuthError(`kid ${kid} matches, but the data was altered`);
  return { header, key };
}

/** Structure checks shared by every operation on a version-2 document. */
export function checkStructure(doc: Doc, s: Scan, header: DocHeader | undefined): void {
  if (doc.root.kind !== 'object' && (s.v2.length || doc.header)) throw new AuthError('the document has field tokens but no "aesp" header');
  const bad = s.bad[0];
  if (bad) {
    throw new FormatError(
      token.isHeaderText((bad.node as StringNode).value)
        ? `a field document header at ${where(bad.loc)}, which is not its place (the root's "aesp" member)`
        : `the value at ${where(bad.loc)} starts with "aesp:" but is not a field token (values with that prefix are reserved; as plaintext it would look encrypted)`,
      'ERR_TOKEN',
    );
  }
  if (s.v1.length) throw new FormatError(`the value at ${where(s.v1[0]!.loc)} is a version-1 token in a version-2 document`, 'ERR_TOKEN');
  if (header && header.mode === 'enc' && s.v2.length === 0) {
    throw new FormatError('not an encrypted input: the document MAC covers encrypted values only, and there are none', 'ERR_NOT_ENCRYPTED');
  }
}

/** The key, algorithm and kid a token of this document is sealed with. */
export function tokenKey(key: Uint8Array): Buffer {
  return subkey(key, 'token');
}

/** Open one token at `loc` (version 2 under the token subkey, bound to the document id; version 1 under the key itself). */
export function openToken(t: token.Token, key: Uint8Array, docId: string | undefined, loc: Location): Buffer {
  if (t.version === 2) return open(t, tokenKey(key), token.tokenAad(2, t.alg, t.kid, docId, loc));
  return open(t, key, token.tokenAad(1, t.alg, t.kid, undefined, loc));
}

/** A token's plaintext as text: UTF-8 or refused (exit 4), never decoded as U+FFFD (as for every text input). */
export function tokenText(pt: Buffer, loc: Location): string {
  if (!isUtf8(pt)) throw notUtf8(loc);
  return pt.toString('utf8');
}

/** The refusal of a decrypted value that is not UTF-8. */
export const notUtf8 = (loc: Location): FormatError => new FormatError(`the value at ${where(loc)} is not valid UTF-8 once decrypted: refused (text values must be UTF-8)`, 'ERR_UTF8');

/** Decode the token at `f`, which must name the header's kid. */
export function decodeTokenAt(f: Found, header: DocHeader | undefined): token.Token {
  const t = token.decode((f.node as StringNode).value);
  if (header && t.kid !== header.kid) throw new FormatError(`the field token at ${where(f.loc)} names kid ${t.kid}, not the document's ${header.kid}`, 'ERR_TOKEN');
  return t;
}

/** Open a document for reading: v2 authenticated as a whole, v1 only with allowLegacy. */
export function openDocument(doc: Doc, keyFor: KeyForKid, allowLegacy: boolean): { header?: DocHeader; key?: Uint8Array; tokens: Found[]; legacy: boolean } {
  const s = scan(doc.body);
  const kind = kindOf(doc);
  if (kind === undefined) throw notEncrypted();
  if (kind === 'v1') {
    if (!allowLegacy) {
      throw new FormatError('this is a version-1 field document (aes-payload 0.1), which has no document MAC; pass --allow-legacy to read it, and upgrade it with aes-payload rotate --allow-legacy', 'ERR_LEGACY');
    }
    return { tokens: s.v1, legacy: true };
  }
  checkStructure(doc, s, undefined);
  const { header, key } = authenticate(doc, keyFor);
  checkStructure(doc, s, header);
  return { header, key, tokens: s.v2, legacy: false };
}
