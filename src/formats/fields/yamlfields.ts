import type * as YAML from 'yaml';
import { AUTH_FAILED_MESSAGE, AuthError, FormatError } from '../../errors.js';
import { loadVendored } from '../../io/vendor.js';
import * as token from './token.js';
import { YAML_FORBIDDEN, escapeMisread, plainKeepsString, plainMisread } from './yamlPortable.js';
import { MAX_JSON_DEPTH, parseJsonSpans, type JsonNode } from '../common/jsonSpans.js';
import { overModel, type DocModel, type FieldCodec } from './model.js';
import { spliceYaml } from './yamlSplice.js';

/**
 * Field documents in YAML files (docs/FORMAT.md §12), through the `yaml`
 * package (eemeli/yaml), which keeps comments and order. A YAML document is
 * taken as the JSON of its value under the YAML 1.2 core schema (the root a
 * mapping); tokens, the `aesp` header (a top-level key) and the document MAC
 * are exactly those of a JSON field document (§10) over that JSON. Anchors,
 * aliases, tags other than the core ones, and several documents in one file
 * are refused: each would let one node stand for several locations.
 *
 * The `yaml` module loads only when a YAML document is met: call
 * {@link loadYaml} first (the CLI does, from the file name or the text).
 */
let Y: typeof YAML | undefined;

/** Load the `yaml` package (once). */
export async function loadYaml(): Promise<void> {
  Y ??= loadVendored<typeof YAML>('yaml') ?? (await import('yaml'));
}

function yaml(): typeof YAML {
  if (!Y) throw new Error('internal: loadYaml() was not awaited before a YAML document was read');
  return Y;
}

interface Model {
  doc: YAML.Document.Parsed;
  /** The model's value: null-prototype objects, arrays, strings, booleans, null and {@link NumText} for numbers. */
  obj: unknown;
  json: string;
  /** The text it was read from, to read again for a second way of writing. */
  text: string;
}

/**
 * A number of the model as it is written (`1.0`, `-0.0`, `5432`): the
 * document MAC covers a number's text, as for JSON field documents, so a
 * re-spelled number (`5432.0`, which PyYAML reads as a float) fails, and
 * a round trip keeps the spelling.
 */
class NumText {
  constructor(readonly text: string) {}
  toJSON(): unknown {
    return { $number: this.text };
  }
}

const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;

