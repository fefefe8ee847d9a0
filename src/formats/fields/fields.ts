import { isUtf8 } from 'node:buffer';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { open, seal, specOf } from '../../crypto/aead.js';
import { algForKeyLength, defaultAlgForKeyLength, type Alg } from '../../crypto/algs.js';
import { subkey } from '../../crypto/derive.js';
import { AuthError, FormatError, KeyError, UsageError } from '../../errors.js';
import { parseJsonSpans, type JsonEntry, type JsonNode } from '../common/jsonSpans.js';
import * as token from './token.js';
import type { DocHeader, MacMode } from './token.js';
import { keyId } from '../../keys/kid.js';
import { outermost, select, selectAll, walkAll, type FieldPath, type Location } from './paths.js';
import { shortLocation, splice, type Edit } from './splice.js';

/**
 * Field documents, version 2 (docs/FORMAT.md §10): JSON whose selected
 * values are tokens, authenticated as a whole by a header in the root
 * object's `"aesp"` member. The header names the key (kid), a random
 * document id that every token's AAD binds, and an HMAC over the sorted
 * (location, value) list of the document: every value by default, or only
 * the tokens (`mode` `enc`). Moving, removing, adding or replacing a token,
 * or removing the header, fails.
 */
export const HEADER_MEMBER = 'aesp';

/** Finds the key for a kid (a single key, or a keyring). */
export type KeyForKid = (kid: string) => Uint8Array;

/** The key argument of every function here: one key, or a lookup by kid (a keyring). */
export type FieldsKey = Uint8Array | KeyForKid;

const lookup = (k: FieldsKey): KeyForKid => (typeof k === 'function' ? k : () => k);

type StringNode = JsonNode & { kind: 'string' };
interface Found {
  loc: Location;
  node: JsonNode;
}

interface Doc {
  text: string;
  root: JsonNode;
  /** The root object's `"aesp"` member, when there is one. */
  header?: { entry: JsonEntry; value: string };
  /** The document without its header: what paths select and the MAC covers. */
  body: JsonNode;
}

/**
 * A byte order mark before a JSON field document is refused: Python's json
 * module and jq refuse it, so a document that kept it would not read again
 * everywhere (docs/FORMAT.md §10).
 */
function refuseBom(text: string, what: string | undefined): void {
  if (text.charCodeAt(0) === 0xfeff) {
    throw new FormatError(`${what ?? 'input'}: a byte order mark (U+FEFF) before the JSON, which Python's json module and jq refuse; remove it (sed -i '1s/^\\xEF\\xBB\\xBF//' FILE)`, 'ERR_BOM');
  }
}

function parseDoc(text: string, what: string | undefined): Doc {
  const root = parseJsonSpans(text, what);
  if (root.kind !== 'object') return { text, root, body: root };
  const entry = root.entries.find((e) => e.key === HEADER_MEMBER);
  if (!entry || entry.value.kind !== 'string' || !token.reserved(entry.value.value)) return { text, root, body: root };
  return { text, root, header: { entry, value: entry.value.value }, body: { ...root, entries: root.entries.filter((e) => e !== entry) } };
}

interface Scan {
  v2: Found[];
  v1: Found[];
  /** Strings with the reserved prefix that are not tokens. */
  bad: Found[];
}

/** Every string value with the reserved prefix, by kind, in document order. */
function scan(body: JsonNode): Scan {
  const s: Scan = { v2: [], v1: [], bad: [] };
  walkAll(body, (node, loc) => {
    if (node.kind !== 'string' || !token.reserved(node.value)) return;
    let t: token.Token | undefined;
    try {
      t = token.decode(node.value);
    } catch {
      /* not a well-formed token: a fake, or damage */
    }
    (t ? (t.version === 2 ? s.v2 : s.v1) : s.bad).push({ loc: loc(), node });
  });
  return s;
}

/** What a JSON text is as a field document, by structure: undefined when it has no token and no header. */
export function fieldDocumentKind(text: string): 'v2' | 'v1' | undefined {
  return kindOf(parseDoc(text, undefined));
}

function kindOf(doc: Doc): 'v2' | 'v1' | undefined {
  if (doc.header) return 'v2';
  const s = scan(doc.body);
  if (s.v2.length) return 'v2';
  if (s.v1.length) return 'v1';
  if (s.bad.length) return 'v2'; // a reserved string: a damaged document, reported as such
  return undefined;
}

const locText = (loc: Location): string => JSON.stringify(loc);
const where = shortLocation;

const isToken = (n: JsonNode): n is StringNode => n.kind === 'string' && n.value.startsWith(token.TOKEN_PREFIX) && !token.isHeaderText(n.value);

/**
 * The lines the document MAC covers (FORMAT.md §10.4): `[<location>,<value>]`
 * for every leaf (a scalar, `{}` or `[]`), or only the tokens in mode `enc`,
 * sorted by the UTF-8 bytes of the location's compact JSON.
 */
