import { open, seal, specOf } from '../crypto/aead.js';
import { algForKeyLength, defaultAlgForKeyLength, type Alg } from '../crypto/algs.js';
import { FormatError, KeyError, UsageError } from '../errors.js';
import { parseJsonSpans, type JsonNode } from '../formats/jsonSpans.js';
import * as token from '../formats/token.js';
import { keyId } from '../keys/kid.js';
import { select, walkAll, type FieldPath, type Location } from './paths.js';

/** Finds the key for a kid (a single key, or a keyring). */
export type KeyForKid = (kid: string) => Uint8Array;

export interface FieldsEncryptResult {
  text: string;
  /** Values encrypted by this run. */
  encrypted: number;
  /** Selected values that were already tokens (left alone). */
  already: number;
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

function splice(text: string, edits: Edit[]): string {
  edits.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const e of edits) {
    out += text.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + text.slice(at);
}

const isToken = (n: JsonNode): boolean => n.kind === 'string' && token.detect(n.value);

/**
 * Encrypt the values that `paths` select, each into one token string bound to
 * its location. Everything else in `text` is kept byte for byte; values that
 * are already tokens are left alone (so a second run changes nothing).
 *
 * @example
 * ```ts
 * encryptFields('{"card":{"number":"4111"},"id":7}', key, parsePaths('card.number'));
 * // { text: '{"card":{"number":"aesp:1:A256GCM:…"},"id":7}', encrypted: 1, already: 0 }
 * ```
 */
export function encryptFields(
  text: string,
  key: Uint8Array,
  paths: FieldPath[],
  opts: { alg?: Alg; allowMissing?: boolean; what?: string } = {},
): FieldsEncryptResult {
  const alg = opts.alg ?? defaultAlgForKeyLength(key.length);
  if (!alg) throw new KeyError(`the key is ${key.length} bytes; no algorithm takes a key of that length`, 'ERR_KEY_LENGTH');
  if (!specOf(alg).authenticated) throw new UsageError(`--fields needs an authenticated algorithm; ${alg} has none`);
  const kid = keyId(key);
  const root = parseJsonSpans(text, opts.what);
  const picked: { loc: Location; node: JsonNode }[] = [];
  for (const p of paths) {
    const found = select(root, p);
    if (!found.length && !opts.allowMissing) throw new FormatError(`field path ${p.text} matches nothing (pass --allow-missing to allow that)`, 'ERR_PATH_MISSING');
    picked.push(...found);
  }
  picked.sort((a, b) => a.node.start - b.node.start || b.node.end - a.node.end);
  const edits: Edit[] = [];
  let already = 0;
  let coveredTo = -1;
  for (const { loc, node } of picked) {
    if (node.start < coveredTo) continue; // inside a value that is encrypted whole, or a repeat
    coveredTo = node.end;
    if (isToken(node)) {
      already++;
      continue;
    }
    const s = seal(alg, key, Buffer.from(text.slice(node.start, node.end), 'utf8'), token.tokenAad(alg, kid, loc));
    edits.push({ start: node.start, end: node.end, text: JSON.stringify(token.encode({ ...s, kid })) });
  }
  return { text: splice(text, edits), encrypted: edits.length, already };
}

/** The tokens of a document (optionally only at `paths`), with their locations. */
function tokensOf(root: JsonNode, paths: FieldPath[] | undefined): { loc: Location; node: JsonNode & { kind: 'string' } }[] {
  const out: { loc: Location; node: JsonNode & { kind: 'string' } }[] = [];
  if (paths) {
    for (const p of paths) for (const f of select(root, p)) if (isToken(f.node)) out.push(f as { loc: Location; node: JsonNode & { kind: 'string' } });
  } else {
    walkAll(root, (node, loc) => {
      if (isToken(node)) out.push({ loc, node: node as JsonNode & { kind: 'string' } });
    });
  }
  return out;
}

export interface FieldsDecryptResult {
  text: string;
  decrypted: number;
  kids: string[];
}

/**
 * Decrypt the tokens of a document (every one, or only those at `paths`),
 * putting back each value's original JSON text. A token moved to another
 * location fails to authenticate.
 *
 * @example
 * ```ts
 * decryptFields(doc, () => key).text; // the original document
 * ```
 */
export function decryptFields(text: string, keyFor: KeyForKid, opts: { paths?: FieldPath[]; what?: string } = {}): FieldsDecryptResult {
  const root = parseJsonSpans(text, opts.what);
  const edits: Edit[] = [];
  const kids = new Set<string>();
  for (const { loc, node } of tokensOf(root, opts.paths)) {
    const t = token.decode(node.value);
    const pt = open(t, keyFor(t.kid), token.tokenAad(t.alg, t.kid, loc)).toString('utf8');
    parseJsonSpans(pt, 'a decrypted field'); // authenticated, but must still be one JSON value
    edits.push({ start: node.start, end: node.end, text: pt });
    kids.add(t.kid);
  }
  return { text: splice(text, edits), decrypted: edits.length, kids: [...kids] };
}

export interface FieldsCheck {
  tokens: number;
  kids: string[];
  /** `--require` paths whose matched values are still plaintext (location as JSON). */
  plaintext: string[];
  /** `--require` paths that matched nothing. */
  missing: string[];
}

/**
 * Check a document without writing plaintext anywhere: every token parses
 * (and, with `keyFor`, authenticates at its location), and every value that
 * `require` selects is a token.
 *
 * @example
 * ```ts
 * checkFields(doc, parsePaths('**.password'), () => key); // { tokens: 2, plaintext: [], missing: [] , kids: […] }
 * ```
 */
export function checkFields(text: string, require: FieldPath[], keyFor: KeyForKid | undefined, what?: string): FieldsCheck {
  const root = parseJsonSpans(text, what);
  const kids = new Set<string>();
  const all = tokensOf(root, undefined);
  for (const { loc, node } of all) {
    const t = token.decode(node.value);
    kids.add(t.kid);
    if (keyFor) open(t, keyFor(t.kid), token.tokenAad(t.alg, t.kid, loc)).fill(0);
  }
  const plaintext: string[] = [];
  const missing: string[] = [];
  for (const p of require) {
    const found = select(root, p);
    if (!found.length && !coveredByToken(root, p)) missing.push(p.text);
    for (const f of found) if (!isToken(f.node)) plaintext.push(JSON.stringify(f.loc));
  }
  return { tokens: all.length, kids: [...kids], plaintext, missing };
}

/** Whether a shorter form of the path reaches a token: `card.number` is covered when `card` is encrypted whole. */
function coveredByToken(root: JsonNode, p: FieldPath): boolean {
  for (let k = p.segments.length - 1; k > 0; k--) {
    if (select(root, { text: p.text, segments: p.segments.slice(0, k) }).some((f) => isToken(f.node))) return true;
  }
  return false;
}

/** Whether a text holds at least one field token (a cheap test for detection). */
export function hasTokens(text: string): boolean {
  return text.includes(`"${token.TOKEN_PREFIX}`);
}

/**
 * Re-encrypt every token of a document under `newKey`, in place, keeping
 * each token's location binding; plaintext stays in memory. Tokens already
 * under `newKey` are left alone.
 *
 * @example
 * ```ts
 * rotateFields(doc, (kid) => oldKeys[kid], newKey); // { text, rotated: 3, oldKids: ['…'] }
 * ```
 */
export function rotateFields(text: string, keyFor: KeyForKid, newKey: Uint8Array, what?: string): { text: string; rotated: number; oldKids: string[] } {
  const root = parseJsonSpans(text, what);
  const newKid = keyId(newKey);
  const edits: Edit[] = [];
  const oldKids = new Set<string>();
  for (const { loc, node } of tokensOf(root, undefined)) {
    const t = token.decode(node.value);
    if (t.kid === newKid) continue;
    const pt = open(t, keyFor(t.kid), token.tokenAad(t.alg, t.kid, loc));
    const alg = algForKeyLength(newKey.length, t.alg);
    if (!alg) throw new KeyError(`the new key is ${newKey.length} bytes; no algorithm takes it`, 'ERR_KEY_LENGTH');
    const s = seal(alg, newKey, pt, token.tokenAad(alg, newKid, loc));
    pt.fill(0);
    edits.push({ start: node.start, end: node.end, text: JSON.stringify(token.encode({ ...s, kid: newKid })) });
    oldKids.add(t.kid);
  }
  return { text: splice(text, edits), rotated: edits.length, oldKids: [...oldKids] };
}
