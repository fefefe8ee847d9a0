import { FormatError } from '../../errors.js';

/**
 * `.env` files (docs/FORMAT.md §11): `[export ]NAME=VALUE` lines, comments
 * and blank lines. Parsed with the span of every value, so that values can
 * be replaced in place and every other byte (comments, order, quoting,
 * spacing) stays as it was.
 *
 * - NAME is `[A-Za-z_][A-Za-z0-9_]*`; spaces around `=` are allowed.
 * - An unquoted VALUE runs to the end of the line, or to a `#` after white
 *   space (a comment), and is trimmed.
 * - A single-quoted VALUE is literal and may span lines.
 * - A double-quoted VALUE may span lines; `\n`, `\r`, `\t`, `\"` and `\\` are
 *   escapes, any other backslash is literal.
 * - After a quoted VALUE only white space and a comment may follow.
 *
 * A name given twice is refused: which one a consumer takes differs between
 * tools. Errors name the line, never its text (it may be a secret).
 */
export interface EnvEntry {
  name: string;
  /** The decoded value. */
  value: string;
  quote: '' | "'" | '"';
  /** The span of the value as written, quotes included. */
  start: number;
  end: number;
  /** The span of the whole line, its line break included. */
  lineStart: number;
  lineEnd: number;
}

export interface EnvDoc {
  text: string;
  entries: EnvEntry[];
}

/** Largest .env input read (the same bound as other whole inputs is applied by the reader). */
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/**
 * Parse a .env text strictly.
 *
 * @example
 * ```ts
 * parseEnv('# db\nDB_PASSWORD="hunter 2"\n').entries[0]; // { name: 'DB_PASSWORD', value: 'hunter 2', quote: '"', … }
 * ```
 */
export function parseEnv(text: string, what = 'input'): EnvDoc {
  const entries: EnvEntry[] = [];
  const seen = new Set<string>();
  let i = 0;
  let line = 1;
  const fail = (why: string): never => {
    throw new FormatError(`${what}: .env line ${line}: ${why}`, 'ERR_ENV');
  };
  const isSpace = (c: string | undefined) => c === ' ' || c === '\t';
  const eol = (j: number): number => {
    // j is at a line break or the end: the index after the break.
    if (text[j] === '\r' && text[j + 1] === '\n') return j + 2;
    if (text[j] === '\n') return j + 1;
    return j;
  };
  const atBreak = (j: number) => j >= text.length || text[j] === '\n' || (text[j] === '\r' && text[j + 1] === '\n');
  const countLines = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (text[k] === '\n') line++;
  };
  while (i < text.length) {
    const lineStart = i;
    let j = i;
    while (isSpace(text[j])) j++;
    if (atBreak(j) || text[j] === '#') {
      while (!atBreak(j)) j++;
      const next = eol(j);
      countLines(i, next);
      i = next;
      continue;
    }
    if (text.startsWith('export', j) && isSpace(text[j + 6])) {
      j += 6;
      while (isSpace(text[j])) j++;
    }
    NAME.lastIndex = j;
    const m = NAME.exec(text);
    if (!m) fail('expected NAME=VALUE (a name is letters, digits and _, not starting with a digit)');
    const name = m![0];
    j += name.length;
    if (text[j] !== undefined && /[^\x00-\x7f]/.test(text[j]!)) fail(`a name is ASCII letters, digits and _ (not starting with a digit); ${name}… goes on with another character`);
    while (isSpace(text[j])) j++;
    if (text[j] !== '=') fail(`expected "=" after the name ${name}`);
    j++;
    while (isSpace(text[j])) j++;
    const start = j;
    let value: string;
    let quote: EnvEntry['quote'] = '';
    let end: number;
    const c = text[j];
    if (c === '"' || c === "'") {
      quote = c;
      let k = j + 1;
      let v = '';
      for (;;) {
        if (k >= text.length) fail(`the ${c === '"' ? 'double' : 'single'} quote of ${name} is not closed`);
        const ch = text[k]!;
        if (ch === c) break;
        if (c === '"' && ch === '\\' && k + 1 < text.length) {
          const n = text[k + 1]!;
          const esc: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };
          if (n in esc) {
            v += esc[n];
            k += 2;
            continue;
          }
        }
        v += ch;
        k++;
      }
      value = v;
      end = k + 1;
      let t = end;
      while (isSpace(text[t])) t++;
      if (text[t] === '#') while (!atBreak(t)) t++;
      if (!atBreak(t)) fail(`unexpected text after the quoted value of ${name}`);
      j = t;
    } else {
      let k = j;
      while (!atBreak(k) && !(text[k] === '#' && (k === j || isSpace(text[k - 1])))) k++;
      let e = k;
      while (e > start && isSpace(text[e - 1])) e--;
      end = e;
      value = text.slice(start, end);
      while (!atBreak(k)) k++;
      j = k;
    }
    if (seen.has(name)) fail(`${name} is set twice`);
    seen.add(name);
    const lineEnd = eol(j);
    entries.push({ name, value, quote, start, end, lineStart, lineEnd });
    countLines(i, lineEnd);
    i = lineEnd;
  }
  return { text, entries };
}

