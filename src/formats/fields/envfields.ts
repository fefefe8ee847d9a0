import { UsageError } from '../../errors.js';
import { envValue, parseEnv, parsePortableEnv, type EnvDoc } from './dotenv.js';
import * as token from './token.js';
import { HEADER_MEMBER } from './jsonDoc.js';
import { overModel, type DocModel } from './model.js';
import type { FieldPath } from './paths.js';

/**
 * Field documents in .env files (docs/FORMAT.md §12). A .env file is taken
 * as the JSON object of its assignments, in file order, every value a
 * string: `A=1` is `{"A":"1"}`. Tokens, the `aesp` header and the document
 * MAC are exactly those of a JSON field document (§10) over that object, so
 * moved, removed or added tokens and changed values fail the same way. In
 * the file, a token replaces the value inside its original quotes, and the
 * header is the line `aesp=aesp:2:doc:…`. Comments, blank lines, `export`
 * and quoting are kept byte for byte, and are not authenticated: so the text
 * must be in the portable subset (§12.1) that python-dotenv, npm dotenv,
 * Node and sh all read alike, and every value is written back in a quoting
 * that all of them read as that value, whatever quoting the file had.
 */
export function envModel(text: string, what?: string): DocModel {
  const doc = parsePortableEnv(text, what);
  // A null-prototype object: a variable named __proto__ is a member like any other (and covered by the MAC).
  const obj = Object.create(null) as Record<string, string>;
  for (const e of doc.entries) obj[e.name] = e.value;
  return { json: JSON.stringify(obj), paths: (p) => namePaths(doc, p), write: (m) => write(doc, m) };
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
    // Every value is written anew (unchanged ones come back byte for byte): its quoting is not authenticated.
    const written = envValue(s, e.quote, `the value of ${e.name}`);
    if (written !== doc.text.slice(e.start, e.end)) edits.push({ start: e.start, end: e.end, text: written });
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
    out += `${name}=${envValue(String(v), '', `the value of ${name}`)}\n`;
  }
  return out;
}

/**
 * Whether a text is a .env field document, by structure: it parses as .env
 * and a value (the `aesp` header, or a token) has the reserved `aesp:`
 * prefix. One that lost its header is then refused as such (exit 1). A text
 * with a line that looks like an assignment of a token or header but does
 * not parse (a CR, a BOM, a space around "=") counts too, so that decrypt
 * names what is wrong rather than reading it as raw base64.
 */
export function isEnvFieldDocument(text: string): boolean {
  if (!/^[ \t\ufeff\u00a0]*(export[ \t]+)?[A-Za-z_][A-Za-z0-9_]*[ \t]*=[ \t]*["'`]?aesp:/m.test(text)) return false;
  try {
    return parseEnv(text).entries.some((e) => token.reserved(e.value));
  } catch {
    return looksLikeEnvHeader(text);
  }
}

/** A header line as aes-payload writes it (`aesp=aesp:2:doc:…`), give or take quoting, white space and `export`. */
function looksLikeEnvHeader(text: string): boolean {
  return /^[ \t\ufeff\u00a0]*(export[ \t]+)?aesp[ \t]*=[ \t]*["'`]?aesp:\d+:doc:/m.test(text);
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
 * The field operations on .env texts (`--fields` names variables, with `*` globs).
 *
 * @example
 * ```ts
 * envFields.encrypt('# db\nDB_PASSWORD=hunter2\nDB_HOST=db\n', key, { paths: parsePaths('*_PASSWORD') }).text;
 * // '# db\nDB_PASSWORD=aesp:2:A256GCM:…\nDB_HOST=db\naesp=aesp:2:doc:all:…\n'
 * ```
 */
export const envFields = overModel(envModel);
