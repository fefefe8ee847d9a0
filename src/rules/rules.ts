import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type * as YAML from 'yaml';
import { FormatError, UsageError, ioError } from '../errors.js';
import { parsePaths, type FieldPath } from '../formats/fields/paths.js';
import { loadVendored } from '../io/vendor.js';
import { DEFAULT_KEY_ENV, DEFAULT_KEYRING_ENV, keySourceFlags, resolveKeys, type KeySource } from '../keys/resolve.js';
import { KEY_CMD_ENV } from '../keys/command.js';
import { KEY_ENCODINGS, type KeyEncoding } from '../keys/decode.js';

/**
 * The project rules file, `.aes-payload.yaml` (docs/FORMAT.md, "Rules
 * file"): which files hold which secret values, under which key, as what
 * type of document. `encrypt`, `edit` and `set` follow it when they write;
 * nothing that reads (decrypt, verify, git-textconv) depends on it, or on a
 * file's path.
 */
export const RULES_FILE = '.aes-payload.yaml';
export const CONFIG_ENV = 'AES_PAYLOAD_CONFIG';

export type DocType = 'env' | 'json' | 'yaml';

export interface Rule {
  /** Path globs, relative to the rules file's directory. */
  paths: string[];
  fields?: FieldPath[];
  fieldsRegex?: RegExp;
  type?: DocType;
  key?: KeySource;
  /** age recipients (`age1…`), as written (a sops-style "a,b" string is split). */
  recipients?: string[];
  /** Recipients files (one age1… per line), absolute paths: relative to the rules file, `~/` the home directory. */
  recipientsFiles?: string[];
  /** Line of the rule in the rules file, for messages. */
  line: number;
}

export interface Rules {
  file: string;
  dir: string;
  key?: KeySource;
  rules: Rule[];
}

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

/** The longest key name a fields-regex is tested on; a document with a longer name is refused. */
export const MAX_REGEX_NAME = 256;

/**
 * Why a fields-regex could backtrack without bound, or undefined: a
 * backreference, or a quantified group that holds a quantifier or an
 * alternation (`(a+)+`, `(a|a)*`, `(a*){2,}`). With neither, and names cut at
 * MAX_REGEX_NAME characters, matching time is bounded.
 */
export function unboundedRegex(src: string): string | undefined {
  const stack: { quant: boolean; alt: boolean }[] = [{ quant: false, alt: false }];
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const d = src[i + 1] ?? '';
      if (!inClass && (/[1-9]/.test(d) || d === 'k')) return 'a backreference';
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') stack.push({ quant: false, alt: false });
    else if (c === '|') stack[stack.length - 1]!.alt = true;
    else if (c === ')') {
      const g = stack.pop() ?? { quant: false, alt: false };
      if (!stack.length) stack.push({ quant: false, alt: false });
      const next = src[i + 1];
      const quantified = next === '*' || next === '+' || next === '?' || next === '{';
      if (quantified && next !== '?' && (g.quant || g.alt)) return `a repeated group holding ${g.quant ? 'a quantifier' : 'alternatives'}`;
      const top = stack[stack.length - 1]!;
      top.quant ||= g.quant || quantified;
    } else if (c === '*' || c === '+' || c === '{') stack[stack.length - 1]!.quant = true;
  }
  return undefined;
}

/** Whether a key name matches a rule's fields-regex; a name over MAX_REGEX_NAME characters is refused (bounded time). */
export function regexSelects(re: RegExp, name: string): boolean {
  if (name.length > MAX_REGEX_NAME) throw new FormatError(`a key name of ${name.length} characters (over ${MAX_REGEX_NAME}) in a document a fields-regex rule applies to; refusing to test it`, 'ERR_RULES');
  return re.test(name);
}

/**
 * A path glob as a regular expression over a `/`-separated relative path:
 * `*` and `?` within one name, `**` across names, `{a,b}` alternatives. A
 * glob without `/` matches the file's name in any directory (as in
 * .gitattributes).
 */
export function globRegex(glob: string): RegExp {
  const anywhere = !glob.includes('/'); // a leading "/" anchors the glob at the root
  if (glob.startsWith('/')) glob = glob.slice(1);
  let re = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      braces++;
      re += '(?:';
    } else if (c === '}' && braces) {
      braces--;
      re += ')';
    } else if (c === ',' && braces) re += '|';
    else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  if (braces) throw new Error(`path glob ${JSON.stringify(glob)}: an unclosed "{"`);
  return new RegExp(`^${anywhere ? '(?:.*/)?' : ''}${re}$`, 'su');
}

