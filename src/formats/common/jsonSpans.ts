import { FormatError } from '../../errors.js';

/**
 * A JSON value with its position in the source text, so that a document can
 * be edited in place: replacing one value's span leaves every other byte
 * (key order, white space, number spelling) exactly as it was.
 */
export type JsonNode =
  | { kind: 'object'; start: number; end: number; entries: JsonEntry[] }
  | { kind: 'array'; start: number; end: number; items: JsonNode[] }
  | { kind: 'string'; start: number; end: number; value: string }
  | { kind: 'number' | 'true' | 'false' | 'null'; start: number; end: number };

/** One member of an object: its key (decoded), where the key's quoted text starts and ends, and its value. */
export interface JsonEntry {
  key: string;
  keyStart: number;
  keyEnd: number;
  value: JsonNode;
}

/** Deepest nesting accepted; deeper input is refused rather than risking the stack. */
export const MAX_JSON_DEPTH = 512;

function lineCol(text: string, pos: number): { line: number; col: number } {
  let line = 1;
  let last = -1;
  for (let i = text.indexOf('\n'); i !== -1 && i < pos; i = text.indexOf('\n', i + 1)) {
    line++;
    last = i;
  }
  return { line, col: pos - last };
}

/**
 * Parse RFC 8259 JSON strictly (no comments, no trailing commas, no
 * duplicate keys), keeping the span of every value. Errors name the line and
 * column (exit 4) but never quote the input, which may be plaintext.
 *
 * @example
 * ```ts
 * const root = parseJsonSpans('{"a": [1, 2]}');
 * root.kind === 'object' && root.entries[0].value.start; // 6
 * ```
 */
export function parseJsonSpans(text: string, what = 'input'): JsonNode {
  let i = 0;
  const n = text.length;
  const fail = (msg: string, at = i): never => {
    const { line, col } = lineCol(text, at);
    throw new FormatError(`${what} is not valid JSON: ${msg} at line ${line}, column ${col}`, 'ERR_JSON');
  };
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const str = (): string => {
    const start = i;
    i++; // opening quote
    let fast = true;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c === 0x5c) {
        fast = false;
        i += 2;
        continue;
      }
      if (c < 0x20) fail('control character in a string');
      i++;
    }
    if (i >= n) fail('unterminated string', start);
    i++;
    const raw = text.slice(start, i);
    if (fast) return raw.slice(1, -1);
    try {
      return JSON.parse(raw) as string;
    } catch {
      return fail('invalid escape in a string', start);
    }
  };
  const value = (depth: number): JsonNode => {
    if (depth > MAX_JSON_DEPTH) fail(`nesting deeper than ${MAX_JSON_DEPTH}`);
    ws();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: JsonEntry[] = [];
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return { kind: 'object', start, end: i, entries };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const keyAt = i;
        const key = str();
        const keyEnd = i;
        if (seen.has(key)) fail('duplicate key', keyAt);
        seen.add(key);
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        entries.push({ key, keyStart: keyAt, keyEnd, value: value(depth + 1) });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { kind: 'object', start, end: i, entries };
        }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { kind: 'array', start, end: i, items };
      }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { kind: 'array', start, end: i, items };
        }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') {
      const v = str();
      return { kind: 'string', start, end: i, value: v };
    }
    for (const lit of ['true', 'false', 'null'] as const) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return { kind: lit, start, end: i };
      }
    }
    const m = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    m.lastIndex = i;
    if (m.test(text)) {
      i = m.lastIndex;
      return { kind: 'number', start, end: i };
    }
    return fail(i >= n ? 'unexpected end of input' : 'unexpected character');
  };
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  const root = value(0);
  ws();
  if (i < n) fail('unexpected data after the value');
  return root;
}

/**
 * Parse JSON strictly: everything {@link parseJsonSpans} refuses (duplicate
 * keys at any depth, nesting over {@link MAX_JSON_DEPTH}, anything outside
 * RFC 8259) is refused here too, with a line and column and no quoted input.
 * A leading BOM is ignored. Every JSON format aes-payload reads goes through
 * this, so that one input never means different things to different parsers.
 *
 * @example
 * ```ts
 * parseJson('{"a":1,"a":2}', 'input'); // throws: input is not valid JSON: duplicate key at line 1, column 8
 * ```
 */
export function parseJson(text: string, what = 'input'): unknown {
  parseJsonSpans(text, what);
  return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
}