function macEntries(doc: Doc, mode: MacMode): Buffer[] {
  const lines: { loc: Buffer; line: Buffer }[] = [];
  walkAll(doc.body, (node, loc) => {
    let leaf: string | undefined;
    if (node.kind === 'string') leaf = mode === 'all' || isToken(node) ? JSON.stringify(node.value) : undefined;
    else if (mode === 'enc') return;
    else if (node.kind === 'object') leaf = node.entries.length ? undefined : '{}';
    else if (node.kind === 'array') leaf = node.items.length ? undefined : '[]';
    else leaf = doc.text.slice(node.start, node.end); // number (as written), true, false, null
    if (leaf === undefined) return;
    const l = locText(loc());
    lines.push({ loc: Buffer.from(l, 'utf8'), line: Buffer.from(`[${l},${leaf}]\n`, 'utf8') });
  });
  lines.sort((a, b) => Buffer.compare(a.loc, b.loc));
  return lines.map((x) => x.line);
}

function computeMac(key: Uint8Array, h: Omit<DocHeader, 'mac'>, doc: Doc): Buffer {
  const hmac = createHmac('sha256', subkey(key, 'documentMac', 32));
  hmac.update(`${token.HEADER_PREFIX}${h.mode}:${h.kid}:${h.id}\n`, 'utf8');
  for (const line of macEntries(doc, h.mode)) hmac.update(line);
  return hmac.digest();
}

function kidsDiffer(named: string, given: string): string {
  return `the input names kid ${named}; the key given is kid ${given}`;
}

/**
 * Check the header and the document MAC under the key the header names.
 * Nothing is decrypted before this has passed.
 */
function authenticate(doc: Doc, keyFor: KeyForKid): { header: DocHeader; key: Uint8Array } {
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
function checkStructure(doc: Doc, s: Scan, header: DocHeader | undefined): void {
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
function tokenKey(key: Uint8Array): Buffer {
  return subkey(key, 'token');
}

function openToken(t: token.Token, key: Uint8Array, docId: string | undefined, loc: Location): Buffer {
  if (t.version === 2) return open(t, tokenKey(key), token.tokenAad(2, t.alg, t.kid, docId, loc));
  return open(t, key, token.tokenAad(1, t.alg, t.kid, undefined, loc));
}

/** A token's plaintext as text: UTF-8 or refused (exit 4), never decoded as U+FFFD (as for every text input). */
function tokenText(pt: Buffer, loc: Location): string {
  if (!isUtf8(pt)) throw notUtf8(loc);
  return pt.toString('utf8');
}
const notUtf8 = (loc: Location) => new FormatError(`the value at ${where(loc)} is not valid UTF-8 once decrypted: refused (text values must be UTF-8)`, 'ERR_UTF8');

function decodeTokenAt(f: Found, header: DocHeader | undefined): token.Token {
  const t = token.decode((f.node as StringNode).value);
  if (header && t.kid !== header.kid) throw new FormatError(`the field token at ${where(f.loc)} names kid ${t.kid}, not the document's ${header.kid}`, 'ERR_TOKEN');
  return t;
}

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
function removeHeader(doc: Doc): Edit {
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
function refuseOwnHeaderMember(doc: Doc): void {
  if (doc.header || doc.root.kind !== 'object') return;
  if (doc.root.entries.some((e) => e.key === HEADER_MEMBER)) {
    throw new FormatError(
      `the document already has a root "${HEADER_MEMBER}" member of its own, where field encryption puts its header; rename that member first (nothing was written)`,
      'ERR_HEADER_MEMBER',
    );
  }
}

/** Write the header for `doc` (whose body is final) under `key`. */
function sealDocument(doc: Doc, key: Uint8Array, mode: MacMode, id: string): string {
  refuseOwnHeaderMember(doc);
  const h = { mode, kid: keyId(key), id };
  const value = token.encodeHeader({ ...h, mac: computeMac(key, h, doc) });
  if (doc.header) {
    const v = doc.header.entry.value;
    return splice(doc.text, [{ start: v.start, end: v.end, text: JSON.stringify(value) }]);
  }
  return splice(doc.text, [insertHeader(doc, value)]);
}

const newDocId = (): string => randomBytes(16).toString('base64url');

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

/** Open a document for reading: v2 authenticated as a whole, v1 only with allowLegacy. */
function openDocument(doc: Doc, keyFor: KeyForKid, allowLegacy: boolean): { header?: DocHeader; key?: Uint8Array; tokens: Found[]; legacy: boolean } {
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

/** The error for JSON that holds nothing encrypted. */
export function notEncrypted(): FormatError {
  return new FormatError('not an encrypted input (a JSON object that is not an aes-payload envelope, JWE or field document)', 'ERR_NOT_ENCRYPTED');
}

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

/**
 * The tokens that hold what `p` would select, when `p` selects nothing
 * itself: `card.number` is inside `card` when `card` is encrypted whole.
 * Only prefixes without `**` count, so `**.password` is never taken as
 * "somewhere inside some encrypted value".
 */
function coveringTokens(body: JsonNode, p: FieldPath): Found[] {
  for (let k = p.segments.length - 1; k > 0; k--) {
    const prefix = p.segments.slice(0, k);
    if (prefix.some((s) => 'deep' in s)) continue;
    const hits = select(body, { text: p.text, segments: prefix }).filter((f) => f.node.kind === 'string' && token.reserved(f.node.value));
    if (hits.length) return hits;
  }
  return [];
}

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
