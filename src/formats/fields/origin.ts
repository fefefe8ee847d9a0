import { seal, specOf } from '../../crypto/aead.js';
import type { Alg } from '../../crypto/algs.js';
import { AuthError, FormatError, UsageError } from '../../errors.js';
import { b64decodeStrict, b64encode } from '../common/base64.js';
import { parseJsonSpans, type JsonNode } from '../common/jsonSpans.js';
import { pythonJsonDumps } from './pyjson.js';
import { openRawBytes } from '../raw/rawOpen.js';
import { outermost, selectAll, type FieldPath, type Location } from './paths.js';
import { shortLocation, splice, type Edit } from './splice.js';

/**
 * Field values in the origin FX services' own format (docs/FORMAT.md §14,
 * `--value-format origin`): each selected value is replaced by one bare
 * base64 string, `base64(IV ‖ AES-CBC-PKCS#7(pt))` for `A*CBC` or
 * `base64(nonce ‖ ct ‖ tag)` for `A*GCM`, exactly what their Python
 * functions write and read. A string is encrypted as its UTF-8 bytes; any
 * other value as `json.dumps` writes it. Nothing binds a value to its place
 * or its document, and there is no document MAC: it is never detected,
 * only chosen.
 */

/** Why these values are weaker than field tokens: said on every use. */
export function originWarning(alg: Alg): string {
  const cbc = specOf(alg).kind === 'cbc';
  return `--value-format origin: no document MAC, and no value is bound to its place: values can be swapped, copied between documents or removed undetected${
    cbc ? `; ${alg} values are not authenticated at all (flipped IV bits change the first 16 bytes, blocks cut from the front still decrypt)` : ''
  }`;
}

/** Check that `alg` is one the peers use: plain CBC or GCM. */
export function checkOriginAlg(alg: Alg): void {
  const kind = specOf(alg).kind;
  if (kind !== 'cbc' && kind !== 'gcm') {
    throw new UsageError(`--value-format origin writes base64(iv ‖ ct) with A*CBC or base64(nonce ‖ ct ‖ tag) with A*GCM, not ${alg}`);
  }
}

const locText = shortLocation;

/** The selected values, outermost first, with values inside another selected one (or repeats) left out. */
const pick = (root: JsonNode, paths: FieldPath[], allowMissing: boolean) => outermost(selectAll(root, paths, allowMissing));

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Python's json.loads reads `Infinity`, `-Infinity` and `NaN` (what
 * json.dumps writes for float inf and nan); JSON has no such words. Outside
 * strings, ±Infinity become ±1e999 (JSON numbers that Python and JavaScript
 * both read as ±infinity) and each NaN becomes null, said in `nan`.
 */
function pythonJsonWords(text: string): { text: string; nan: boolean } {
  let out = '';
  let nan = false;
  let at = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      continue;
    }
    if (c === 'I' && text.startsWith('Infinity', i)) {
      out += `${text.slice(at, i)}1e999`;
      at = i += 8;
      i--;
    } else if (c === 'N' && text.startsWith('NaN', i)) {
      out += `${text.slice(at, i)}null`;
      nan = true;
      at = i += 3;
      i--;
    }
  }
  return { text: out + text.slice(at), nan };
}

/**
 * How the peers read a decrypted text: one starting with `{` or `[` that
 * json.loads reads is that JSON (their `_loads`), anything else a string.
 * Returns the JSON text to put back in the document, or undefined for a
 * string. Python's ±Infinity come back as ±1e999; a text only Python reads
 * (NaN, duplicate keys) stays a string (the strict reader here refuses
 * them), which encryptOriginFields warns about.
 */
function asJsonContainer(text: string): string | undefined {
  if (text[0] !== '{' && text[0] !== '[') return undefined;
  for (const t of [text, pythonJsonWords(text)]) {
    const candidate = typeof t === 'string' ? t : t.nan ? undefined : t.text;
    if (candidate === undefined) continue;
    try {
      parseJsonSpans(candidate, 'a decrypted value');
      return candidate.replace(/[ \t\n\r]+$/, '');
    } catch {
      // try the next reading
    }
  }
  return undefined;
}

/** Whether Python's json.loads would read a text as JSON (NaN, duplicate keys: last wins) where {@link asJsonContainer} does not. */
function onlyPythonReadsJson(text: string): boolean {
  if (text[0] !== '{' && text[0] !== '[') return false;
  try {
    JSON.parse(pythonJsonWords(text).text);
    return true;
  } catch {
    return false;
  }
}

export interface OriginEncryptOptions {
  paths: FieldPath[];
  alg: Alg;
  /** AES-GCM nonce length (12 by default, 16 as pycryptodome's default). */
  nonceBytes?: number;
  allowMissing?: boolean;
  what?: string;
}

/**
 * Encrypt the selected values of a JSON document in the peers' format.
 * `notes` says which values will not come back with the same JSON type
 * (the format has no type: only objects and arrays come back as JSON).
 *
 * @example
 * ```ts
 * encryptOriginFields('{"card":"4111","fx":{"rate":1.1}}', key, { paths: parsePaths('card,fx'), alg: 'A256CBC' });
 * // { text: '{"card":"<base64>","fx":"<base64>"}', encrypted: 2, notes: [] }
 * ```
 */
