import type * as YAML from 'yaml';
import { FormatError } from '../../errors.js';
import { MAX_JSON_DEPTH, parseJsonSpans, type JsonNode } from '../common/jsonSpans.js';
import { yaml } from './yamlLoad.js';
import { YAML_FORBIDDEN } from './yamlPortable.js';

// The JSON model of a YAML document (docs/FORMAT.md §12): its values, numbers
// as written, read from YAML nodes and from the model's JSON, and made into
// YAML nodes again.

/**
 * A number of the model as it is written (`1.0`, `-0.0`, `5432`): the
 * document MAC covers a number's text, as for JSON field documents, so a
 * re-spelled number (`5432.0`, which PyYAML reads as a float) fails, and
 * a round trip keeps the spelling.
 */
export class NumText {
  constructor(readonly text: string) {}
  toJSON(): unknown {
    return { $number: this.text };
  }
}

const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;

/** The model of a YAML node: its value (see {@link Model.obj}) and its JSON text, numbers as written. */
export function modelOf(node: unknown, text: string, portable: boolean, what: string, depth = 1): { obj: unknown; json: string } {
  const y = yaml();
  if (node === null || node === undefined) return { obj: null, json: 'null' };
  if (depth > MAX_JSON_DEPTH) throw new FormatError(`${what}: the YAML document is nested deeper than ${MAX_JSON_DEPTH} levels`, 'ERR_DEPTH');
  if (y.isMap(node)) {
    const obj = Object.create(null) as Record<string, unknown>;
    const parts: string[] = [];
    for (const pair of node.items) {
      const k = y.isScalar(pair.key) ? String(pair.key.value) : JSON.stringify(y.isNode(pair.key) ? pair.key.toJSON() : pair.key);
      const v = modelOf(pair.value, text, portable, what, depth + 1);
      obj[k] = v.obj;
      parts.push(`${JSON.stringify(k)}:${v.json}`);
    }
    return { obj, json: `{${parts.join(',')}}` };
  }
  if (y.isSeq(node)) {
    const items = node.items.map((n) => modelOf(n, text, portable, what, depth + 1));
    return { obj: items.map((i) => i.obj), json: `[${items.map((i) => i.json).join(',')}]` };
  }
  if (y.isScalar(node)) {
    const v = node.value;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new FormatError(`${what}: .inf and .nan have no JSON form`, 'ERR_YAML');
      const src = node.source ?? '';
      const t = node.type === 'PLAIN' && JSON_NUMBER.test(src) ? src : Object.is(v, -0) ? '-0' : JSON.stringify(v);
      return { obj: new NumText(t), json: t };
    }
    if (typeof v === 'bigint') return { obj: v.toString(), json: JSON.stringify(v.toString()) };
    if (typeof v === 'string') {
      if (portable && YAML_FORBIDDEN.test(v)) {
        throw new FormatError(`${what}: a value holds a character that YAML 1.1 readers take for a line break (NEL, U+2028, U+2029) or a control character, which no YAML text reads alike`, 'ERR_YAML_PORTABLE');
      }
      return { obj: v, json: JSON.stringify(v) };
    }
    if (v === null || typeof v === 'boolean') return { obj: v, json: JSON.stringify(v) };
    return { obj: String(v), json: JSON.stringify(String(v)) };
  }
  throw new FormatError(`${what}: the YAML document has an alias, which field encryption does not take`, 'ERR_YAML');
}

/** A model value read back from the model's JSON text (numbers as written). */
export function fromModelJson(jsonText: string): unknown {
  const conv = (n: JsonNode): unknown => {
    if (n.kind === 'object') {
      const o = Object.create(null) as Record<string, unknown>;
      for (const e of n.entries) o[e.key] = conv(e.value);
      return o;
    }
    if (n.kind === 'array') return n.items.map(conv);
    if (n.kind === 'string') return n.value;
    if (n.kind === 'number') return new NumText(jsonText.slice(n.start, n.end));
    return n.kind === 'null' ? null : n.kind === 'true';
  };
  return conv(parseJsonSpans(jsonText, 'the model'));
}

/** One text for a model value, key order aside: what two models are compared by. */
export function canonical(v: unknown): string {
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  return v instanceof NumText ? v.text : JSON.stringify(v);
}

/** A new YAML node for a model value, numbers as written. */
export function makeNode(doc: YAML.Document.Parsed, v: unknown): YAML.Node {
  const y = yaml();
  const plain = (x: unknown): unknown => {
    if (x instanceof NumText) {
      const n = doc.createNode(Number(x.text)) as YAML.Scalar;
      const dot = x.text.indexOf('.');
      if (dot >= 0) n.minFractionDigits = x.text.length - dot - 1;
      return n;
    }
    if (Array.isArray(x)) return x.map(plain);
    if (isObj(x)) return Object.fromEntries(Object.entries(x).map(([k, e]) => [k, plain(e)]));
    return x;
  };
  const out = plain(v);
  return y.isNode(out) ? out : (doc.createNode(out) as YAML.Node);
}

/** Whether a model value is an object (a mapping). */
export const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof NumText);