/** The model of a YAML node: its value (see {@link Model.obj}) and its JSON text, numbers as written. */
function modelOf(node: unknown, text: string, portable: boolean, what: string, depth = 1): { obj: unknown; json: string } {
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
function fromModelJson(jsonText: string): unknown {
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
function canonical(v: unknown): string {
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  return v instanceof NumText ? v.text : JSON.stringify(v);
}

/** A new YAML node for a model value, numbers as written. */
function makeNode(doc: YAML.Document.Parsed, v: unknown): YAML.Node {
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

const TO_STRING = { flowCollectionPadding: false, lineWidth: 0 } as const;

const charName = (c: string): string =>
  c === '\r' ? 'a lone carriage return' : c === '\ufeff' ? 'a byte order mark after the start' : `the character U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Parse a YAML field document (or, with `portable` false, a YAML text
 * inside an envelope, which only aes-payload reads). A portable document
 * (docs/FORMAT.md §13.1) reads alike in YAML 1.2 and YAML 1.1: no
 * character that YAML 1.1 takes for a line break, no directive, no explicit
 * tag, string keys only, and no plain scalar that YAML 1.1 reads otherwise.
 * Errors name the line, never the value.
 */
function model(text: string, what = 'input', portable = true): Model {
  const y = yaml();
  const lineOf = (k: number) => text.slice(0, k).split('\n').length;
  const refuse = (k: number, why: string): never => {
    throw new FormatError(`${what}: YAML line ${lineOf(k)}: ${why}`, 'ERR_YAML_PORTABLE');
  };
  if (portable) {
    const bad = YAML_FORBIDDEN.exec(text);
    if (bad) refuse(bad.index, `${charName(bad[0])}, which YAML 1.1 readers (PyYAML) take for a line break or refuse`);
  }
  const docs = y.parseAllDocuments(text, { uniqueKeys: true, strict: true, prettyErrors: false, schema: 'core' });
  if (!Array.isArray(docs) || docs.length !== 1) throw new FormatError(`${what}: a YAML field document holds exactly one document`, 'ERR_YAML');
  const doc = docs[0]!;
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0]?.line;
    throw new FormatError(`${what}: not valid YAML${line ? ` at line ${line}` : ''} (${err.code})`, 'ERR_YAML');
  }
  if (portable && (doc.directives.yaml.explicit || Object.keys(doc.directives.tags).some((t) => t !== '!!'))) {
    throw new FormatError(`${what}: a %YAML or %TAG directive, which changes how a reader reads the rest; field documents take none`, 'ERR_YAML_PORTABLE');
  }
  let bad: string | undefined;
  y.visit(doc, {
    Alias() {
      bad = 'an alias';
      return y.visit.BREAK;
    },
    Node(_k, n) {
      if (n.anchor) bad = 'an anchor';
      else if (n.tag && !['tag:yaml.org,2002:str', 'tag:yaml.org,2002:int', 'tag:yaml.org,2002:float', 'tag:yaml.org,2002:bool', 'tag:yaml.org,2002:null', 'tag:yaml.org,2002:map', 'tag:yaml.org,2002:seq'].includes(n.tag)) bad = 'a custom tag';
      else if (portable && n.tag) bad = 'an explicit tag (YAML 1.1 readers resolve tags such as !!bool their own way; quote the value instead)';
      return bad ? y.visit.BREAK : undefined;
    },
  });
  if (bad) throw new FormatError(`${what}: the YAML document has ${bad}, which field encryption does not take`, 'ERR_YAML');
  if (portable) {
    y.visit(doc, {
      Pair(_k, pair) {
        const key = pair.key;
        if (!y.isScalar(key) || typeof key.value !== 'string') refuse(y.isNode(key) ? (key.range?.[0] ?? 0) : 0, 'a key that is not a string (a number, boolean, null or collection), which the JSON model cannot hold apart; quote it');
        // A key whose ":" is on a later line: YAML 1.2 readers take it, PyYAML refuses it ("could not find expected ':'").
        const kr = (key as YAML.Scalar).range!;
        const gap = /^[ \t\r\n]*/.exec(text.slice(kr[1]))![0];
        if (gap.includes('\n') && !/^[ \t]*\?/.test(text.slice(text.lastIndexOf('\n', kr[0] - 1) + 1, kr[0]))) refuse(kr[0], 'a key whose ":" is on a later line, which YAML 1.1 readers (PyYAML) refuse; write "key:" on one line');
      },
      Scalar(_k, n) {
        const [a, b] = n.range ?? [0, 0];
        const src = text.slice(a, b);
        if (n.type === 'PLAIN' || n.type === 'QUOTE_DOUBLE' || n.type === 'QUOTE_SINGLE') {
          // Line folding inside flow scalars differs between YAML 1.1 and 1.2 readers (an escaped line break
          // before an empty line: a space for one, a new line for the other): one line each, or a block scalar.
          if (src.includes('\n')) refuse(a, `a ${n.type === 'PLAIN' ? 'plain' : 'quoted'} scalar over several lines, which YAML 1.1 and 1.2 readers fold differently; write it on one line, or as a block scalar (|)`);
        }
        if (n.type === 'QUOTE_DOUBLE') {
          const why = escapeMisread(src);
          if (why) refuse(a, why);
        }
        if (n.type !== 'PLAIN') return;
        const why = plainMisread(n.source ?? '', n.value);
        if (why) refuse(a, `a plain (unquoted) scalar: ${why}`);
      },
    });
    // Tabs: PyYAML refuses them as separators and indentation (role:\tuser, -\t"b"); they may stand only inside quoted and block scalars.
    const inside: [number, number][] = [];
    y.visit(doc, {
      Scalar(_k, n) {
        if (n.type && n.type !== 'PLAIN' && n.range) inside.push([n.range[0], n.range[1]]);
      },
    });
    for (let i = text.indexOf('\t'); i !== -1; i = text.indexOf('\t', i + 1)) {
      if (!inside.some(([a, b]) => i > a && i < b)) refuse(i, 'a tab outside a quoted or block scalar, which YAML 1.1 readers (PyYAML) refuse as a separator or indentation; use spaces');
    }
  }
  if (!y.isMap(doc.contents)) throw new FormatError('field encryption needs a YAML mapping at the top: it holds the document header', 'ERR_NOT_OBJECT');
  const { obj, json } = modelOf(doc.contents, text, portable, what);
  return { doc, obj, json, text };
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof NumText);

/**
 * Double-quote the strings of a node written anew that a YAML 1.1 reader
 * could take for something else when plain (no, 1_000, 2001-12-14, a tab),
 * keys included; with `quoteAll`, every string. Quoting is not
 * authenticated, so it is chosen for the reader, not kept from the input.
 */
function quoteStrings(node: YAML.Node, quoteAll: boolean): void {
  const y = yaml();
  const fix = (n: YAML.Scalar) => {
    if (typeof n.value !== 'string') return;
    if (quoteAll || ((n.type === undefined || n.type === 'PLAIN') && !plainKeepsString(n.value))) n.type = 'QUOTE_DOUBLE';
  };
  if (y.isScalar(node)) fix(node);
  else y.visit(node, { Scalar: (_k, n) => fix(n) });
}

/** Write into `doc` what differs between `was` and `now` (values of the model), keeping every other node, comment and order. */
function apply(doc: YAML.Document.Parsed, was: unknown, now: unknown, path: (string | number)[], quoteAll: boolean): void {
  if (isObj(was) && isObj(now)) {
    for (const k of Object.keys(was)) if (!Object.hasOwn(now, k)) doc.deleteIn([...path, k]);
    for (const [k, v] of Object.entries(now)) {
      if (!Object.hasOwn(was, k)) {
        const node = makeNode(doc, v);
        quoteStrings(node, quoteAll);
        doc.setIn([...path, k], node);
      } else apply(doc, was[k], v, [...path, k], quoteAll);
    }
    return;
  }
  if (Array.isArray(was) && Array.isArray(now) && was.length === now.length) {
    now.forEach((v, i) => apply(doc, was[i], v, [...path, i], quoteAll));
    return;
  }
  if (canonical(was) === canonical(now)) return;
  const y = yaml();
  const old = doc.getIn(path, true);
  const node = makeNode(doc, now);
  // Keep the old scalar's quoting and comments: a token goes inside the value's own quotes, and back.
  if (y.isScalar(old) && y.isScalar(node)) {
    if (typeof now === 'string' && old.type) node.type = old.type;
    if (old.comment) node.comment = old.comment;
    if (old.commentBefore) node.commentBefore = old.commentBefore;
  }
  quoteStrings(node, quoteAll);
  doc.setIn(path, node);
}

/** One scalar's YAML text for a model value (a string keeps `old`'s quoting), or undefined if it needs several lines. */
function scalarText(doc: YAML.Document.Parsed, v: unknown, old: YAML.Scalar | undefined): string | undefined {
  const y = yaml();
  const node = makeNode(doc, v);
  if (!y.isScalar(node)) return undefined;
  if (typeof v === 'string' && old?.type) node.type = old.type;
  quoteStrings(node, false);
  const d = new y.Document();
  d.contents = node;
  const s = d.toString(TO_STRING).replace(/\n$/, '');
  return s.includes('\n') || s === '' ? undefined : s;
}

/**
 * Write the model back into the document, then read the result again as a
 * portable document: it must hold exactly the model, for YAML 1.2 and 1.1
 * readers alike. If it does not, every string written is double-quoted and
 * the check made again; failing that, nothing is released.
 */
function write(m: Model, modelText: string, what: string | undefined): string {
  const want = fromModelJson(modelText);
  // First as edits of the text itself, so that nothing but the changed values moves (spacing before comments included).
  const spliced = spliceYaml(m.text, m.doc.contents, m.obj, want, {
    y: yaml(),
    isObj,
    canonical,
    scalarText: (v, old) => scalarText(m.doc, v, old),
  });
  if (spliced !== undefined) {
    try {
      if (canonical(model(spliced, what).obj) === canonical(want)) return spliced;
    } catch {
      /* not portable as spliced: write it through the yaml package below */
    }
  }
  for (const quoteAll of [false, true]) {
    const target = quoteAll ? model(m.text, what) : m;
    apply(target.doc, target.obj, want, [], quoteAll);
    const out = target.doc.toString(TO_STRING);
    try {
      if (canonical(model(out, what).obj) === canonical(want)) return out;
    } catch {
      /* not portable: try again, or refuse below */
    }
  }
  throw new FormatError(`${what ?? 'input'}: the YAML document cannot be written so that YAML 1.1 and 1.2 readers read it alike`, 'ERR_YAML_PORTABLE');
}

/**
 * Whether a text is a YAML field document, by structure: one mapping in
 * which a value has the reserved `aesp:` prefix. One that is not portable
 * (§13.1) counts too, so that decrypt names what is wrong with it.
 */
export function isYamlFieldDocument(text: string): boolean {
  if (!/(^|[\s:-])["']?aesp:/.test(text)) return false;
  for (const portable of [true, false]) {
    try {
      const m = model(text, undefined, portable);
      let found = false;
      const walk = (v: unknown): void => {
        if (found) return;
        if (typeof v === 'string') found = token.reserved(v);
        else if (Array.isArray(v)) v.forEach(walk);
        else if (isObj(v)) Object.values(v).forEach(walk);
      };
      walk(m.obj);
      return found;
    } catch (e) {
      // A document that does not read (an anchor, a tag, a duplicate key, bad indentation) but has a
      // header or token line is a YAML field document all the same: decrypt then says what is wrong.
      if (!(e instanceof FormatError && e.code === 'ERR_YAML_PORTABLE')) return e instanceof FormatError && YAML_FIELD_LINE.test(text);
    }
  }
  return false;
}

/** A line of a YAML field document: the header (`aesp: aesp:2:doc:…`) or `key: aesp:2:…`, in any quoting. */
const YAML_FIELD_LINE = /^aesp:[ \t]+["']?aesp:\d+:doc:|^[ \t-]*[^\s:#'"][^:#\n]*:[ \t]+["']?aesp:\d+:[A-Za-z0-9]/m;

/**
 * The field operations on YAML texts (paths as for JSON). Call {@link loadYaml} first.
 *
 * @example
 * ```ts
 * await loadYaml();
 * yamlFields.encrypt('db:\n  password: hunter2 # rotate\n', key, { paths: parsePaths('db.password') }).text;
 * // 'db:\n  password: aesp:2:A256GCM:… # rotate\naesp: aesp:2:doc:all:…\n'
 * ```
 */
export const yamlFields: FieldCodec = withNumberHint(overModel(yamlModel));

/** A YAML field document as its JSON model (FORMAT.md §12). Call {@link loadYaml} first. */
export function yamlModel(text: string, what?: string): DocModel {
  const m = model(text, what);
  return { json: m.json, paths: (p) => p, write: (t) => write(m, t, what) };
}

/**
 * aes-payload 0.3 authenticated a YAML number as JSON writes its value
 * (`1.0` as `1`); 0.4 authenticates it as written. A document 0.3 sealed
 * with such a number fails (exit 1): say so, from the document's text alone
 * (a public fact, as the kids in that message are), and where the way out is.
 */
function withNumberHint(codec: FieldCodec): FieldCodec {
  const respelled = (text: string): boolean => {
    let found = false;
    try {
      yaml().visit(yaml().parseDocument(text), {
        Scalar(_k, n) {
          if (typeof n.value === 'number' && n.type === 'PLAIN' && n.source !== undefined && n.source !== (Object.is(n.value, -0) ? '-0' : JSON.stringify(n.value))) found = true;
        },
      });
    } catch {
      /* not readable: no hint */
    }
    return found;
  };
  const hinted = <A extends unknown[], R>(f: (text: string, ...rest: A) => R) => (text: string, ...rest: A): R => {
    try {
      return f(text, ...rest);
    } catch (e) {
      if (!(e instanceof AuthError) || e.code !== 'ERR_AUTH' || !respelled(text)) throw e;
      const detail = e.message.startsWith(`${AUTH_FAILED_MESSAGE} (`) ? `${e.message.slice(AUTH_FAILED_MESSAGE.length + 2, -1)}; ` : '';
      throw new AuthError(`${detail}it has numbers not written as JSON writes them (1.0, -0.0): aes-payload 0.3 authenticated those as JSON writes them, 0.4 as written; see docs/FORMAT.md §13.2`);
    }
  };
  return { ...codec, decrypt: hinted(codec.decrypt), check: hinted(codec.check), rotate: hinted(codec.rotate), reencrypt: hinted(codec.reencrypt) };
}

/**
 * The JSON text of a plaintext YAML document (for exec and --extract), read
 * as YAML 1.2 core. Only aes-payload reads it here, so the YAML 1.1 rules of
 * field documents do not apply.
 */
export function yamlToJson(text: string, what?: string): string {
  return model(text, what, false).json;
}

/** Check a YAML text as a field document reads it (§13.1: portable), for `edit` to report before it encrypts. */
export function checkYamlFieldText(text: string, what?: string): void {
  model(text, what);
}

/** Whether a file name is a YAML file. */
export function isYamlFileName(name: string): boolean {
  return /\.ya?ml(\.(aesp|enc))?$/i.test(name);
}

const YAML_HINT = /^aesp:[ \t]|:[ \t]+["']?aesp:[12]:/m;

/**
 * Load the `yaml` package when an input may need it: a YAML file name, or a
 * text with a YAML header line or token. Everything else starts without it.
 */
export async function loadYamlFor(text: string | Uint8Array | undefined, file?: string, format?: string): Promise<void> {
  if (Y) return;
  if (format === 'yaml') return loadYaml();
  const t = text === undefined ? '' : typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('latin1');
  if ((file !== undefined && isYamlFileName(file)) || YAML_HINT.test(t)) await loadYaml();
}