export function encryptOriginFields(text: string, key: Uint8Array, opts: OriginEncryptOptions): { text: string; encrypted: number; notes: string[] } {
  checkOriginAlg(opts.alg);
  const root = parseJsonSpans(text, opts.what);
  const edits: Edit[] = [];
  const scalars: string[] = [];
  const jsonLike: string[] = [];
  const pyOnly: string[] = [];
  for (const { loc, node } of pick(root, opts.paths, Boolean(opts.allowMissing))) {
    let plain: string;
    if (node.kind === 'string') {
      if (LONE_SURROGATE.test(node.value)) throw new FormatError(`the string at ${locText(loc)} holds a lone UTF-16 surrogate, which UTF-8 cannot carry`, 'ERR_UTF8');
      plain = node.value;
      if (asJsonContainer(plain) !== undefined) jsonLike.push(locText(loc));
      else if (onlyPythonReadsJson(plain)) pyOnly.push(locText(loc));
    } else {
      plain = pythonJsonDumps(node, text);
      if (node.kind !== 'object' && node.kind !== 'array') scalars.push(locText(loc));
    }
    const s = seal(opts.alg, key, Buffer.from(plain, 'utf8'), undefined, opts.nonceBytes);
    edits.push({ start: node.start, end: node.end, text: JSON.stringify(b64encode(Buffer.concat([s.nonce, s.ciphertext, s.tag]))) });
  }
  const notes: string[] = [];
  const list = (l: string[]) => `${l.slice(0, 3).join(', ')}${l.length > 3 ? ` and ${l.length - 3} more` : ''}`;
  if (scalars.length) notes.push(`the origin format carries no type: the number, boolean or null at ${list(scalars)} will decrypt as a string`);
  if (pyOnly.length) notes.push(`the string at ${list(pyOnly)} reads as JSON only to Python's json.loads (NaN or a repeated key): the peers will decrypt it as an object or array, aes-payload as a string`);
  if (jsonLike.length) notes.push(`the origin format carries no type: the string at ${list(jsonLike)} reads as JSON, so it will decrypt as an object or array`);
  return { text: splice(text, edits), encrypted: edits.length, notes };
}

export interface OriginDecryptOptions {
  paths: FieldPath[];
  alg: Alg;
  nonceBytes?: number;
  allowMissing?: boolean;
  /** A selected value that is not a string of base64 is left as it is. */
  allowPlaintext?: boolean;
  what?: string;
  /** The alg was the GCM default, not chosen: a failure on a CBC-shaped value names this CBC alg. */
  cbcHint?: string;
}

/**
 * Decrypt the selected values of a document written by the peers (or by
 * {@link encryptOriginFields}): each must be a base64 string. A plaintext
 * that reads as a JSON object or array goes back as that JSON (the peers'
 * `json.dumps`), anything else as a JSON string.
 *
 * @example
 * ```ts
 * decryptOriginFields(doc, key, { paths: parsePaths('card,fx'), alg: 'A256CBC' }).text; // '{"card":"4111","fx":{"rate": 1.1}}'
 * ```
 */
export function decryptOriginFields(text: string, keys: readonly Uint8Array[], opts: OriginDecryptOptions): { text: string; decrypted: number } {
  checkOriginAlg(opts.alg);
  const spec = specOf(opts.alg);
  const root = parseJsonSpans(text, opts.what);
  const edits: Edit[] = [];
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  for (const { loc, node } of pick(root, opts.paths, Boolean(opts.allowMissing))) {
    const where = locText(loc);
    const notCiphertext = (why: string) => new FormatError(`the value at ${where} is not an origin ciphertext (${why}); pass --allow-plaintext to leave such values alone`, 'ERR_PLAINTEXT');
    if (node.kind !== 'string') {
      if (opts.allowPlaintext) continue;
      throw notCiphertext(`a JSON ${node.kind}, not a string`);
    }
    let bytes: Buffer;
    try {
      bytes = b64decodeStrict(node.value, 'the value');
    } catch {
      if (opts.allowPlaintext) continue;
      throw notCiphertext('not canonical base64');
    }
    const nonceLen = spec.kind === 'gcm' ? (opts.nonceBytes ?? spec.nonceLen) : spec.nonceLen;
    const min = nonceLen + spec.tagLen + (spec.kind === 'cbc' ? 16 : 0);
    if (bytes.length < min) {
      if (opts.allowPlaintext) continue;
      throw notCiphertext(`${bytes.length} bytes, too short for ${opts.alg}`);
    }
    const hint = opts.cbcHint && bytes.length >= 32 && bytes.length % 16 === 0 ? `read as ${opts.alg}, as no --alg was given; if the values are AES-CBC (IV + ciphertext), pass --alg ${opts.cbcHint}` : undefined;
    const pt = openRawBytes(bytes, opts.alg, nonceLen, keys, undefined, { what: `the value at ${where}`, ...(hint ? { authDetail: hint } : {}) });
    let plain: string;
    try {
      plain = utf8.decode(pt);
    } catch {
      // CBC cannot tell a wrong key from bad data, so this is one more failed check; GCM authenticated it.
      if (spec.kind === 'cbc') throw new AuthError();
      throw new FormatError(`the value at ${where} decrypts to bytes that are not UTF-8 text`, 'ERR_UTF8');
    } finally {
      pt.fill(0);
    }
    edits.push({ start: node.start, end: node.end, text: asJsonContainer(plain) ?? JSON.stringify(plain) });
  }
  return { text: splice(text, edits), decrypted: edits.length };
}
