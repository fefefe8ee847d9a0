import { parseJsonSpans, type JsonNode } from '../formats/common/jsonSpans.js';
import { fieldCodec, type FieldFormat } from '../formats/fields/documents.js';
import type { FieldsKey } from '../formats/fields/jsonDoc.js';
import type { FieldPath, Location } from '../formats/fields/paths.js';
import { exactPath } from '../rules/fields.js';
import { applyEdits, modelOf, typeOfKind } from './docs.js';

/**
 * The value a conflicting location takes in a merged document (inside its
 * token: the markers are never written in the clear). `verify` fails on it,
 * and `edit` shows it in plaintext for a person to resolve.
 */
export const CONFLICT_PREFIX = '<<<<<<< ours ';

/** Whether a decrypted value is an unresolved merge conflict. */
export function isConflictValue(v: string): boolean {
  return v.startsWith(CONFLICT_PREFIX) && v.includes(' >>>>>>> ');
}

type Node = { node: JsonNode; src: string } | undefined;

function canon(n: Node): string {
  if (!n) return '\u0000';
  const go = (x: JsonNode): string => {
    if (x.kind === 'object') return `{${[...x.entries].sort((p, q) => (p.key < q.key ? -1 : p.key > q.key ? 1 : 0)).map((e) => `${JSON.stringify(e.key)}:${go(e.value)}`).join(',')}}`;
    if (x.kind === 'array') return `[${x.items.map(go).join(',')}]`;
    if (x.kind === 'string') return JSON.stringify(x.value);
    return n.src.slice(x.start, x.end);
  };
  return go(n.node);
}

const raw = (n: Node): string | undefined => (n ? n.src.slice(n.node.start, n.node.end) : undefined);
const child = (n: Node, k: string): Node => {
  if (!n || n.node.kind !== 'object') return undefined;
  const e = n.node.entries.find((x) => x.key === k);
  return e ? { node: e.value, src: n.src } : undefined;
};
const compact = (j: string | undefined): string => {
  if (j === undefined) return '(deleted)';
  try {
    return JSON.stringify(JSON.parse(j));
  } catch {
    return j;
  }
};

/** Compact JSON with every character a single-quoted .env value cannot hold as a \u escape (inside JSON strings, the only place they occur). */
function envSafe(json: string): string {
  return json.replace(/\\\\|['$]|[^\x20-\x7e]/gu, (c) => (c === '\\\\' ? '\\u005c' : c.split('').map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')));
}

export interface MergeOutcome {
  text: string;
  /** Locations (compact JSON) whose values conflict. */
  conflicts: string[];
  /** Values taken from theirs. */
  taken: number;
}

/**
 * Three-way merge of field documents over their decrypted values (the
 * git merge driver). `ours` is the document written back: values it keeps
 * keep their tokens byte for byte; values taken from `theirs` are sealed
 * anew; a location both sides changed differently gets a conflict value
 * (encrypted). `base` may be absent (both sides added the file).
 */
export function mergeFields(kind: FieldFormat, base: string | undefined, ours: string, theirs: string, key: FieldsKey, extraPaths: (plain: string) => FieldPath[] = () => [], baseEncrypted = true): MergeOutcome {
  const codec = fieldCodec(kind);
  const type = typeOfKind(kind);
  const open = (t: string) => codec.decrypt(t, key, {});
  const a = open(ours);
  const b = open(theirs);
  // A base that was not encrypted yet (both sides encrypted it since) is read as the plaintext it is.
  const o = base === undefined ? undefined : baseEncrypted ? open(base) : { text: base };
  const tree = (t: string): Node => {
    const src = modelOf(type, t).json;
    return { node: parseJsonSpans(src, 'the document'), src };
  };
  const [ta, tb, to] = [tree(a.text), tree(b.text), o ? tree(o.text) : undefined];
  const edits: { loc: Location; json?: string }[] = [];
  const conflicts: Location[] = [];
  let taken = 0;
  const walk = (on: Node, an: Node, bn: Node, loc: Location): void => {
    const [ca, cb, co] = [canon(an), canon(bn), canon(on)];
    if (ca === cb) return;
    if (co === ca) {
      edits.push({ loc, ...(bn ? { json: raw(bn)! } : {}) });
      taken++;
      return;
    }
    if (co === cb) return;
    if (an?.node.kind === 'object' && bn?.node.kind === 'object' && (!on || on.node.kind === 'object')) {
      const keys = [...an.node.entries.map((e) => e.key), ...bn.node.entries.map((e) => e.key)];
      for (const k of new Set(keys)) walk(child(on, k), child(an, k), child(bn, k), [...loc, k]);
      return;
    }
    conflicts.push(loc);
    // In a .env every side is a JSON string; written with \u escapes for what a .env value in single
    // quotes cannot hold (', $, \, control and non-ASCII characters), so that the conflict value can
    // always be written (and verify fails on it) instead of leaving ours and losing theirs.
    const side = (n: Node) => (type === 'env' ? envSafe(compact(raw(n))) : compact(raw(n)));
    const v = `${CONFLICT_PREFIX}${side(an)} ||||||| base ${on ? side(on) : '(none)'} ======= theirs ${side(bn)} >>>>>>> (keep one value)`;
    edits.push({ loc, json: JSON.stringify(v) });
  };
  walk(to, ta, tb, []);
  const where = conflicts.map((l) => JSON.stringify(l));
  if (!edits.length) return { text: ours, conflicts: where, taken };
  const merged = applyEdits(type, a.text, edits);
  // Seal what theirs had sealed, what conflicts, and what the rules select; ours' tokens are kept by reencrypt.
  const paths = [...b.tokenPaths.map(exactPath), ...conflicts.map(exactPath), ...extraPaths(merged)];
  const r = codec.reencrypt(ours, merged, key, { paths });
  return { text: r.text, conflicts: where, taken };
}

/** The locations of a field document whose decrypted values are unresolved merge conflicts (for verify). */
export function conflictsIn(kind: FieldFormat, text: string, key: FieldsKey): string[] {
  const d = fieldCodec(kind).decrypt(text, key, {});
  const src = modelOf(typeOfKind(kind), d.text).json;
  const out: string[] = [];
  const walk = (n: JsonNode, loc: Location): void => {
    if (n.kind === 'string' && isConflictValue(n.value)) out.push(JSON.stringify(loc));
    else if (n.kind === 'object') for (const e of n.entries) walk(e.value, [...loc, e.key]);
    else if (n.kind === 'array') n.items.forEach((x, i) => walk(x, [...loc, i]));
  };
  walk(parseJsonSpans(src, 'the document'), []);
  return out;
}
