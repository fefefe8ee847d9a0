import { FormatError } from '../../errors.js';
import { parseJsonSpans, type JsonNode } from '../common/jsonSpans.js';
import type { MacMode } from './token.js';
import { select, type FieldPath, type Location } from './paths.js';
import { splice, type Edit } from './splice.js';
import { decodeTokenAt, openDocument, openToken, tokenText } from './docOpen.js';
import { removeHeader, sealDocument } from './docSeal.js';
import { coveringTokens, lookup, parseDoc, refuseBom, where, type FieldsKey } from './jsonDoc.js';

export interface FieldsDecryptResult {
  text: string;
  decrypted: number;
  kids: string[];
  /** What the document MAC covered; undefined for a legacy (version-1) document, which has none. */
  mode: MacMode | undefined;
  /** Where the decrypted tokens were: with mode `enc` (or a legacy document), the only values that were authenticated. */
  tokenPaths: Location[];
}

export interface FieldsDecryptOptions {
  /** Decrypt only the tokens at these paths. A plaintext value there is an error unless `allowPlaintext`. */
  paths?: FieldPath[];
  allowPlaintext?: boolean;
  allowMissing?: boolean;
  /** Read version-1 documents (no document MAC). */
  allowLegacy?: boolean;
  what?: string;
}

/**
 * Authenticate a field document as a whole, then decrypt its tokens (every
 * one, or only those at `paths`), putting back each value's original JSON
 * text and removing the header, so that the original document comes back
 * byte for byte.
 *
 * @example
 * ```ts
 * decryptFields(doc, key).text; // the original document; or decryptFields(doc, (kid) => ring[kid], { paths })
 * ```
 */
export function decryptFields(text: string, key: FieldsKey, opts: FieldsDecryptOptions = {}): FieldsDecryptResult {
  refuseBom(text, opts.what);
  const keyFor = lookup(key);
  const doc = parseDoc(text, opts.what);
  const opened = openDocument(doc, keyFor, Boolean(opts.allowLegacy));
  let targets = opened.tokens;
  if (opts.paths) {
    const want = new Set<JsonNode>();
    for (const p of opts.paths) {
      const found = select(doc.body, p);
      const cover = found.length ? [] : coveringTokens(doc.body, p);
      if (!found.length && !cover.length && !opts.allowMissing) throw new FormatError(`field path ${p.text} matches nothing (pass --allow-missing to allow that)`, 'ERR_PATH_MISSING');
      for (const f of [...found, ...cover]) {
        if (opened.tokens.some((t) => t.node === f.node)) want.add(f.node);
        else if (!opts.allowPlaintext) {
          throw new FormatError(`the value at ${where(f.loc)} (selected by ${p.text}) is not encrypted; pass --allow-plaintext to accept that`, 'ERR_PLAINTEXT');
        }
      }
    }
    targets = opened.tokens.filter((t) => want.has(t.node));
  }
  const edits: Edit[] = [];
  const kids = new Set<string>();
  for (const f of targets) {
    const t = decodeTokenAt(f, opened.header);
    const key = opened.key ?? keyFor(t.kid);
    const pt = tokenText(openToken(t, key, opened.header?.id, f.loc), f.loc);
    parseJsonSpans(pt, 'a decrypted field'); // authenticated, but must still be one JSON value
    edits.push({ start: f.node.start, end: f.node.end, text: pt });
    kids.add(t.kid);
  }
  if (opened.header) kids.add(opened.header.kid);
  const left = opened.tokens.length - targets.length;
  if (opened.header && left > 0) {
    // Some tokens stay: the result is still a field document, sealed anew (same id and mode, a MAC over
    // what it now holds), so that it can be decrypted again. Its tokens keep their AAD, bound to id and place.
    const next = parseDoc(splice(text, edits), opts.what);
    return { text: sealDocument(next, opened.key!, opened.header.mode, opened.header.id), decrypted: targets.length, kids: [...kids], mode: opened.header.mode, tokenPaths: targets.map((t) => t.loc) };
  }
  if (opened.header) edits.push(removeHeader(doc));
  return { text: splice(text, edits), decrypted: targets.length, kids: [...kids], mode: opened.header?.mode, tokenPaths: targets.map((t) => t.loc) };
}