/**
 * Characters refused anywhere in a .env field document: every C0 control
 * but TAB and LF (so CR: sh keeps it in the value, the dotenv parsers end
 * the line there), DEL, the C1 controls (NEL ends a line for some readers),
 * U+2028 and U+2029 (line ends for npm dotenv's regular expressions), and
 * U+FEFF (a BOM is part of the first name for sh and python-dotenv).
 */
const FORBIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;
/** An unquoted value every reader takes literally: no white space, quote, `#`, `$`, `\\`, `~` or shell operator. */
const UNQUOTED = /^(?:[A-Za-z0-9_./:@%+,=^?*[\]{}-]|[^\u0000-\u007f\s])*$/u;
/** After a backslash inside double quotes, the characters that some reader (sh, python-dotenv, npm dotenv, Node) takes as an escape. */
const ESCAPED_BY_SOME = '\\\'"abfnrtv$`\n';

const charName = (c: string): string =>
  ({ '\r': 'a carriage return (CR; convert CRLF files to LF, with dos2unix for example)', '\ufeff': 'a byte order mark (U+FEFF)', '\u2028': 'a line separator (U+2028)', '\u2029': 'a paragraph separator (U+2029)', '\u0085': 'a next-line character (U+0085)' })[c] ??
  `a control character (U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')})`;

const forbiddenWhy = (c: string): string => `${charName(c)}, which .env readers disagree on${/[\r\u0085\u2028\u2029\u000b\u000c]/.test(c) ? ' (some end a line there); only LF may end a line' : ''}`;

/** Why `value` cannot stand in `quote` so that every reader reads it as it is, or undefined when it can. */
function misfit(value: string, quote: EnvEntry['quote']): string | undefined {
  const bad = FORBIDDEN.exec(value);
  if (bad) return `it holds ${charName(bad[0])}`;
  if (quote === '') {
    if (!UNQUOTED.test(value)) return 'unquoted, it holds white space, a quote, #, $, \\, ~ or a shell operator, which sh or the dotenv parsers read differently; quote it';
    return undefined;
  }
  if (quote === "'") {
    if (value.includes("'")) return 'it holds a single quote';
    if (value.includes('${')) return 'in single quotes, ${ is expanded by python-dotenv but not by sh';
    if (value.includes('\\\\') || value.endsWith('\\')) return 'in single quotes, \\\\ or a final \\ is an escape for python-dotenv but not for sh';
    return undefined;
  }
  if (/["$`]/.test(value)) return 'in double quotes, ", $ and ` are special to sh (and $ to python-dotenv)';
  for (let k = value.indexOf('\\'); k !== -1; k = value.indexOf('\\', k + 2)) {
    if (k + 1 >= value.length || ESCAPED_BY_SOME.includes(value[k + 1]!)) {
      return 'in double quotes, a backslash before \\, a quote, $, `, a line break or one of a b f n r t v is an escape for some readers and not others; write a line break as a real one, or use single quotes';
    }
  }
  return undefined;
}

/**
 * Check that a parsed .env text is in the portable subset (docs/FORMAT.md
 * §12.1): the one that python-dotenv, npm dotenv, Node's util.parseEnv and
 * `set -a; . FILE` in sh all read as {@link parseEnv} does. Only LF ends a
 * line; an assignment is `[export ]NAME=VALUE` at the start of its line,
 * with one space after `export` and none around `=`; after the value only
 * spaces, then optionally a comment after at least one space; no escapes in
 * quoted values. Errors name the line, never its text.
 */
