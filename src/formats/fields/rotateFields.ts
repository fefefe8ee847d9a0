import { seal } from '../../crypto/aead.js';
import { algForKeyLength } from '../../crypto/algs.js';
import { FormatError, KeyError } from '../../errors.js';
import { keyId } from '../../keys/kid.js';
import * as token from './token.js';
import { splice, type Edit } from './splice.js';
import { decodeTokenAt, openDocument, openToken, tokenKey } from './docOpen.js';
import { newDocId, sealDocument } from './docSeal.js';
import { lookup, parseDoc, refuseBom, type FieldsKey } from './jsonDoc.js';

/**
 * Re-encrypt every token of a document under `newKey`, in place, with a new
 * header and MAC; plaintext stays in memory. The document is authenticated
 * first, exactly as decrypt does. A version-1 document (with
 * `allowLegacy`) comes out as version 2. A document already under `newKey`
 * is returned unchanged.
 *
 * @example
 * ```ts
 * rotateFields(doc, (kid) => oldKeys[kid], { newKey }); // { text, rotated: 3, oldKids: ['…'] }
 * ```
 */
export function rotateFields(text: string, key: FieldsKey, opts: { newKey: Uint8Array; what?: string; allowLegacy?: boolean }): { text: string; rotated: number; oldKids: string[] } {
  refuseBom(text, opts.what);
  const keyFor = lookup(key);
  const { newKey } = opts;
  const doc = parseDoc(text, opts.what);
  const opened = openDocument(doc, keyFor, Boolean(opts.allowLegacy));
  const newKid = keyId(newKey);
  if (opened.header && opened.header.kid === newKid) return { text, rotated: 0, oldKids: [newKid] };
  if (doc.root.kind !== 'object') throw new FormatError('field encryption needs a JSON object at the top: it holds the document header', 'ERR_NOT_OBJECT');
  const id = opened.header?.id ?? newDocId();
  const tk = tokenKey(newKey);
  const edits: Edit[] = [];
  const oldKids = new Set<string>();
  for (const f of opened.tokens) {
    const t = decodeTokenAt(f, opened.header);
    const pt = openToken(t, opened.key ?? keyFor(t.kid), opened.header?.id, f.loc);
    const alg = algForKeyLength(newKey.length, t.alg);
    if (!alg) throw new KeyError(`the new key is ${newKey.length} bytes; no algorithm takes it`, 'ERR_KEY_LENGTH');
    const s = seal(alg, tk, pt, token.tokenAad(2, alg, newKid, id, f.loc));
    pt.fill(0);
    edits.push({ start: f.node.start, end: f.node.end, text: JSON.stringify(token.encode({ ...s, kid: newKid })) });
    oldKids.add(t.kid);
  }
  if (opened.header) oldKids.add(opened.header.kid);
  const next = parseDoc(splice(text, edits), opts.what);
  return { text: sealDocument(next, newKey, opened.header?.mode ?? 'all', id), rotated: edits.length, oldKids: [...oldKids] };
}
