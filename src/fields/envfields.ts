import { UsageError } from '../errors.js';
import { envValue, parseEnv, type EnvDoc } from '../formats/dotenv.js';
import * as token from '../formats/token.js';
import { checkFields, decryptFields, encryptFields, reencryptFields, rotateFields, HEADER_MEMBER, type FieldsReencryptResult, type FieldsCheck, type FieldsDecryptOptions, type FieldsEncryptOptions, type FieldsKey } from './fields.js';
import type { FieldPath } from './paths.js';

/**
 * Field documents in .env files (docs/FORMAT.md §11). A .env file is taken
 * as the JSON object of its assignments, in file order, every value a
 * string: `A=1` is `{"A":"1"}`. Tokens, the `aesp` header and the document
 * MAC are exactly those of a JSON field document (§10) over that object, so
 * moved, removed or added tokens and changed values fail the same way. In
 * the file, a token replaces the value inside its original quotes, and the
 * header is the line `aesp=aesp:2:doc:…`. Comments, blank lines, `export`
 * and quoting are kept byte for byte, and are not authenticated.
 */
interface Model {
  doc: EnvDoc;
  json: string;
}

function model(text: string, what?: string): Model {
  const doc = parseEnv(text, what);
  const obj: Record<string, string> = {};
  for (const e of doc.entries) obj[e.name] = e.value;
  return { doc, json: JSON.stringify(obj) };
}

/** Write the model's values back into the .env text: changed values in place, a new header appended, a removed header's line dropped. */
function write(doc: EnvDoc, modelText: string): string {
  const next = JSON.parse(modelText) as Record<string, unknown>;
  const edits: { start: number; end: number; text: string }[] = [];
  for (const e of doc.entries) {
    if (!Object.hasOwn(next, e.name)) {
      edits.push({ start: e.lineStart, end: e.lineEnd, text: '' });
      continue;
    }
    const v = next[e.name];
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    if (s !== e.value) edits.push({ start: e.start, end: e.end, text: envValue(s, e.quote) });
  }
  let out = '';
  let at = 0;
  for (const ed of edits.sort((a, b) => a.start - b.start)) {
    out += doc.text.slice(at, ed.start) + ed.text;
    at = ed.end;
  }
  out += doc.text.slice(at);
  const known = new Set(doc.entries.map((e) => e.name));
  for (const [name, v] of Object.entries(next)) {
    if (known.has(name)) continue;
    if (out.length && !out.endsWith('\n')) out += '\n';
    out += `${name}=${envValue(String(v), '')}\n`;
  }
  return out;
}

/**
 * Whether a text is a .env field document, by structure: it parses as .env
 * and a value (the `aesp` header, or a token) has the reserved `aesp:`
 * prefix. One that lost its header is then refused as such (exit 1).
 */
export function isEnvFieldDocument(text: string): boolean {
  if (!/^[ \t]*(export[ \t]+)?[A-Za-z_][A-Za-z0-9_]*[ \t]*=[ \t]*["']?aesp:/m.test(text)) return false;
  try {
    return parseEnv(text).entries.some((e) => token.reserved(e.value));
  } catch {
    return false;
  }
}

/** `--fields` for .env: each path is one name, where `*` matches any run of characters. */
function namePaths(doc: EnvDoc, paths: FieldPath[]): FieldPath[] {
  const out: FieldPath[] = [];
  for (const p of paths) {
    const s = p.segments;
    if (s.length !== 1) throw new UsageError(`.env fields are names (globs allowed, as DB_*), not paths: ${p.text}`);
    const seg = s[0]!;
    let test: (n: string) => boolean;
    if ('any' in seg || 'deep' in seg) test = () => true;
    else if ('key' in seg) {
      const re = new RegExp(`^${seg.key.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
      test = (n) => re.test(n);
    } else throw new UsageError(`.env fields are names, not indexes: ${p.text}`);
    const names = doc.entries.map((e) => e.name).filter((n) => n !== HEADER_MEMBER && test(n));
    // No match: a path that selects nothing, so that the usual "matches nothing" error applies.
    if (!names.length) out.push({ text: p.text, segments: [{ key: `\u0000${p.text}` }] });
    for (const n of names) out.push({ text: p.text, segments: [{ key: n }] });
  }
  return out;
}

/**
 * Encrypt the values of the names `opts.paths` select (globs) in a .env text.
 *
 * @example
 * ```ts
 * encryptEnvFields('# db\nDB_PASSWORD=hunter2\nDB_HOST=db\n', key, { paths: parsePaths('*_PASSWORD') }).text;
 * // '# db\nDB_PASSWORD=aesp:2:A256GCM:…\nDB_HOST=db\naesp=aesp:2:doc:all:…\n'
 * ```
 */
export function encryptEnvFields(text: string, key: Uint8Array, opts: FieldsEncryptOptions): { text: string; encrypted: number; already: number } {
  const m = model(text, opts.what);
  const r = encryptFields(m.json, key, { ...opts, paths: namePaths(m.doc, opts.paths) });
  return { ...r, text: r.text === m.json ? text : write(m.doc, r.text) };
}

/**
 * Authenticate a .env field document as a whole and decrypt its values; the
 * header line is removed, everything else kept.
 *
 * @example
 * ```ts
 * decryptEnvFields(encrypted, key).text; // '# db\nDB_PASSWORD=hunter2\nDB_HOST=db\n'
 * ```
 */
export function decryptEnvFields(text: string, key: FieldsKey, opts: FieldsDecryptOptions = {}): ReturnType<typeof decryptFields> {
  const m = model(text, opts.what);
  const r = decryptFields(m.json, key, { ...opts, ...(opts.paths ? { paths: namePaths(m.doc, opts.paths) } : {}) });
  return { ...r, text: write(m.doc, r.text) };
}

/** {@link checkFields} for a .env text. */
export function checkEnvFields(text: string, key: FieldsKey | undefined, opts: { require?: FieldPath[]; what?: string; allowLegacy?: boolean } = {}): FieldsCheck {
  const m = model(text, opts.what);
  return checkFields(m.json, key, { ...opts, ...(opts.require ? { require: namePaths(m.doc, opts.require) } : {}) });
}

/** {@link rotateFields} for a .env text. */
export function rotateEnvFields(text: string, key: FieldsKey, opts: { newKey: Uint8Array; what?: string; allowLegacy?: boolean }): { text: string; rotated: number; oldKids: string[] } {
  const m = model(text, opts.what);
  const r = rotateFields(m.json, key, opts);
  return { ...r, text: r.text === m.json ? text : write(m.doc, r.text) };
}

/** The variables of a decrypted .env text, in order. */
export function envVariables(text: string, what?: string): [string, string][] {
  return parseEnv(text, what).entries.map((e) => [e.name, e.value]);
}

/** {@link reencryptFields} for .env texts: `newText` is the edited plaintext .env. */
export function reencryptEnvFields(oldText: string, newText: string, key: FieldsKey, opts: { paths?: FieldPath[]; what?: string } = {}): FieldsReencryptResult {
  const old = model(oldText, opts.what);
  const next = model(newText, opts.what);
  const r = reencryptFields(old.json, next.json, key, { ...opts, ...(opts.paths ? { paths: namePaths(next.doc, opts.paths) } : {}) });
  return { ...r, text: write(next.doc, r.text) };
}