export function checkPortable(doc: EnvDoc, what = 'input'): void {
  const { text } = doc;
  const lineAt = (k: number) => text.slice(0, k).split('\n').length;
  const fail = (k: number, why: string): never => {
    throw new FormatError(`${what}: .env line ${lineAt(k)}: ${why}`, 'ERR_ENV_PORTABLE');
  };
  const bad = FORBIDDEN.exec(text);
  if (bad) fail(bad.index, forbiddenWhy(bad[0]));
  // A last line without a line break is read otherwise by Node's parser: a comment there
  // (`#X=1`) is a variable named #X for util.parseEnv and node --env-file.
  const lastBreak = text.lastIndexOf('\n');
  if (text.length > 0 && lastBreak !== text.length - 1 && text[lastBreak + 1] === '#') {
    fail(lastBreak + 1, 'a comment on the last line needs a line break after it (Node reads "#X=1" there as a variable named #X)');
  }
  // The lines between assignments: empty, or a comment from its first character (Node 20's parser
  // reads a line of spaces, or an indented comment, as the start of the next name).
  let at = 0;
  for (const e of [...doc.entries, { lineStart: text.length, lineEnd: text.length }]) {
    const lines = text.slice(at, e.lineStart).split('\n');
    if (lines.at(-1) === '') lines.pop();
    for (const line of lines) {
      if (line !== '' && !line.startsWith('#')) fail(at, 'a blank line must be empty and a comment must start with # at the start of the line');
      at += line.length + 1;
    }
    at = e.lineEnd;
  }
  for (const e of doc.entries) {
    const head = text.slice(e.lineStart, e.start);
    if (head !== `${e.name}=` && head !== `export ${e.name}=`) {
      fail(e.lineStart, `write NAME=VALUE at the start of the line, with no space around "=" and one space after export (sh would not read ${e.name} otherwise)`);
    }
    const raw = e.quote ? text.slice(e.start + 1, e.end - 1) : text.slice(e.start, e.end);
    if (raw !== e.value) fail(e.start, `the value of ${e.name} has an escape, which .env readers do not agree on; write the character itself`);
    const why = misfit(e.value, e.quote);
    if (why) fail(e.start, `the value of ${e.name}: ${why}`);
    const trail = text.slice(e.end, e.lineEnd).replace(/\n$/, '');
    if (!/^(?: +(?:#.*)?)?$/.test(trail)) fail(e.end, `after the value of ${e.name}, only spaces and a comment (after a space) may follow`);
  }
}

/**
 * Parse a .env text and check it is portable ({@link checkPortable}): what
 * field documents take, so that every reader of decrypt's output reads it
 * as its authenticated model.
 *
 * @example
 * ```ts
 * parsePortableEnv('DB_HOST = db\n'); // throws: no space around "=" (sh would run a command DB_HOST)
 * ```
 */
export function parsePortableEnv(text: string, what = 'input'): EnvDoc {
  const bad = FORBIDDEN.exec(text);
  if (bad) {
    throw new FormatError(`${what}: .env line ${text.slice(0, bad.index).split('\n').length}: ${forbiddenWhy(bad[0])}`, 'ERR_ENV_PORTABLE');
  }
  const doc = parseEnv(text, what);
  checkPortable(doc, what);
  return doc;
}

/**
 * Write `value` so that every .env reader reads it as it is: in the
 * entry's own quoting when that can hold it (so an unchanged value comes
 * back byte for byte), else single quotes, double quotes (real line
 * breaks, no escapes) or none, whichever can. A value none can hold is
 * refused: no .env text would read the same everywhere.
 *
 * @example
 * ```ts
 * envValue('hunter 2', ''); // "'hunter 2'"
 * ```
 */
export function envValue(value: string, quote: EnvEntry['quote'], name = 'a value'): string {
  for (const q of [quote, "'", '"', ''] as const) {
    if (!misfit(value, q)) return `${q}${value}${q}`;
  }
  throw new FormatError(`${name} cannot be written in a .env file so that sh, python-dotenv, npm dotenv and Node read it alike (${misfit(value, '"')})`, 'ERR_ENV_VALUE');
}

/** Whether a file name is a .env file: `.env`, `.env.*`, `*.env`. */
export function isEnvFileName(name: string): boolean {
  const base = name.split('/').pop() ?? name;
  return base === '.env' || base.startsWith('.env.') || base.endsWith('.env') || /\.env\.(aesp|enc)$/.test(base);
}
