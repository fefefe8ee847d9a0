import type * as YAML from 'yaml';
import { FormatError } from '../../errors.js';
import { yaml } from './yamlLoad.js';
import { plainKeepsString } from './yamlPortable.js';
import { model, type Model } from './yamlRead.js';
import { spliceYaml } from './yamlSplice.js';
import { canonical, fromModelJson, isObj, makeNode } from './yamlValues.js';

// Writing a changed model back into its YAML document, keeping every other
// node, comment and order, so that YAML 1.1 and 1.2 readers read it alike.

const TO_STRING = { flowCollectionPadding: false, lineWidth: 0 } as const;

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
export function write(m: Model, modelText: string, what: string | undefined): string {
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
