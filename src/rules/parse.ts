import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type * as YAML from 'yaml';
import { FormatError } from '../errors.js';
import { parsePaths } from '../formats/fields/paths.js';
import { loadVendored } from '../io/vendor.js';
import { KEY_ENCODINGS, type KeyEncoding } from '../keys/decode.js';
import type { KeySource } from '../keys/source.js';
import { globRegex } from './globs.js';
import { unboundedRegex } from './regex.js';
import type { DocType, Rule, Rules } from './rules.js';

// Reading a rules file (docs/FORMAT.md §16.2): strict YAML, every key known.

/** Key flags a rules file may name (as the command-line flags, without `--`). Never `key-cmd`: a committed file must not run commands. */
const KEY_FIELDS: Record<string, keyof KeySource> = {
  'key-env': 'keyEnv',
  'key-file': 'keyFile',
  keyring: 'keyring',
  ini: 'ini',
  'ini-section': 'iniSection',
  'ini-key': 'iniKey',
  'key-encoding': 'keyEncoding',
  'passphrase-env': 'passphraseEnv',
  'passphrase-file': 'passphraseFile',
};
const FILE_FIELDS = new Set(['key-file', 'keyring', 'ini', 'passphrase-file']);
const RULE_FIELDS = new Set(['path', 'fields', 'fields-regex', 'type', 'key', 'recipients', 'recipients-file']);
const TOP_FIELDS = new Set(['version', 'key', 'rules']);

let Y: typeof YAML | undefined;
async function yaml(): Promise<typeof YAML> {
  Y ??= loadVendored<typeof YAML>('yaml') ?? (await import('yaml'));
  return Y;
}

