import { FormatError, UsageError } from '../errors.js';
import { parseJsonSpans, type JsonNode } from '../formats/common/jsonSpans.js';
import { fieldCodec, isFieldFormat, type FieldFormat } from '../formats/fields/documents.js';
import { envModel } from '../formats/fields/envfields.js';
import type { FieldsKey } from '../formats/fields/jsonDoc.js';
import { loadYamlFor } from '../formats/fields/yamlLoad.js';
import { yamlModel } from '../formats/fields/yamlfields.js';
import type { DocModel } from '../formats/fields/model.js';
import type { Location } from '../formats/fields/paths.js';
import { detectFormat } from '../ops/index.js';
import type { DocType } from '../rules/rules.js';

/** Field-document kind of a text, by its content alone (never its path), or undefined when it holds nothing encrypted. */
export async function encryptedKind(text: string): Promise<FieldFormat | undefined> {
  await loadYamlFor(text);
  try {
    const f = detectFormat(text, 'auto');
    return isFieldFormat(f) ? f : undefined;
  } catch {
    return undefined;
  }
}

export const kindOfType = (t: DocType): FieldFormat => (t === 'json' ? 'fields' : t);
export const typeOfKind = (k: FieldFormat): DocType => (k === 'fields' ? 'json' : k);

/** A document of a type as its JSON model (a JSON document is its own model). */
export function modelOf(type: DocType, text: string, what?: string): DocModel {
  if (type === 'env') return envModel(text, what);
  if (type === 'yaml') return yamlModel(text, what);
  parseJsonSpans(text, what);
  return { json: text, paths: (p) => p, write: (t) => t };
}

/** Decrypt a field document in memory: its plaintext text. */
export function plaintextOf(kind: FieldFormat, text: string, key: FieldsKey, what?: string): string {
  return fieldCodec(kind).decrypt(text, key, what !== undefined ? { what } : {}).text;
}

function nodeAt(root: JsonNode, loc: Location): { node?: JsonNode; parent?: JsonNode } {
  let node: JsonNode | undefined = root;
  let parent: JsonNode | undefined;
  for (const step of loc) {
    parent = node;
    if (!node) return {};
    if (typeof step === 'number') node = node.kind === 'array' ? node.items[step] : undefined;
    else node = node.kind === 'object' ? node.entries.find((e) => e.key === step)?.value : undefined;
  }
  return { node, parent };
}

/**
 * Set the value at `loc` of a JSON text to `valueJson`, keeping every other
 * byte: a value in place, or a new last member of an existing object in the
 * object's own style.
 */
export function jsonSet(text: string, loc: Location, valueJson: string): string {
  const root = parseJsonSpans(text, 'the document');
  const { node, parent } = nodeAt(root, loc);
  if (node) return text.slice(0, node.start) + valueJson + text.slice(node.end);
  const key = loc[loc.length - 1];
  if (!parent) throw new UsageError(`cannot set ${JSON.stringify(loc)}: its parent does not exist in the document; set the parent first (for example to {} with --value-json)`);
  if (parent.kind !== 'object' || typeof key !== 'string') throw new UsageError(`cannot set ${JSON.stringify(loc)}: its parent is ${parent.kind === 'array' ? 'an array (set an existing index)' : `a ${parent.kind}, not an object`}`);
  const es = parent.entries;
  const k = JSON.stringify(key);
  if (!es.length) return `${text.slice(0, parent.start + 1)}${k}:${valueJson}${text.slice(parent.end - 1)}`;
  const last = es[es.length - 1]!;
  const sep = es.length >= 2 ? text.slice(es[es.length - 2]!.value.end, last.keyStart) : `,${text.slice(parent.start + 1, es[0]!.keyStart)}`;
  const colon = text.slice(last.keyEnd, last.value.start);
  return `${text.slice(0, last.value.end)}${sep}${k}${colon}${valueJson}${text.slice(last.value.end)}`;
}

/** Remove the member at `loc` (an object member) from a JSON text. */
export function jsonDelete(text: string, loc: Location): string {
  const root = parseJsonSpans(text, 'the document');
  const { parent } = nodeAt(root, loc);
  const key = loc[loc.length - 1];
  if (!parent || parent.kind !== 'object') throw new FormatError(`cannot remove ${JSON.stringify(loc)}`, 'ERR_MERGE');
  const es = parent.entries;
  const i = es.findIndex((e) => e.key === key);
  if (i < 0) return text;
  let start: number;
  let end: number;
  if (es.length === 1) [start, end] = [es[0]!.keyStart, es[0]!.value.end];
  else if (i === es.length - 1) [start, end] = [es[i - 1]!.value.end, es[i]!.value.end];
  else [start, end] = [es[i]!.keyStart, es[i + 1]!.keyStart];
  return text.slice(0, start) + text.slice(end);
}

/** Apply model edits (set or remove, by location) to a document's plaintext, through its model. */
export function applyEdits(type: DocType, text: string, edits: { loc: Location; json?: string }[], what?: string): string {
  const m = modelOf(type, text, what);
  let json = m.json;
  for (const e of edits) json = e.json === undefined ? jsonDelete(json, e.loc) : jsonSet(json, e.loc, e.json);
  return type === 'json' ? json : m.write(json);
}
