import { FormatError } from '../errors.js';

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
 * Write `value` for an entry that was quoted with `quote`: in the same style
 * when that style can hold it, else double-quoted with escapes.
 *
 * @example
 * ```ts
 * envValue('hunter 2', ''); // '"hunter 2"'
 * ```
 */
export function envValue(value: string, quote: EnvEntry['quote']): string {
  // Unquoted holds a one-line value with no white space at its ends, no quote at the start and no comment.
  if (quote === '' && !/[\r\n]/.test(value) && value === value.trim() && !/^['"#]/.test(value) && !/\s#/.test(value)) return value;
  if (quote === "'" && !/['\n\r]/.test(value)) return `'${value}'`;
  return `"${value.replace(/[\\"\n\r\t]/g, (ch) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[ch]!)}"`;
}

/** Whether a file name is a .env file: `.env`, `.env.*`, `*.env`. */
export function isEnvFileName(name: string): boolean {
  const base = name.split('/').pop() ?? name;
  return base === '.env' || base.startsWith('.env.') || base.endsWith('.env') || /\.env\.(aesp|enc)$/.test(base);
}
