import type * as YAML from 'yaml';
import { plainKeepsString } from './yamlPortable.js';

/**
 * Write a YAML field document's changes as edits of its own text (issue 23:
 * "YAML byte for byte"): a changed scalar is replaced inside its source
 * range, a new key of a block mapping is a new line after the mapping's last
 * entry (indented as its first key), a removed key's line is dropped.
 * Everything else (white space before comments, blank lines, quoting of
 * untouched values) stays exactly as it was. Anything this cannot do as a
 * text edit (a changed collection, a flow mapping, a multi-line scalar)
 * returns undefined, and the caller writes the document through the `yaml`
 * package instead. The caller checks the result reads as intended.
 */
export interface SpliceHelpers {
  y: typeof YAML;
  isObj(v: unknown): v is Record<string, unknown>;
  canonical(v: unknown): string;
  /** A new scalar node for a model value, quoted as the reader needs (and as `old` was, for a string). */
  scalarText(v: unknown, old: YAML.Scalar | undefined): string | undefined;
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

const QUOTED_OR_PLAIN = new Set(['PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE']);

export function spliceYaml(text: string, root: unknown, was: unknown, now: unknown, h: SpliceHelpers): string | undefined {
  const { y } = h;
  const edits: Edit[] = [];
  const lineStart = (k: number) => text.lastIndexOf('\n', k - 1) + 1;
  const lineEnd = (k: number) => {
    const n = text.indexOf('\n', k);
    return n === -1 ? text.length : n + 1;
  };
  const fail = (): never => {
    throw new Splice();
  };
  const keyText = (k: string): string => (/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(k) && plainKeepsString(k) ? k : JSON.stringify(k));
  const walk = (node: unknown, a: unknown, b: unknown): void => {
    if (h.isObj(a) && h.isObj(b)) {
      if (!y.isMap(node) || node.flow) {
        if (h.canonical(a) === h.canonical(b)) return;
        fail();
      }
      const map = node as YAML.YAMLMap;
      const pairOf = (k: string) => map.items.find((p) => y.isScalar(p.key) && String(p.key.value) === k);
      for (const k of Object.keys(a)) {
        if (Object.hasOwn(b, k)) continue;
        const p = pairOf(k) ?? fail();
        const ks = (p.key as YAML.Scalar).range?.[0] ?? fail();
        const v = p.value;
        if (!y.isScalar(v) || !v.range || !QUOTED_OR_PLAIN.has(v.type ?? '')) fail();
        const vs = v as YAML.Scalar;
        const s = lineStart(ks);
        if (text.slice(s, ks).trim() !== '' || (vs.commentBefore ?? '') !== '') fail();
        const after = text.slice(vs.range![1], lineEnd(vs.range![1]));
        if (!/^[ \t]*(#.*)?\n?$/.test(after)) fail();
        edits.push({ start: s, end: lineEnd(vs.range![1]), text: '' });
      }
      const added = Object.keys(b).filter((k) => !Object.hasOwn(a, k));
      if (added.length) {
        const first = map.items[0];
        const last = map.items[map.items.length - 1];
        if (!first || !last || !y.isScalar(first.key) || !first.key.range) fail();
        const ks = (first!.key as YAML.Scalar).range![0];
        const indent = text.slice(lineStart(ks), ks);
        if (!/^ *$/.test(indent)) fail();
        const lastNode = (y.isNode(last!.value) ? last!.value : last!.key) as YAML.Node;
        const end = lastNode.range?.[1] ?? fail();
        const at = lineEnd(end);
        let ins = at === text.length && !text.endsWith('\n') ? '\n' : '';
        for (const k of added) {
          const v = b[k];
          if (h.isObj(v) || Array.isArray(v)) fail();
          const vt = h.scalarText(v, undefined) ?? fail();
          ins += `${indent}${keyText(k)}: ${vt}\n`;
        }
        edits.push({ start: at, end: at, text: ins });
      }
      for (const k of Object.keys(b)) if (Object.hasOwn(a, k)) walk(pairOf(k)?.value ?? fail(), a[k], b[k]);
      return;
    }
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      if (!y.isSeq(node)) fail();
      a.forEach((v, i) => walk((node as YAML.YAMLSeq).items[i], v, b[i]));
      return;
    }
    if (h.canonical(a) === h.canonical(b)) return;
    if (h.isObj(b) || Array.isArray(b)) fail();
    if (!y.isScalar(node) || !node.range || !QUOTED_OR_PLAIN.has(node.type ?? '')) fail();
    const sc = node as YAML.Scalar;
    const t = h.scalarText(b, sc) ?? fail();
    edits.push({ start: sc.range![0], end: sc.range![1], text: t });
  };
  try {
    walk(root, was, now);
  } catch (e) {
    if (e instanceof Splice) return undefined;
    throw e;
  }
  edits.sort((p, q) => p.start - q.start);
  let out = '';
  let at = 0;
  for (const e of edits) {
    if (e.start < at) return undefined;
    out += text.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + text.slice(at);
}

class Splice extends Error {}
