import type { JsonNode } from '../common/jsonSpans.js';

/**
 * The text Python's `json.dumps(json.loads(x))` gives for a JSON value `x`,
 * with its defaults (`separators=(', ', ': ')`, `ensure_ascii=True`, key
 * order kept), so that a peer that encrypts `json.dumps(data)` and one that
 * reads it with `json.loads` see the same bytes from aes-payload as from
 * each other (docs/FORMAT.md §14). Numbers follow Python's types: one with
 * a `.` or an exponent is a float (`repr`: `1.0`, `1e+16`, `1e-05`,
 * `Infinity` past the double range), anything else an int, kept digit for
 * digit (`-0` is `0`).
 *
 * @example
 * ```ts
 * pythonJsonDumps(parseJsonSpans('{"a":[1,2.50,"café"]}'), '{"a":[1,2.50,"café"]}');
 * // '{"a": [1, 2.5, "caf\\u00e9"]}'
 * ```
 */
export function pythonJsonDumps(node: JsonNode, source: string): string {
  switch (node.kind) {
    case 'object':
      return `{${node.entries.map((e) => `${pythonJsonString(e.key)}: ${pythonJsonDumps(e.value, source)}`).join(', ')}}`;
    case 'array':
      return `[${node.items.map((v) => pythonJsonDumps(v, source)).join(', ')}]`;
    case 'string':
      return pythonJsonString(node.value);
    case 'number':
      return pythonNumber(source.slice(node.start, node.end));
    default:
      return node.kind; // true, false, null
  }
}

const SHORT: Readonly<Record<string, string>> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

/**
 * A string as `json.dumps` writes it with `ensure_ascii=True`: `"` and `\`
 * and the controls with a short form escaped that way, every other
 * character outside printable ASCII (space to `~`) as `\uXXXX` in lowercase
 * hex, UTF-16 code unit by code unit (so astral characters become a
 * surrogate pair).
 */
export function pythonJsonString(s: string): string {
  return `"${s.replace(/[\\"]|[^\x20-\x7e]/g, (c) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

/** A JSON number as Python's json module writes it after reading it. */
function pythonNumber(text: string): string {
  if (!/[.eE]/.test(text)) return text === '-0' ? '0' : text; // an int, exact
  const x = Number(text);
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  // float.__repr__: the shortest digits that read back (as JavaScript's),
  // in fixed notation when -4 <= exponent < 16, else d.ddde±XX.
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(x.toExponential())!;
  const sign = m[1]!;
  const digits = m[2]! + (m[3] ?? '');
  const exp = Number(m[4]);
  if (exp < -4 || exp >= 16) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = digits.slice(exp + 1);
  return `${sign}${int}.${frac || '0'}`;
}
