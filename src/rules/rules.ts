/**
 * The project rules file, `.aes-payload.yaml` (docs/FORMAT.md, "Rules
 * file"): which files hold which secret values, under which key, as what
 * type of document. `encrypt`, `edit` and `set` follow it when they write;
 * nothing that reads (decrypt, verify, git-textconv) depends on it, or on a
 * file's path.
 *
 * Reading it is in `parse.ts`, its globs in `globs.ts`, its fields-regex
 * in `regex.ts`; this file finds it, matches a file to a rule and decides
 * which key a writer takes from it.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { FormatError, UsageError, ioError } from '../errors.js';
import type { FieldPath } from '../formats/fields/paths.js';
import { KEY_CMD_ENV } from '../keys/command.js';
import { resolveKeys } from '../keys/resolve.js';
import { DEFAULT_KEY_ENV, DEFAULT_KEYRING_ENV, keySourceFlags, type KeySource } from '../keys/source.js';
import { globRegex } from './globs.js';
import { parseRules } from './parse.js';

export { expandBraces, gitPatterns, globRegex } from './globs.js';
export { parseRules } from './parse.js';
export { MAX_REGEX_NAME, regexSelects, unboundedRegex } from './regex.js';

/** The rules file's name, looked for up from a file to the repository's root. */
export const RULES_FILE = '.aes-payload.yaml';
/** The environment variable naming a rules file (as --config does). */
export const CONFIG_ENV = 'AES_PAYLOAD_CONFIG';

/** The document types a rule may name. */
export type DocType = 'env' | 'json' | 'yaml';

/** One rule: the files it applies to, what it encrypts there, and with which key or to which recipients. */
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

/** A rules file, parsed. */
export interface Rules {
  file: string;
  dir: string;
  key?: KeySource;
  rules: Rule[];
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

/** Read and parse a rules file (at most 1 MiB). */
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

/** The rule that matched a file, and its rules file. */
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
