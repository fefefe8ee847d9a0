import { parse } from 'ini';
import { KeyError } from '../errors.js';

/** Default key name in .ini files: the seed's `development.ini` convention. */
export const DEFAULT_INI_KEY = 'SECRET_KEY';
/** Section keygen writes into by default (Paste/Pyramid `development.ini`). */
export const DEFAULT_INI_SECTION = 'app:main';

interface Found {
  section: string;
  value: unknown;
}

function collect(obj: Record<string, unknown>, name: string, path: string, out: Found[]): void {
  for (const [k, v] of Object.entries(obj)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      collect(v as Record<string, unknown>, name, path ? `${path}.${k}` : k, out);
    } else if (k === name) {
      out.push({ section: path, value: v });
    }
  }
}

function unquote(s: string): string {
  const t = s.trim();
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
  const found: Found[] = [];
  collect(parse(text) as Record<string, unknown>, name, '', found);
  const where = (s: string) => (s === '' ? 'the top level' : `[${s}]`);
  const hits = section === undefined ? found : found.filter((f) => f.section === section);
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
  if (typeof hit.value !== 'string') {
    throw new KeyError(`${name} in ${where(hit.section)} of ${file} is not a key value`, 'ERR_KEY_DECODE');
  }
  return { value: unquote(hit.value), section: hit.section };
}

const SECTION_RE = /^\s*\[(.*)\]\s*(?:[;#].*)?$/;

function keyOfLine(line: string): string | undefined {
  const m = /^\s*([^=;#[\s][^=]*?)\s*=/.exec(line);
  return m ? m[1] : undefined;
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
    if (keyOfLine(body) === name) {
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
