import { seal } from '../../crypto/aead.js';
import { algForKeyLength, defaultAlgForKeyLength } from '../../crypto/algs.js';
import { FormatError, KeyError } from '../../errors.js';
import * as token from './token.js';
import { outermost, select, walkAll, type FieldPath } from './paths.js';
import { splice, type Edit } from './splice.js';
import { decodeTokenAt, openDocument, openToken, tokenKey, tokenText } from './docOpen.js';
import { sealDocument } from './docSeal.js';
import { locText, lookup, parseDoc, refuseBom, scan, where, type FieldsKey, type Found, type StringNode } from './jsonDoc.js';

export interface FieldsReencryptResult {
  text: string;
  /** Tokens kept as they were (their values did not change). */
  kept: number;
  /** Values sealed anew (changed, or newly selected). */
  sealed: number;
  /** Locations of new values left in the clear (not at an old token's place, not selected). */
  clear: string[];
}

/**
 * Write an edited plaintext document back as a field document of the same
 * identity (`aes-payload edit`, as sops keeps IVs): the old document is
 * authenticated first; every value at a location that held a token (or that
 * `paths` select) is encrypted again, and a value whose JSON text did not
 * change keeps its old token byte for byte, so diffs stay small. The
 * document id, MAC mode and kid stay; the MAC is computed anew.
 *
 * @example
 * ```ts
 * reencryptFields(oldDoc, editedPlaintext, key).text; // unchanged values keep their tokens
 * ```
 */
export function reencryptFields(oldText: string, newText: string, key: FieldsKey, opts: { paths?: FieldPath[]; what?: string } = {}): FieldsReencryptResult {
  refuseBom(newText, opts.what);
  const keyFor = lookup(key);
  const old = parseDoc(oldText, opts.what);
  const opened = openDocument(old, keyFor, false);
  const header = opened.header!;
  const docKey = opened.key!;
  const previous = new Map<string, { token: string; plain: string }>();
  for (const f of opened.tokens) {
    const t = decodeTokenAt(f, header);
    const pt = tokenText(openToken(t, docKey, header.id, f.loc), f.loc);
    previous.set(locText(f.loc), { token: (f.node as StringNode).value, plain: pt });
  }
  const oldLeaves = new Set<string>();
  walkAll(old.body, (_n, loc) => oldLeaves.add(locText(loc())));
  const doc = parseDoc(newText, opts.what);
  if (doc.root.kind !== 'object') throw new FormatError('field encryption needs a JSON object at the top: it holds the document header', 'ERR_NOT_OBJECT');
  if (doc.header) throw new FormatError('the edited document has an "aesp" header; remove it', 'ERR_DOC_HEADER');
  const s = scan(doc.body);
  const reservedAt = [...s.v2, ...s.v1, ...s.bad][0];
  if (reservedAt) throw new FormatError(`the value at ${where(reservedAt.loc)} starts with "aesp:", which is reserved for tokens; as plaintext it would look encrypted`, 'ERR_TOKEN');
  const picked: Found[] = [];
  walkAll(doc.body, (node, loc) => {
    if (previous.has(locText(loc()))) picked.push({ loc: loc(), node });
  });
  for (const p of opts.paths ?? []) picked.push(...select(doc.body, p));
  const edits: Edit[] = [];
  const first = previous.values().next().value;
  const alg = first ? algForKeyLength(docKey.length, token.decode(first.token).alg) : defaultAlgForKeyLength(docKey.length);
  if (!alg) throw new KeyError(`the key is ${docKey.length} bytes; no algorithm takes a key of that length`, 'ERR_KEY_LENGTH');
  let kept = 0;
  const tk = tokenKey(docKey);
  for (const { loc, node } of outermost(picked)) {
    const plain = newText.slice(node.start, node.end);
    const was = previous.get(locText(loc));
    if (was && was.plain === plain) {
      kept++;
      edits.push({ start: node.start, end: node.end, text: JSON.stringify(was.token) });
      continue;
    }
    const sealed = seal(alg, tk, Buffer.from(plain, 'utf8'), token.tokenAad(2, alg, header.kid, header.id, loc));
    edits.push({ start: node.start, end: node.end, text: JSON.stringify(token.encode({ ...sealed, kid: header.kid })) });
  }
  const clear: string[] = [];
  let inside = -1;
  const sealedNodes = new Set(picked.map((p) => p.node));
  walkAll(doc.body, (node, loc) => {
    if (node.start < inside) return;
    if (sealedNodes.has(node)) {
      inside = node.end;
      return;
    }
    const l = locText(loc());
    if (node.kind !== 'object' && node.kind !== 'array' && !oldLeaves.has(l)) clear.push(where(loc()));
  });
  const next = parseDoc(splice(newText, edits), opts.what);
  return { text: sealDocument(next, docKey, header.mode, header.id), kept, sealed: edits.length - kept, clear };
}