/** Expand `{a,b}` alternatives (nested too) into plain globs. */
export function expandBraces(glob: string): string[] {
  let depth = 0;
  let open = -1;
  const commas: number[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '{') {
      if (depth++ === 0) open = i;
    } else if (c === '}' && depth) {
      if (--depth === 0) {
        const parts: string[] = [];
        let from = open + 1;
        for (const k of [...commas, i]) {
          parts.push(glob.slice(from, k));
          from = k + 1;
        }
        const head = glob.slice(0, open);
        const tail = glob.slice(i + 1);
        const out: string[] = [];
        for (const p of parts) for (const e of expandBraces(head + p + tail)) if (!out.includes(e)) out.push(e);
        return out;
      }
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  return [glob];
}

/**
 * A rules file's path globs as .gitattributes patterns for the repository
 * root: braces expanded (git has none), the rules file's directory put in
 * front (its globs are relative to it). A glob git would read differently
 * (a `[` class, which the rules file takes as a plain character) is refused.
 */
export function gitPatterns(rules: Rules, root: string): string[] {
  let dir = rules.dir;
  let top = root;
  try {
    dir = realpathSync(dir);
    top = realpathSync(root);
  } catch {
    /* as given */
  }
  const rel = relative(top, dir).split(sep).join('/');
  if (rel.startsWith('..') || isAbsolute(rel)) throw new UsageError(`the rules file ${rules.file} is outside the repository ${root}; give git-setup the PATTERNS`);
  const out: string[] = [];
  for (const r of rules.rules) {
    for (const g of r.paths) {
      if (/[[\\]/.test(g)) throw new UsageError(`${rules.file}: line ${r.line}: path ${JSON.stringify(g)} holds "[" or "\\", which git reads differently; give git-setup the PATTERNS`);
      for (const e of expandBraces(g)) {
        const anywhere = !e.includes('/');
        const body = e.startsWith('/') ? e.slice(1) : e;
        const p = rel === '' ? e : anywhere ? `${rel}/**/${body}` : `${rel}/${body}`;
        if (!out.includes(p)) out.push(p);
      }
    }
  }
  return out;
}

/** Where the rules come from: --config, AES_PAYLOAD_CONFIG, else `.aes-payload.yaml` in the nearest directory up from `near` that has it or `.git`. */
export function findRulesFile(near: string, flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const given = flag ?? (env[CONFIG_ENV] || undefined);
  if (given !== undefined) {
    if (!existsSync(given)) throw new UsageError(`the rules file ${given} (${flag !== undefined ? '--config' : CONFIG_ENV}) does not exist`);
    return resolve(given);
  }
  let dir = resolve(near);
  try {
    dir = realpathSync(dir);
  } catch {
    /* keep it as given */
  }
  for (;;) {
    const f = join(dir, RULES_FILE);
    if (existsSync(f)) return f;
    if (existsSync(join(dir, '.git'))) return undefined;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

export async function loadRules(file: string): Promise<Rules> {
  let text: string;
  try {
    if (statSync(file).size > 1 << 20) throw new FormatError(`${file}: a rules file over 1 MiB`, 'ERR_RULES');
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw ioError(e, `cannot read the rules file ${file}`);
  }
  return parseRules(text, file);
}

export interface Match {
  rules: Rules;
  rule: Rule;
}

/** The first rule whose path glob matches `target` (a file path), or undefined. */
export function matchRule(rules: Rules, target: string): Match | undefined {
  let abs = resolve(target);
  try {
    abs = join(realpathSync(dirname(abs)), abs.slice(dirname(abs).length + 1));
  } catch {
    /* a file not made yet */
  }
  let dir = rules.dir;
  try {
    dir = realpathSync(dir);
  } catch {
    /* as given */
  }
  const rel = relative(dir, abs);
  if (rel.startsWith('..') || isAbsolute(rel)) return undefined;
  const p = rel.split(sep).join('/');
  const rule = rules.rules.find((r) => r.paths.some((g) => globRegex(g).test(p)));
  return rule ? { rules, rule } : undefined;
}

/** Find and load the rules for a file, and the rule that matches it. */
export async function rulesFor(target: string | undefined, flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Match | undefined> {
  if (target === undefined || target === '-') {
    if (flag !== undefined) throw new UsageError('--config applies to a FILE; stdin has no path to match');
    return undefined;
  }
  const file = findRulesFile(dirname(resolve(target)), flag, env);
  if (!file) return undefined;
  return matchRule(await loadRules(file), target);
}

/** The key source a rule names (its own, else the file's), or undefined; its errors name the rules file. */
export function ruleKey(m: Match | undefined): KeySource | undefined {
  const k = m?.rule.key ?? m?.rules.key;
  return k && m ? { ...k, origin: `the key named in ${m.rules.file} (line ${m.rule.key ? m.rule.line : 1})` } : undefined;
}

/** The environment variables that name a key. */
export const ENV_KEY_VARS = [DEFAULT_KEY_ENV, DEFAULT_KEYRING_ENV, KEY_CMD_ENV] as const;

/**
 * The key source a writer (encrypt, edit, set, the clean filter) takes from
 * the rules file: only when neither a flag nor the environment names a key.
 * A rules file arrives with a merge, from anyone who can push a branch: its
 * key must never replace the one the person chose, or new secrets would go
 * to a key its author holds. When both name a key and their kids differ
 * (sources that need no command or prompt), a warning says so.
 */
export async function writerRulesKey(m: Match | undefined, flags: KeySource, warn: (m: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<KeySource | undefined> {
  const rk = ruleKey(m);
  if (!rk) return undefined;
  const flagged = keySourceFlags(flags).length > 0;
  const envNamed = ENV_KEY_VARS.find((v) => env[v]);
  if (!flagged && !envNamed) return rk;
  const quiet = { env, warn: () => {} };
  const noRun = (s: KeySource) => !s.keyCmd && !s.prompt && !s.passphrase && !s.keyUri && s.passphraseEnv === undefined && s.passphraseFile === undefined;
  if (noRun(rk) && (flagged ? noRun(flags) : envNamed !== 'AES_PAYLOAD_KEY_CMD')) {
    try {
      const [a, b] = await Promise.all([resolveKeys(flagged ? flags : { keyEncoding: flags.keyEncoding ?? 'auto' }, quiet), resolveKeys(rk, quiet)]);
      if (a.kid !== b.kid) warn(`${m!.rules.file} names another key (kid ${b.kid}) than ${flagged ? 'the key flags' : `env ${envNamed}`} (kid ${a.kid}); the ${flagged ? 'flag' : 'environment'}'s key is used`);
    } catch {
      /* either one unreadable: the one used reports its own error */
    }
  }
  return undefined;
}
