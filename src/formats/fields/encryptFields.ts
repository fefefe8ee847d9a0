import { seal, specOf } from '../../crypto/aead.js';
import { defaultAlgForKeyLength, type Alg } from '../../crypto/algs.js';
import { FormatError, KeyError, UsageError } from '../../errors.js';
import { keyId } from '../../keys/kid.js';
import * as token from './token.js';
import type { DocHeader, MacMode } from './token.js';
import { outermost, selectAll, type FieldPath } from './paths.js';
import { splice, type Edit } from './splice.js';
import { authenticate, checkStructure, tokenKey } from './docOpen.js';
import { newDocId, refuseOwnHeaderMember, sealDocument } from './docSeal.js';
import { isToken, lookup, parseDoc, refuseBom, scan, where } from './jsonDoc.js';

export interface FieldsEncryptResult {
  text: string;
  /** Values encrypted by this run. */
  encrypted: number;
  /** Selected values that were already tokens (left alone). */
  already: number;
}

export interface FieldsEncryptOptions {
  /** The values to encrypt. */
  paths: FieldPath[];
  alg?: Alg;
  allowMissing?: boolean;
  /** Name of the input, for messages. */
  what?: string;
  /** What the document MAC covers (default: the document's own mode, else `all`). */
  mode?: MacMode;
}

/**
 * Encrypt the values that `paths` select, each into one token bound to this
 * document and its location, and (re)write the document's header and MAC.
 * Everything else in `text` is kept byte for byte. An already encrypted
 * document is authenticated first; values that are already tokens are left
 * alone, so a second run changes nothing.
 *
 * @example
 * ```ts
 * encryptFields('{"card":{"number":"4111"},"id":7}', key, { paths: parsePaths('card.number') });
 * // { text: '{"card":{"number":"aesp:2:A256GCM:…"},"id":7,"aesp":"aesp:2:doc:all:…"}', encrypted: 1, already: 0 }
 * ```
 */
export function encryptFields(text: string, key: Uint8Array, opts: FieldsEncryptOptions): FieldsEncryptResult {
  refuseBom(text, opts.what);
  const { paths } = opts;
  const alg = opts.alg ?? defaultAlgForKeyLength(key.length);
  if (!alg) throw new KeyError(`the key is ${key.length} bytes; no algorithm takes a key of that length`, 'ERR_KEY_LENGTH');
  if (!specOf(alg).authenticated) throw new UsageError(`--fields needs an authenticated algorithm; ${alg} has none`);
  const kid = keyId(key);
  const doc = parseDoc(text, opts.what);
  if (doc.root.kind !== 'object') throw new FormatError('field encryption needs a JSON object at the top: it holds the document header', 'ERR_NOT_OBJECT');
  refuseOwnHeaderMember(doc);
  const s = scan(doc.body);
  if (s.v1.length && !doc.header) {
    throw new FormatError('the document has version-1 field tokens; upgrade it first with aes-payload rotate --allow-legacy', 'ERR_LEGACY');
  }
  let header: DocHeader | undefined;
  if (doc.header) {
    const named = token.decodeHeader(doc.header.value).kid;
    if (named !== kid) throw new KeyError(`the document is encrypted under kid ${named}, and this key is kid ${kid}; rotate it to this key first`, 'ERR_KID_MISMATCH');
    header = authenticate(doc, lookup(key)).header;
  } else if (s.v2.length) {
    throw new FormatError(`the value at ${where(s.v2[0]!.loc)} is a field token from another document`, 'ERR_TOKEN');
  }
  checkStructure(doc, { ...s, v1: header ? s.v1 : [] }, undefined);
  const id = header?.id ?? newDocId();
  // Values inside one that is encrypted whole, and repeats, are left out.
  const picked = outermost(selectAll(doc.body, paths, Boolean(opts.allowMissing)));
  const edits: Edit[] = [];
  let already = 0;
  const tk = tokenKey(key);
  for (const { loc, node } of picked) {
    if (isToken(node)) {
      already++;
      continue;
    }
    const sealed = seal(alg, tk, Buffer.from(text.slice(node.start, node.end), 'utf8'), token.tokenAad(2, alg, kid, id, loc));
    edits.push({ start: node.start, end: node.end, text: JSON.stringify(token.encode({ ...sealed, kid })) });
  }
  const mode = opts.mode ?? header?.mode ?? 'all';
  if (header && edits.length === 0 && mode === header.mode) return { text, encrypted: 0, already };
  const next = parseDoc(splice(text, edits), opts.what);
  if (mode === 'enc' && scan(next.body).v2.length === 0) {
    throw new FormatError('nothing to encrypt: with --mac-only-encrypted the document MAC would authenticate nothing', 'ERR_NOT_ENCRYPTED');
  }
  return { text: sealDocument(next, key, mode, id), encrypted: edits.length, already };
}
