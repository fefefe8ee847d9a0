import { KeyError, printable } from '../errors.js';

/** Default key name in .ini files: the seed's `development.ini` convention. */
export const DEFAULT_INI_KEY = 'SECRET_KEY';
/** Section keygen writes into by default (Paste/Pyramid `development.ini`). */
export const DEFAULT_INI_SECTION = 'app:main';

interface Found {
  section: string;
  value: string;
}

const COMMENT = /^\s*[#;]/;
const HEADER = /^\[(.+)\]/;
/** configparser's option line: the name up to the first `=` or `:`. */
const OPTION = /^(.*?)\s*[=:]\s*(.*)$/;

/**
 * Every `name` in .ini text, read as Python's configparser reads it (the
 * seeds' services use it): `=` or `:` between name and value, names
 * compared case-insensitively (configparser lowercases them), full-line `#`
 * and `;` comments, and indented continuation lines. Lines above the first section header (which
 * configparser refuses) are read as the top level, section "".
 */
function collect(text: string, name: string): Found[] {
  const want = name.toLowerCase();
  const sections = new Map<string, Map<string, string[]>>();
  let current = '';
  let opt: string[] | undefined;
  let indent = Infinity;
  const sectionOf = (n: string) => {
    let m = sections.get(n);
    if (!m) sections.set(n, (m = new Map()));
    return m;
  };
  sectionOf('');
  for (const line of text.replace(/^\uFEFF/, '').split(/\r?\n|\r/)) {
    if (COMMENT.test(line)) continue;
    const value = line.trim();
    if (!value) {
      indent = Infinity;
      continue;
    }
    const lead = line.length - line.trimStart().length;
    if (opt && lead > indent) {
      opt.push(value);
      continue;
    }
    indent = lead;
    const h = HEADER.exec(value);
    if (h) {
      current = h[1]!;
      sectionOf(current);
      opt = undefined;
      continue;
    }
    const m = OPTION.exec(value);
    if (!m || !m[1]) {
      opt = undefined;
      continue;
    }
    opt = [m[2]!];
    sectionOf(current).set(m[1].trimEnd().toLowerCase(), opt);
  }
  const out: Found[] = [];
  for (const [section, opts] of sections) {
    const v = opts.get(want);
    if (v) out.push({ section, value: v.join('\n') });
  }
  return out;
}

/** The value without quotes around it, or an inline comment (` ;` or ` #`) after it. */
function unquote(s: string): string {
  let t = s.trim();
  if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t[t.length - 1] === t[0]) return t.slice(1, -1);
  const c = /\s[;#]/.exec(t);
  if (c) t = t.slice(0, c.index).trimEnd();
  if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t[t.length - 1] === t[0]) return t.slice(1, -1);
  return t;
}

/**
 * Find the value of `name` in .ini text. Without `section`, the top level and
 * every section are searched, and a name found in more than one place is an
 * error that asks for a section. `section` "" means the top level.
 *
 * @example
 * ```ts
 * findIniValue('[app:main]\nSECRET_KEY = "00ff…"\n', 'SECRET_KEY'); // { value: '00ff…', section: 'app:main' }
 * ```
 */
export function findIniValue(
  text: string,
  name: string,
  section: string | undefined,
  file: string,
): { value: string; section: string } {
  const found = collect(text, name);
  const where = (s: string) => (s === '' ? 'the top level' : `[${printable(s, 40)}]`);
  let hits = section === undefined ? found : found.filter((f) => f.section === section);
  // configparser: a section without the name inherits [DEFAULT]'s.
  if (section !== undefined && section !== '' && hits.length === 0) hits = found.filter((f) => f.section === 'DEFAULT');
  if (hits.length === 0) {
    const scope = section === undefined ? '' : ` in ${where(section)}`;
    throw new KeyError(`no ${name} found${scope} in ${file}`, 'ERR_KEY_MISSING');
  }
  if (hits.length > 1) {
    throw new KeyError(
      `${name} is set in ${hits.length} places in ${file} (${hits.map((h) => where(h.section)).join(', ')}); ` +
        'choose one with --ini-section',
      'ERR_KEY_AMBIGUOUS',
    );
  }
  const hit = hits[0]!;
  return { value: unquote(hit.value), section: hit.section };
}

const SECTION_RE = /^\s*\[(.*)\]\s*(?:[;#].*)?$/;

/** Whether .ini text has a section header (`[name]`) on some line. */
export function hasIniSection(text: string): boolean {
  return text.split(/\r?\n|\r/).some((l) => SECTION_RE.test(l));
}

/** The option name on a line, lowercased as configparser does (`=` or `:` ends it). */
function keyOfLine(line: string): string | undefined {
  const m = /^\s*([^=:;#[\s][^=:]*?)\s*[=:]/.exec(line);
  return m ? m[1]!.toLowerCase() : undefined;
}

/**
 * Set `name = value` in `section` of .ini text, keeping every other line byte
 * for byte. Returns the new text and whether a value was already there.
 * `section` "" means the top level.
 *
 * @example
 * ```ts
 * upsertIniValue('', 'app:main', 'SECRET_KEY', 'ab…').text; // '[app:main]\nSECRET_KEY = ab…\n'
 * ```
 */
export function upsertIniValue(
  text: string,
  section: string,
  name: string,
  value: string,
): { text: string; replaced: boolean } {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.length ? text.split(/(?<=\n)/) : [];
  const newLine = `${name} = ${value}`;
  let current = '';
  let sectionStart = section === '' ? 0 : -1; // index of the first line in the section body
  let lastContent = section === '' ? -1 : -1; // last non-blank line of the target section
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const body = line.replace(/\r?\n$/, '');
    const sec = SECTION_RE.exec(body);
    if (sec) {
      current = sec[1]!.trim();
      if (current === section && sectionStart < 0) {
        sectionStart = i + 1;
        lastContent = i;
      }
      continue;
    }
    if (current !== section) continue;
    if (keyOfLine(body) === name.toLowerCase()) {
      const ending = line.slice(body.length);
      lines[i] = newLine + ending;
      return { text: lines.join(''), replaced: true };
    }
    if (body.trim() !== '') lastContent = i;
  }
  if (sectionStart >= 0) {
    // Insert after the last non-blank line of the section (or after its header).
    const at = lastContent + 1;
    if (at > 0 && !lines[at - 1]!.endsWith('\n')) lines[at - 1] += eol;
    lines.splice(at, 0, newLine + eol);
    return { text: lines.join(''), replaced: false };
  }
  let out = lines.join('');
  if (out.length && !out.endsWith('\n')) out += eol;
  if (out.length && !/(\r?\n){2}$/.test(out)) out += eol;
  out += `[${section}]${eol}${newLine}${eol}`;
  return { text: out, replaced: false };
}
