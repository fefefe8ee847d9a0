import { FormatError, UsageError, quote } from '../../errors.js';
import type { JsonNode } from '../common/jsonSpans.js';

/** One step of a field path. */
export type Segment = { key: string } | { index: number } | { any: true } | { deep: true };

/** A concrete location: object keys and array indexes from the root. */
export type Location = (string | number)[];

export interface FieldPath {
  text: string;
  segments: Segment[];
}

/**
 * Parse a comma-separated list of field paths (README, "Field paths"):
 * `card.number`, `users[*].ssn`, `items[0]`, `secrets.*`, `a["odd.key"]`,
 * `**.password`. Commas inside `["…"]` do not split.
 *
 * @example
 * ```ts
 * parsePaths('card.number,users[*].ssn');
 * ```
 */
export function parsePaths(list: string): FieldPath[] {
  const out: FieldPath[] = [];
  let i = 0;
  let start = 0;
  let inQuote = false;
  for (; i <= list.length; i++) {
    const c = list[i];
    if (inQuote) {
      if (c === '\\') i++;
      else if (c === '"') inQuote = false;
      continue;
    }
    if (c === '"') inQuote = true;
    else if (c === ',' || c === undefined) {
      const t = list.slice(start, i).trim();
      if (t) out.push({ text: t, segments: parsePath(t) });
      start = i + 1;
    }
  }
  if (!out.length) throw new UsageError('no field paths given');
  return out;
}

function parsePath(p: string): Segment[] {
  const segs: Segment[] = [];
  let i = 0;
  const bad = (why: string): never => {
    throw new UsageError(`field path ${quote(p, 60)}: ${why}`);
  };
  const ident = /[^.[\]"]+/y;
  let needDot = false;
  while (i < p.length) {
    if (p[i] === '[') {
      const close = p.indexOf(']', i);
      if (p[i + 1] === '"') {
        // ["key"]: a JSON string
        let j = i + 2;
        while (j < p.length && p[j] !== '"') j += p[j] === '\\' ? 2 : 1;
        if (p[j + 1] !== ']') bad('unterminated ["…"]');
        let key: string;
        try {
          key = JSON.parse(p.slice(i + 1, j + 1)) as string;
        } catch {
          return bad('invalid string in ["…"]');
        }
        segs.push({ key });
        i = j + 2;
      } else {
        if (close < 0) bad('unterminated [');
        const inner = p.slice(i + 1, close);
        if (inner === '*') segs.push({ any: true });
        else if (/^(0|[1-9][0-9]*)$/.test(inner)) segs.push({ index: Number(inner) });
        else bad(`[${inner}] is not [*], [N] or ["key"]`);
        i = close + 1;
      }
      needDot = true;
      continue;
    }
    if (needDot) {
      if (p[i] !== '.') bad(`expected "." at ${i}`);
      i++;
    }
    if (p.startsWith('**', i) && (i + 2 === p.length || p[i + 2] === '.' || p[i + 2] === '[')) {
      segs.push({ deep: true });
      i += 2;
    } else if (p[i] === '*' && (i + 1 === p.length || p[i + 1] === '.' || p[i + 1] === '[')) {
      segs.push({ any: true });
      i += 1;
    } else {
      ident.lastIndex = i;
      if (!ident.test(p)) bad(`expected a name at ${i}`);
      segs.push({ key: p.slice(i, ident.lastIndex) });
      i = ident.lastIndex;
    }
    needDot = true;
  }
  if (!segs.length) bad('empty');
  if ('deep' in segs[segs.length - 1]!) bad('"**" must be followed by a name');
  return segs;
}

/**
 * Every location in the tree that a path selects, in document order. Linear
 * in the size of the tree times the number of segments: each (node, segment)
 * pair is visited once however many `**` the path has, and a location is
 * built only for a match.
 *
 * @example
 * ```ts
 * select(root, parsePaths('users[*].ssn')[0]); // [{ loc: ['users', 0, 'ssn'], node }, …]
 * ```
 */
export function select(root: JsonNode, path: FieldPath): { loc: Location; node: JsonNode }[] {
  const out: { loc: Location; node: JsonNode }[] = [];
  const segs = path.segments;
  const visited = new Map<JsonNode, Set<number>>();
  const steps: Location = [];
  const walk = (node: JsonNode, si: number): void => {
    let v = visited.get(node);
    if (!v) visited.set(node, (v = new Set()));
    if (v.has(si)) return;
    v.add(si);
    if (si === segs.length) {
      if (!v.has(-1)) {
        v.add(-1);
        out.push({ loc: [...steps], node });
      }
      return;
    }
    const s = segs[si]!;
    if ('deep' in s) {
      walk(node, si + 1); // zero levels
      children(node, (child, step) => {
        steps.push(step);
        walk(child, si);
        steps.pop();
      });
      return;
    }
    children(node, (child, step) => {
      if ('any' in s || ('key' in s && s.key === step) || ('index' in s && s.index === step)) {
        steps.push(step);
        walk(child, si + 1);
        steps.pop();
      }
    });
  };
  walk(root, 0);
  return out.sort((a, b) => a.node.start - b.node.start);
}

function children(node: JsonNode, f: (child: JsonNode, step: string | number) => void): void {
  if (node.kind === 'object') for (const e of node.entries) f(e.value, e.key);
  else if (node.kind === 'array') node.items.forEach((v, i) => f(v, i));
}

/**
 * Every node in the tree, in document order. `loc()` builds the node's
 * location on demand (it is only valid during the call).
 */
export function walkAll(root: JsonNode, f: (node: JsonNode, loc: () => Location) => void): void {
  const steps: Location = [];
  const loc = () => [...steps];
  const go = (node: JsonNode): void => {
    f(node, loc);
    children(node, (c, step) => {
      steps.push(step);
      go(c);
      steps.pop();
    });
  };
  go(root);
}

/** Every value the paths select; a path that selects nothing is an error unless `allowMissing`. */
export function selectAll(root: JsonNode, paths: FieldPath[], allowMissing: boolean): { loc: Location; node: JsonNode }[] {
  const picked: { loc: Location; node: JsonNode }[] = [];
  for (const p of paths) {
    const found = select(root, p);
    if (!found.length && !allowMissing) throw new FormatError(`field path ${p.text} matches nothing (pass --allow-missing to allow that)`, 'ERR_PATH_MISSING');
    picked.push(...found);
  }
  return picked;
}

/** The selected values in document order, outermost first, leaving out those inside another selected one (or repeats). */
export function outermost<T extends { node: JsonNode }>(picked: T[]): T[] {
  picked.sort((a, b) => a.node.start - b.node.start || b.node.end - a.node.end);
  let coveredTo = -1;
  return picked.filter(({ node }) => {
    if (node.start < coveredTo) return false;
    coveredTo = node.end;
    return true;
  });
}
