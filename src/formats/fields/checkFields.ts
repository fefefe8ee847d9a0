import { AuthError, FormatError } from '../../errors.js';
import { parseJsonSpans } from '../common/jsonSpans.js';
import * as token from './token.js';
import type { DocHeader, MacMode } from './token.js';
import { select, type FieldPath } from './paths.js';
import { isUtf8 } from 'node:buffer';
import { checkStructure, decodeTokenAt, notUtf8, openDocument, openToken } from './docOpen.js';
import { coveringTokens, isToken, kindOf, lookup, notEncrypted, parseDoc, refuseBom, scan, where, type FieldsKey, type Found } from './jsonDoc.js';

export interface FieldsCheck {
  tokens: number;
  kids: string[];
  /** `--require` paths whose matched values are still plaintext (location as JSON). */
  plaintext: string[];
  /** `--require` paths that matched nothing. */
  missing: string[];
  mode: MacMode | undefined;
}

/**
 * Check a document without writing plaintext anywhere. With `keyFor`, the
 * header and document MAC authenticate and every token opens; without, the
 * structure is checked (header and tokens parse, kids agree). Every path of
 * `require` is checked on its own: each must select something, and all it
 * selects must be encrypted.
 *
 * @example
 * ```ts
 * checkFields(doc, key, { require: parsePaths('**.password') }); // { tokens: 2, plaintext: [], missing: [], kids: […], mode: 'all' }
 * ```
 */
export function checkFields(text: string, key: FieldsKey | undefined, opts: { require?: FieldPath[]; what?: string; allowLegacy?: boolean } = {}): FieldsCheck {
  refuseBom(text, opts.what);
  const keyFor = key === undefined ? undefined : lookup(key);
  const require = opts.require ?? [];
  const doc = parseDoc(text, opts.what);
  let tokens: Found[];
  let header: DocHeader | undefined;
  let docKey: Uint8Array | undefined;
  if (keyFor) {
    const o = openDocument(doc, keyFor, Boolean(opts.allowLegacy));
    ({ tokens, header, key: docKey } = o);
  } else {
    const kind = kindOf(doc);
    if (kind === undefined) throw notEncrypted();
    const s = scan(doc.body);
    if (kind === 'v1') {
      if (!opts.allowLegacy) throw new FormatError('this is a version-1 field document (aes-payload 0.1), which has no document MAC; pass --allow-legacy to check it', 'ERR_LEGACY');
      tokens = s.v1;
    } else {
      checkStructure(doc, s, undefined);
      if (!doc.header) throw new AuthError('the document has field tokens but no "aesp" header');
      header = token.decodeHeader(doc.header.value);
      checkStructure(doc, s, header);
      tokens = s.v2;
    }
  }
  const kids = new Set<string>(header ? [header.kid] : []);
  for (const f of tokens) {
    const t = decodeTokenAt(f, header);
    kids.add(t.kid);
    if (keyFor) {
      const pt = openToken(t, docKey ?? keyFor(t.kid), header?.id, f.loc);
      const utf8 = isUtf8(pt);
      pt.fill(0);
      if (!utf8) throw notUtf8(f.loc); // decrypt would refuse it: so does verify
    }
  }
  const plaintext: string[] = [];
  const missing: string[] = [];
  for (const p of require) {
    const found = select(doc.body, p);
    if (!found.length && !coveringTokens(doc.body, p).length) missing.push(p.text);
    for (const f of found) if (!isToken(f.node) && !tokens.some((t) => t.node === f.node)) plaintext.push(where(f.loc));
  }
  return { tokens: tokens.length, kids: [...kids], plaintext, missing, mode: header?.mode };
}

/**
 * `--require` on JSON that holds nothing encrypted (verify's CI check, "no
 * secret left in the clear"): every path either selects plaintext or
 * nothing, so the result always fails, and says which.
 *
 * @example
 * ```ts
 * requireOnPlain('{"db":{"password":"p"}}', parsePaths('**.password')); // { plaintext: ['["db","password"]'], missing: [] }
 * ```
 */
export function requireOnPlain(text: string, require: FieldPath[], what?: string): { plaintext: string[]; missing: string[] } {
  const root = parseJsonSpans(text, what);
  const plaintext: string[] = [];
  const missing: string[] = [];
  for (const p of require) {
    const found = select(root, p);
    if (!found.length) missing.push(p.text);
    for (const f of found) plaintext.push(where(f.loc));
  }
  return { plaintext, missing };
}
