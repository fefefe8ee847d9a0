import { parseJsonSpans } from '../formats/common/jsonSpans.js';
import { parsePortableEnv } from '../formats/fields/dotenv.js';
import { HEADER_MEMBER } from '../formats/fields/fields.js';
import { walkAll, type FieldPath, type Location } from '../formats/fields/paths.js';
import { yamlToJson } from '../formats/fields/yamlfields.js';
import { regexSelects, type DocType, type Rule } from './rules.js';

/** A field path that selects exactly one location. */
export function exactPath(loc: Location): FieldPath {
  const text = loc.map((s) => (typeof s === 'number' ? `[${s}]` : `[${JSON.stringify(s)}]`)).join('');
  return { text, segments: loc.map((s) => (typeof s === 'number' ? { index: s } : { key: s })) };
}

/**
 * The field paths a rule selects in a (plaintext or partly encrypted)
 * document: its `fields` as they are, and for `fields-regex` every value
 * whose key name matches (as sops' encrypted_regex: the whole value under a
 * matching key). YAML must be loaded first (loadYaml).
 */
export function rulePaths(rule: Rule, text: string, type: DocType): FieldPath[] {
  const out: FieldPath[] = [...(rule.fields ?? [])];
  const re = rule.fieldsRegex;
  if (!re) return out;
  if (type === 'env') {
    for (const e of parsePortableEnv(text).entries) if (e.name !== HEADER_MEMBER && regexSelects(re, e.name)) out.push({ text: e.name, segments: [{ key: e.name }] });
    return out;
  }
  const json = type === 'yaml' ? yamlToJson(text) : text;
  const root = parseJsonSpans(json, 'the document');
  let inside = -1;
  walkAll(root, (node, loc) => {
    if (node.start < inside) return;
    const l = loc();
    const last = l[l.length - 1];
    if (l.length === 1 && last === HEADER_MEMBER) return;
    if (typeof last === 'string' && regexSelects(re, last)) {
      out.push(exactPath(l));
      inside = node.end;
    }
  });
  return out;
}
