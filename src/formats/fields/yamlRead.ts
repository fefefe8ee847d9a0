import type * as YAML from 'yaml';
import { FormatError } from '../../errors.js';
import { yaml } from './yamlLoad.js';
import { YAML_FORBIDDEN, escapeMisread, plainMisread } from './yamlPortable.js';
import { modelOf } from './yamlValues.js';

/** A parsed YAML document and its JSON model. */
export interface Model {
  doc: YAML.Document.Parsed;
  /** The model's value: null-prototype objects, arrays, strings, booleans, null and {@link NumText} for numbers. */
  obj: unknown;
  json: string;
  /** The text it was read from, to read again for a second way of writing. */
  text: string;
}

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
export function model(text: string, what = 'input', portable = true): Model {
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
