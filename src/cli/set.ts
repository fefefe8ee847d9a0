import { readFileSync, realpathSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { FormatError, KeyError, UsageError, ioError } from '../errors.js';
import { fieldCodec, loadYaml, parseJsonSpans, parsePaths, readText, type Location } from '../ops/documents.js';
import { applyEdits, encryptedKind, kindOfType, typeOfKind } from '../git/docs.js';
import { MAX_PAYLOAD_BYTES, readAllOf } from '../io/input.js';
import { writeFileAtomic } from '../io/output.js';
import { Source } from '../io/source.js';
import { keyForKid } from '../ops/index.js';
import { exactPath, rulePaths } from '../rules/fields.js';
import { writerRulesKey, rulesFor } from '../rules/rules.js';
import { addAgeIdentityOptions, type AgeIdentityFlags } from './age.js';
import { setWithRecipients } from './recipientsRules.js';
import { addKeyOptions, inputTypeOf, inputTypeOption, keysOf, promptSecret, resolveCliKeys, type KeyFlags } from './common.js';
import { withHelp } from './help.js';
import { isTerminal } from './terminal.js';
import type { InputType } from '../ops/index.js';
import type { Ui } from './ui.js';

interface SetFlags extends KeyFlags, AgeIdentityFlags {
  recipient?: string[];
  recipientsFile?: string[];
  config?: string;
  valueJson?: boolean;
  plain?: boolean;
  inputType?: InputType;
  allowEmpty?: boolean;
}

/** A path naming exactly one location (names and indexes, no globs). */
function locationOf(p: string): Location {
  const ps = parsePaths(p);
  if (ps.length !== 1) throw new UsageError('set takes one PATH');
  return ps[0]!.segments.map((s) => {
    if ('key' in s) return s.key;
    if ('index' in s) return s.index;
    throw new UsageError(`set takes one location, not a glob: ${ps[0]!.text}`);
  });
}

export function registerSet(program: Command, ui: Ui): void {
  const cmd = program
    .command('set')
    .description('set one value of a field document (JSON, .env or YAML) from stdin, encrypted; every other value keeps its token')
    .argument('<FILE>', 'the document, changed in place (atomically)')
    .argument('<PATH>', 'the value to set: DB_PASSWORD in a .env, db.password in JSON or YAML')
    .option('--value-json', 'stdin is a JSON value (a number, an object…), not a string')
    .option('--allow-empty', 'take an empty value (refused otherwise: an empty stdin would wipe the secret)')
    .option('--plain', 'write the value in the clear (refused where the rules or an old token say it is secret)')
    .option('--config <FILE>', 'the rules file (default: .aes-payload.yaml found from FILE up to the repository root; env AES_PAYLOAD_CONFIG)')
    .option('-r, --recipient <AGE1>', "a document encrypted to age recipients: its recipients (all of them), to add a pending value with public keys only; a new document: encrypt it to them; repeatable", (v: string, prev: string[] = []) => [...prev, v])
    .option('-R, --recipients-file <FILE>', 'as -r, every age1… line of FILE; repeatable', (v: string, prev: string[] = []) => [...prev, v])
    .addOption(inputTypeOption('the type of a document not encrypted yet, when no rule names it'));
  addAgeIdentityOptions(cmd);
  withHelp(
    cmd,
    [
      'printf %s "$DB_PASSWORD" | aes-payload set .env DB_PASSWORD',
      "aes-payload set config.enc.json db.password < password.txt",
      "echo 5432 | aes-payload set --value-json config.yaml db.port",
      'aes-payload set -i ~/.config/age/key.txt team.env DB_PASSWORD < pw.txt   # a document encrypted to age recipients',
      'aes-payload set -r age1… -r age1… team.env API_TOKEN < tok.txt   # public keys only: a pending value',
    ],
    'The value is read from stdin, never from the command line (one trailing newline is dropped); on a terminal it is asked for without echo.\nA document encrypted to age recipients: with -i/--identity-env the value goes into it; with public keys only\n(-r/-R, or the recipients the rules file names) it is added as a pending value (recipients seal folds it in).',
  );
  addKeyOptions(cmd).action(async (file: string, path: string, o: SetFlags) => {
    if (file === '-') throw new UsageError('set needs a FILE, not stdin (stdin is the value)');
    const loc = locationOf(path);
    const match = await rulesFor(file, o.config);
    let target: string;
    let text: string;
    let mode: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new UsageError(`${file} is not a regular file`);
      target = realpathSync(file);
      mode = st.mode & 0o777;
      text = readText(readFileSync(target), file);
    } catch (e) {
      throw ioError(e, `cannot read ${file}`);
    }
    const kindNow = await encryptedKind(text);
    const type = kindNow ? typeOfKind(kindNow) : (match?.rule.type ?? inputTypeOf(file, o.inputType));
    if (type === 'yaml') await loadYaml();
    if (type === 'env' && (loc.length !== 1 || typeof loc[0] !== 'string')) throw new UsageError('a .env value is set by its name');
    // The value: stdin, or a hidden prompt on a terminal.
    let value: string;
    if (isTerminal(0)) value = await promptSecret(`Value for ${path}`);
    else value = readText(readAllOf(Source.open('-'), MAX_PAYLOAD_BYTES).data, 'the value on stdin').replace(/\r?\n$/, '');
    // A script run with no stdin (cron, setsid, </dev/null) would wipe the secret.
    if (value === '' && !o.allowEmpty) throw new UsageError(`the value for ${path} is empty (nothing on stdin); pass --allow-empty to set an empty value`);
    let json: string;
    if (o.valueJson) {
      if (type === 'env') throw new UsageError('.env values are strings: drop --value-json');
      parseJsonSpans(value, 'the value on stdin');
      json = value.trim();
    } else json = JSON.stringify(value);
    // Documents encrypted to age recipients, and new ones a rule (or -r/-R) sends to them (src/cli/recipientsRules.ts).
    if (await setWithRecipients({ file, target, mode, text, type, encrypted: kindNow !== undefined, loc, path, json, value }, match, o, ui)) return;
    const src = { ...o, ...((await writerRulesKey(match, o, (m) => ui.warn(m))) ?? {}) };
    const keys = keysOf(await resolveCliKeys(src, ui));
    if (!keys.secret && !keys.ring) throw new KeyError('field documents need a symmetric key or a keyring', 'ERR_KEY_TYPE');
    const kind = kindOfType(type);
    const codec = fieldCodec(kind);
    const keyFor = keyForKid(keys);
    const plain = kindNow ? codec.decrypt(text, keyFor, { what: file }) : undefined;
    const wasToken = plain?.tokenPaths.some((l) => JSON.stringify(l) === JSON.stringify(loc)) ?? false;
    const next = applyEdits(type, plain ? plain.text : text, [{ loc, json }], file);
    const rule = match ? rulePaths(match.rule, next, type) : [];
    if (o.plain) {
      // What the rules select in the (plaintext) document, as compact JSON locations.
      const selected = rule.length > 0 && codec.requirePlain(next, rule, file).plaintext.includes(JSON.stringify(loc));
      if (wasToken || selected) throw new UsageError(`${path} is encrypted here (${wasToken ? 'it held a token' : 'the rules select it'}); --plain refused`);
    }
    const paths = [...rule, ...(o.plain ? [] : [exactPath(loc)])];
    let out: string;
    if (plain) out = codec.reencrypt(text, next, keyFor, { paths, what: file }).text;
    else {
      const key = keys.secret ?? keyFor(keys.ring!.primary);
      out = codec.encrypt(next, key, { paths, allowMissing: true, what: file }).text;
    }
    if (out === text) {
      ui.line(`${file} unchanged`);
      return;
    }
    if (kindNow === undefined && (await encryptedKind(out)) === undefined && !o.plain) throw new FormatError('internal: the value was not encrypted; nothing written', 'ERR_INTERNAL');
    writeFileAtomic(target, out, { mode, overwrite: true });
    ui.line(`${file}: ${path} set${o.plain ? ' (in the clear)' : ', encrypted'}`);
  });
}