/** Parse a rules file's text strictly: every unknown key, wrong type or bad glob is refused with its line. */
export async function parseRules(text: string, file: string): Promise<Rules> {
  const y = await yaml();
  const lineOf = (n: unknown): number => {
    const r = y.isNode(n) ? n.range : undefined;
    return r ? text.slice(0, r[0]).split('\n').length : 1;
  };
  const bad = (n: unknown, why: string): never => {
    throw new FormatError(`${file}: line ${lineOf(n)}: ${why}`, 'ERR_RULES');
  };
  const doc = y.parseDocument(text, { uniqueKeys: true, strict: true, prettyErrors: false, schema: 'core' });
  const err = doc.errors[0];
  if (err) throw new FormatError(`${file}: line ${err.linePos?.[0]?.line ?? 1}: not valid YAML (${err.code})`, 'ERR_RULES');
  let alias = false;
  y.visit(doc, { Alias: () => void (alias = true) });
  if (alias) throw new FormatError(`${file}: aliases are not taken in a rules file`, 'ERR_RULES');
  const root = doc.contents;
  if (!y.isMap(root)) return bad(root, 'the rules file is a mapping with a "rules" list');
  const str = (n: unknown, what: string): string => (y.isScalar(n) && typeof n.value === 'string' && n.value !== '' ? n.value : bad(n, `${what} is a non-empty string`));
  const strList = (n: unknown, what: string): string[] => {
    if (y.isSeq(n)) {
      if (!n.items.length) bad(n, `${what} is a non-empty list`);
      return n.items.map((i) => str(i, `each entry of ${what}`));
    }
    return [str(n, `${what} (a string or a list of strings)`)];
  };
  const keyOf = (n: unknown): KeySource => {
    if (!y.isMap(n)) return bad(n, 'key is a mapping such as {key-file: ~/.config/aes-payload/team.key}');
    const ks: KeySource = {};
    for (const p of n.items) {
      const k = y.isScalar(p.key) ? String(p.key.value) : bad(p.key, 'a key name');
      if (k === 'key-cmd') bad(p.key, 'key-cmd is not taken in a rules file (a committed file must not run commands); set AES_PAYLOAD_KEY_CMD or pass --key-cmd');
      const field = KEY_FIELDS[k] ?? bad(p.key, `unknown key source "${k}" (one of ${Object.keys(KEY_FIELDS).join(', ')})`);
      let v = str(p.value, k);
      if (k === 'key-encoding' && !(KEY_ENCODINGS as readonly string[]).includes(v)) bad(p.value, `key-encoding is one of ${KEY_ENCODINGS.join(', ')}`);
      if (FILE_FIELDS.has(k)) v = v === '~' || v.startsWith('~/') ? join(homedir(), v.slice(1)) : resolve(dirname(file), v);
      (ks as Record<string, unknown>)[field] = field === 'keyEncoding' ? (v as KeyEncoding) : v;
    }
    if (!Object.keys(ks).length) bad(n, 'key names no key source');
    return ks;
  };
  const out: Rules = { file, dir: dirname(file), rules: [] };
  let rulesNode: unknown;
  for (const p of root.items) {
    const k = y.isScalar(p.key) ? String(p.key.value) : bad(p.key, 'a key name');
    if (!TOP_FIELDS.has(k)) bad(p.key, `unknown key "${k}" (the rules file takes ${[...TOP_FIELDS].join(', ')})`);
    if (k === 'version' && !(y.isScalar(p.value) && p.value.value === 1)) bad(p.value, 'version is 1');
    if (k === 'key') out.key = keyOf(p.value);
    if (k === 'rules') rulesNode = p.value;
  }
  if (!y.isSeq(rulesNode)) return bad(rulesNode ?? root, '"rules" is a list of {path, fields | fields-regex, …}');
  for (const item of rulesNode.items) {
    if (!y.isMap(item)) bad(item, 'each rule is a mapping');
    const rule: Rule = { paths: [], line: lineOf(item) };
    for (const p of (item as YAML.YAMLMap).items) {
      const k = y.isScalar(p.key) ? String(p.key.value) : bad(p.key, 'a key name');
      if (!RULE_FIELDS.has(k)) bad(p.key, `unknown key "${k}" in a rule (a rule takes ${[...RULE_FIELDS].join(', ')})`);
      if (k === 'path') {
        rule.paths = strList(p.value, 'path');
        for (const g of rule.paths) {
          try {
            globRegex(g);
          } catch (e) {
            bad(p.value, (e as Error).message);
          }
        }
      } else if (k === 'fields') {
        try {
          rule.fields = parsePaths(strList(p.value, 'fields').join(','));
        } catch (e) {
          bad(p.value, (e as Error).message);
        }
      } else if (k === 'fields-regex') {
        const src = str(p.value, 'fields-regex');
        const unsafe = unboundedRegex(src);
        if (unsafe) bad(p.value, `fields-regex: ${unsafe}; its matching time could grow without bound on a hostile key name (write it without that)`);
        try {
          rule.fieldsRegex = new RegExp(src, 'u');
        } catch (e) {
          bad(p.value, `fields-regex: ${(e as Error).message}`);
        }
      } else if (k === 'type') {
        const t = str(p.value, 'type');
        if (t !== 'env' && t !== 'json' && t !== 'yaml') bad(p.value, 'type is env, json or yaml');
        rule.type = t as DocType;
      } else if (k === 'key') rule.key = keyOf(p.value);
      else if (k === 'recipients') {
        // As sops' `age:` takes them too: one string of recipients separated by commas or white space.
        rule.recipients = strList(p.value, 'recipients').flatMap((r) => r.split(/[\s,]+/)).filter(Boolean);
        if (!rule.recipients.length) bad(p.value, 'recipients names no recipient');
        for (const r of rule.recipients) if (!/^age1[0-9a-z]+$/.test(r)) bad(p.value, 'recipients are age public keys (age1…, lower case); an identity (AGE-SECRET-KEY-1…) never goes in a rules file');
      } else if (k === 'recipients-file') {
        rule.recipientsFiles = strList(p.value, 'recipients-file').map((v) => (v === '~' || v.startsWith('~/') ? join(homedir(), v.slice(1)) : resolve(dirname(file), v)));
      }
    }
    if (!rule.paths.length) bad(item, 'a rule needs "path"');
    if (!rule.fields && !rule.fieldsRegex) bad(item, 'a rule needs "fields" or "fields-regex"');
    if (rule.key && (rule.recipients || rule.recipientsFiles)) bad(item, 'a rule takes "key" or "recipients", not both (a document is encrypted under a symmetric key or to age recipients)');
    out.rules.push(rule);
  }
  return out;
}
