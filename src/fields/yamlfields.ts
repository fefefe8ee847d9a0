import type * as YAML from 'yaml';
import { FormatError } from '../errors.js';
import { loadVendored } from '../io/vendor.js';
import * as token from '../formats/token.js';
import { overModel } from './model.js';

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
  obj: unknown;
  json: string;
}

const TO_STRING = { flowCollectionPadding: false, lineWidth: 0 } as const;

function model(text: string, what = 'input'): Model {
  const y = yaml();
  const docs = y.parseAllDocuments(text, { uniqueKeys: true, strict: true, prettyErrors: false, schema: 'core' });
  if (!Array.isArray(docs) || docs.length !== 1) throw new FormatError(`${what}: a YAML field document holds exactly one document`, 'ERR_YAML');
  const doc = docs[0]!;
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0]?.line;
    throw new FormatError(`${what}: not valid YAML${line ? ` at line ${line}` : ''} (${err.code})`, 'ERR_YAML');
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
      return bad ? y.visit.BREAK : undefined;
    },
  });
  if (bad) throw new FormatError(`${what}: the YAML document has ${bad}, which field encryption does not take`, 'ERR_YAML');
  const obj = doc.toJS({ maxAliasCount: 0 }) as unknown;
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new FormatError('field encryption needs a YAML mapping at the top: it holds the document header', 'ERR_NOT_OBJECT');
  const json = JSON.stringify(obj, (_k, v) => {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new FormatError(`${what}: .inf and .nan have no JSON form`, 'ERR_YAML');
    if (typeof v === 'bigint') return v.toString();
    return v;
  });
  return { doc, obj, json };
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Write into `doc` what differs between `was` and `now` (values of the model), keeping every other node, comment and order. */
function apply(doc: YAML.Document.Parsed, was: unknown, now: unknown, path: (string | number)[]): void {
  if (isObj(was) && isObj(now)) {
    for (const k of Object.keys(was)) if (!Object.hasOwn(now, k)) doc.deleteIn([...path, k]);
    for (const [k, v] of Object.entries(now)) {
      if (!Object.hasOwn(was, k)) doc.setIn([...path, k], doc.createNode(v));
      else apply(doc, was[k], v, [...path, k]);
    }
    return;
  }
  if (Array.isArray(was) && Array.isArray(now) && was.length === now.length) {
    now.forEach((v, i) => apply(doc, was[i], v, [...path, i]));
    return;
  }
  if (JSON.stringify(was) === JSON.stringify(now)) return;
  const y = yaml();
  const old = doc.getIn(path, true);
  const node = doc.createNode(now);
  // Keep the old scalar's quoting and comments: a token goes inside the value's own quotes, and back.
  if (y.isScalar(old) && y.isScalar(node)) {
    if (typeof now === 'string' && old.type) node.type = old.type;
    if (old.comment) node.comment = old.comment;
    if (old.commentBefore) node.commentBefore = old.commentBefore;
  }
  doc.setIn(path, node);
}

function write(m: Model, modelText: string): string {
  apply(m.doc, m.obj, JSON.parse(modelText), []);
  return m.doc.toString(TO_STRING);
}

/** Whether a text is a YAML field document, by structure: one mapping in which a value has the reserved `aesp:` prefix. */
export function isYamlFieldDocument(text: string): boolean {
  if (!/(^|[\s:-])["']?aesp:/.test(text)) return false;
  try {
    const m = model(text);
    let found = false;
    const walk = (v: unknown): void => {
      if (found) return;
      if (typeof v === 'string') found = token.reserved(v);
      else if (Array.isArray(v)) v.forEach(walk);
      else if (isObj(v)) Object.values(v).forEach(walk);
    };
    walk(m.obj);
    return found;
  } catch {
    return false;
  }
}

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
export const yamlFields = overModel((text, what) => {
  const m = model(text, what);
  return { json: m.json, paths: (p) => p, write: (t) => write(m, t) };
});

/** The JSON text of a plaintext YAML document (for exec and --extract). */
export function yamlToJson(text: string, what?: string): string {
  return model(text, what).json;
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
export async function loadYamlFor(text: string | Uint8Array | undefined, file?: string): Promise<void> {
  if (Y) return;
  const t = text === undefined ? '' : typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('latin1');
  if ((file !== undefined && isYamlFileName(file)) || YAML_HINT.test(t)) await loadYaml();
}
