/**
 * The YAML that reads alike in YAML 1.2 (the `yaml` package, core schema:
 * what aes-payload authenticates) and YAML 1.1 (PyYAML, Ruby and most
 * configuration loaders), docs/FORMAT.md §13.1. Two things differ:
 *
 * - line breaks: YAML 1.1 also ends a line at NEL (U+0085), U+2028 and
 *   U+2029, so such a character in a comment starts a new key there;
 * - plain scalars: YAML 1.1 reads `yes`, `no`, `on`, `off` as booleans,
 *   `1_000`, `017` (octal), `0b101`, `1:20` (base 60) as integers,
 *   `2001-12-14` as a date, `<<` as a merge and `=` as a value key, while
 *   YAML 1.2 reads them as strings (and `0o17`, `1e3` as numbers that
 *   PyYAML reads as strings).
 *
 * The rules below are PyYAML's own implicit resolvers (resolver.py), and
 * refuse `y`, `n` as well (booleans in the YAML 1.1 type repository).
 */

/** Characters no YAML field document may hold: controls, NEL and the other C1 controls, U+2028, U+2029, a lone CR, a BOM after the start, the non-characters U+FFFE and U+FFFF. */
export const YAML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\ufffe\uffff]|\r(?!\n)|(?<!^)\ufeff/;

const PY_BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|y|Y|n|N)$/;
const PY_FLOAT = /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const PY_INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const PY_NULL = /^(?:~|null|Null|NULL|)$/;
const PY_SPECIAL = /^(?:<<|=|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)?)$/;
/** Numbers both read alike, written as JSON writes numbers: decimal integers and decimal fractions, no `+`. */
const PLAIN_INT = /^-?(?:0|[1-9][0-9]*)$/;
const PLAIN_FLOAT = /^-?(?:0|[1-9][0-9]*)\.[0-9]+$/;

/** A number's text as the `yaml` package writes it back (its value, padded to as many fraction digits). */
function writtenBack(text: string): string {
  const value = Number(text);
  let n = Object.is(value, -0) ? '-0' : JSON.stringify(value);
  const dot = text.indexOf('.');
  if (dot >= 0 && !n.includes('e')) {
    if (!n.includes('.')) n += '.';
    while (n.length - n.indexOf('.') - 1 < text.length - dot - 1) n += '0';
  }
  return n;
}

/**
 * Why the plain scalar `source`, which YAML 1.2 core reads as `value`,
 * reads otherwise in YAML 1.1, or cannot be authenticated as written, or
 * undefined when it is fine. Numbers are authenticated as written (so that
 * `5432` and `5432.0`, an int and a float to PyYAML, differ), and so must be
 * spelled as JSON spells numbers; booleans are `true` and `false`; null is
 * `null`, `~` or nothing.
 *
 * @example
 * ```ts
 * plainMisread('no', 'no'); // 'a YAML 1.1 reader (PyYAML) takes it for a boolean; quote it'
 * plainMisread('8080', 8080); // undefined
 * ```
 */
export function plainMisread(source: string, value: unknown): string | undefined {
  if (source.includes('\t')) return 'it holds a tab, which a YAML 1.1 reader (PyYAML) cannot read in a plain scalar; quote it';
  if (PY_SPECIAL.test(source)) return 'a YAML 1.1 reader (PyYAML) takes it for a date, a merge key or a value key; quote it';
  if (PY_BOOL.test(source)) {
    if (source === 'true' || source === 'false') return undefined;
    if (typeof value === 'boolean') return `write the boolean as ${value}: other spellings are not booleans to every reader, and the MAC covers only the value`;
    return 'a YAML 1.1 reader (PyYAML) takes it for a boolean; quote it';
  }
  if (PY_NULL.test(source)) {
    if (value !== null) return 'a YAML 1.1 reader takes it for null; quote it';
    return source === 'Null' || source === 'NULL' ? 'write null as null (or ~, or nothing)' : undefined;
  }
  if (PY_INT.test(source) || PY_FLOAT.test(source)) {
    if (typeof value !== 'number') return 'a YAML 1.1 reader (PyYAML) takes it for a number; quote it';
    if (source.startsWith('+')) return 'write the number without "+" (numbers are authenticated as written, as JSON writes them)';
    if (PLAIN_INT.test(source)) return Number.isSafeInteger(value) && value === Number(source) ? undefined : 'the integer is too large to read exactly in JSON; quote it';
    if (PLAIN_FLOAT.test(source)) return writtenBack(source) === source ? undefined : 'the number has more digits than a double keeps, so it cannot be written back as it is; quote it, or write fewer digits';
    return 'YAML 1.1 and 1.2 read this number differently (octal, base 60, underscores or an exponent); write it in decimal';
  }
  if (typeof value !== 'string') return 'YAML 1.2 reads it as a number or boolean that a YAML 1.1 reader (PyYAML) takes for a string (0o17, 1e3, .inf); write it in decimal, or quote it';
  return undefined;
}

/**
 * Why the escapes of a double-quoted scalar (its source, quotes included)
 * read otherwise in YAML 1.1 and 1.2, or undefined: a `\u` or `\U` escape
 * of a surrogate (`\ud83d\ude00`) is one character (an emoji) to the `yaml`
 * package and two lone surrogates to PyYAML.
 *
 * @example
 * ```ts
 * escapeMisread('"\\ud83d\\ude00"'); // 'an escape of a surrogate …'
 * ```
 */
export function escapeMisread(source: string): string | undefined {
  for (let i = 0; i < source.length; i++) {
    if (source[i] !== '\\') continue;
    const c = source[i + 1];
    const len = c === 'u' ? 4 : c === 'U' ? 8 : c === 'x' ? 2 : 0;
    if (len) {
      const cp = Number.parseInt(source.slice(i + 2, i + 2 + len), 16);
      if (cp >= 0xd800 && cp <= 0xdfff) return 'an escape of a surrogate (\\ud800 to \\udfff), which YAML 1.2 readers join into one character and YAML 1.1 readers (PyYAML) keep as lone surrogates; write the character itself, or \\U and its code point';
      i += 1 + len;
    } else i++;
  }
  return undefined;
}

/** Strings written plain: a conservative set of characters that every YAML reader takes literally in a plain scalar. */
const SAFE_PLAIN = /^(?:[A-Za-z0-9_./@%+]|[^\u0000-\u007f\s])(?:[A-Za-z0-9 _./:@%+,=?~-]|[^\u0000-\u007f\s])*$/u;

/**
 * Whether a string may be written as a plain scalar and read as that
 * string by YAML 1.1 and 1.2 readers alike: only ordinary characters (no
 * tab, no quote, no `#` after a space, no `: `, no trailing space or colon),
 * and nothing YAML 1.1 takes for a boolean, number, null or date. Other
 * strings are double-quoted.
 */
export function plainKeepsString(value: string): boolean {
  if (!SAFE_PLAIN.test(value) || value.includes(': ') || value.includes(' #') || /[ :]$/.test(value)) return false;
  return !(PY_SPECIAL.test(value) || PY_BOOL.test(value) || PY_NULL.test(value) || PY_INT.test(value) || PY_FLOAT.test(value));
}
