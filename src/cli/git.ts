import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AesPayloadError, KeyError, UsageError, ioError } from '../errors.js';
import { readText } from '../ops/documents.js';
import { MAX_PAYLOAD_BYTES, readAllOf } from '../io/input.js';
import { writeFileAtomic } from '../io/output.js';
import { Source } from '../io/source.js';
import { writeStdout } from '../io/stdout.js';
import { encryptedKind, plaintextOf, typeOfKind } from '../git/docs.js';
import { clean } from '../git/filter.js';
import { driverKeys } from '../git/keys.js';
import { mergeFields } from '../git/merge.js';
import { DRIVER, gitSetup, repoRoot, selfCommand } from '../git/setup.js';
import { rulePaths } from '../rules/fields.js';
import { findRulesFile, gitPatterns, loadRules, matchRule, writerRulesKey, type Rules } from '../rules/rules.js';
import { writerRulesRecipients } from '../rules/recipients.js';
import { cleanRecipients, mergeRecipientDocs, yamlReader } from '../git/recipients.js';
import { recipientsSyntax } from '../ops/recipients.js';
import { addAgeIdentityOptions, type AgeIdentityFlags } from './age.js';
import { driverIdentities, smudgeRecipients, textconvRecipients } from './gitRecipients.js';
import { resolveKeys } from '../keys/resolve.js';
import { addKeyOptions, type KeyFlags } from './common.js';
import { withHelp } from './help.js';
import type { Ui } from './ui.js';

interface DriverFlags extends KeyFlags, AgeIdentityFlags {
  config?: string;
}

/** The rules file of the repository git runs a driver in (its root is the cwd), if any. */
async function repoRules(o: DriverFlags): Promise<Rules | undefined> {
  const f = findRulesFile(process.cwd(), o.config, process.env);
  return f ? loadRules(f) : undefined;
}

/** Whether git applies this tool's filter to a path (filter=aes-payload). */
function filtered(path: string): boolean {
  const r = spawnSync('git', ['check-attr', 'filter', '--', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return r.status === 0 && r.stdout.trim().endsWith(`: filter: ${DRIVER}`);
}

const readFile = (file: string): string => {
  try {
    return readText(readFileSync(file), file);
  } catch (e) {
    throw ioError(e, `cannot read ${file}`);
  }
};

export function registerGitSetup(program: Command, ui: Ui): void {
  const setup = program
    .command('git-setup')
    .description('set up this git clone for encrypted documents: .gitattributes lines for PATTERNS, and the diff, merge (and filter) drivers in .git/config')
    .argument('[PATTERNS...]', '.gitattributes patterns (default: the path globs of .aes-payload.yaml)')
    .option('--diff', 'git diff, log -p and show display decrypted values (textconv)')
    .option('--merge', 'git merges decrypted values three-way (merge driver)')
    .option('--filter', 'plaintext in the working tree, ciphertext in the repository (clean/smudge filter); sets the diff and merge drivers too')
    .option('--command <CMD>', 'how git calls aes-payload (default: the absolute path of this program)')
    .option('--config <FILE>', 'the rules file (default: .aes-payload.yaml at the repository root; env AES_PAYLOAD_CONFIG)')
    .option('--json', 'report what was done as JSON on stdout');
  withHelp(setup, ['aes-payload git-setup .env.aesp "config/*.enc.json"', 'aes-payload git-setup --filter "secrets/*.yaml"'], 'Without --diff, --merge or --filter: diff and merge. A second run changes nothing.\nThe .gitattributes file is committed; the git config is per clone: run it once in each clone.');
  setup.action(async (patterns: string[], o: { diff?: boolean; merge?: boolean; filter?: boolean; command?: string; config?: string; json?: boolean }) => {
    const none = !o.diff && !o.merge && !o.filter;
    let pats = patterns;
    if (!pats.length) {
      const f = findRulesFile(process.cwd(), o.config, process.env);
      if (f) pats = gitPatterns(await loadRules(f), repoRoot(process.cwd()));
      if (!pats.length) throw new UsageError('give the .gitattributes PATTERNS of the encrypted files (or write .aes-payload.yaml first)');
    }
    // The filter needs the merge driver (git's own merge runs smudge on conflicting ciphertext and the
    // file vanishes) and the diff driver: --filter sets all three.
    const r = gitSetup({ diff: none || Boolean(o.diff) || Boolean(o.filter), merge: none || Boolean(o.merge) || Boolean(o.filter), filter: Boolean(o.filter), patterns: pats, command: o.command ?? selfCommand() }, process.cwd());
    if (o.json) writeStdout(`${JSON.stringify(r)}\n`);
    for (const l of r.gitattributes.added) ui.line(`.gitattributes: added ${l}`);
    for (const l of r.gitattributes.present) ui.line(`.gitattributes: already has ${l}`);
    for (const c of r.config) ui.line(`git config ${c.name}: ${c.changed ? 'set' : 'already set'}`);
    for (const w of r.warnings) ui.warn(w);
    if (r.gitattributes.added.length) ui.line('commit .gitattributes; every other clone runs aes-payload git-setup once');
    if (o.filter && r.gitattributes.added.length) ui.line('files already checked out stay as they are until checked out again (git checkout -- PATTERN)');
  });
}

export function registerGitTextconv(program: Command, ui: Ui): void {
  const textconv = program
    .command('git-textconv')
    .description('git diff driver: write FILE decrypted to stdout; never prompts (git runs it with no terminal). Keys: AES_PAYLOAD_KEY…; documents encrypted to age recipients: the identity in AES_PAYLOAD_IDENTITY or AES_PAYLOAD_IDENTITY_FILE')
    .argument('<FILE>', 'the file git hands over (a temporary file: its name means nothing)')
    .option('--no-input', 'never prompt (always the case here; accepted for clarity)')
    .option('--strict', 'fail (no key: exit 3) instead of showing the file as it is when it cannot be decrypted')
    .option('--config <FILE>', 'the rules file whose keys to try (default: .aes-payload.yaml in the current repository)');
  addAgeIdentityOptions(textconv);
  addKeyOptions(textconv).action(async (file: string, o: DriverFlags & { strict?: boolean }) => {
    // git stops the whole diff or log -p ("unable to read files to diff") when textconv fails: on any
    // failure (no key, another key, bytes that are not UTF-8, a damaged token) show the file as it is
    // and say why once, unless --strict.
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw ioError(e, `cannot read ${file}`);
    }
    try {
      const text = readText(bytes, file);
      const kind = await encryptedKind(text);
      if (!kind) {
        writeStdout(bytes);
        return;
      }
      // A document encrypted to age recipients: an identity from the environment (src/cli/gitRecipients.ts).
      if (recipientsSyntax(text)) return writeStdout(await textconvRecipients(kind, text, o, ui));
      const keyFor = await driverKeys(o, await repoRules(o), ui);
      writeStdout(plaintextOf(kind, text, keyFor));
    } catch (e) {
      if (o.strict) throw e;
      ui.warn(`${e instanceof AesPayloadError ? e.message : 'cannot decrypt it'}; showing the file as it is`);
      writeStdout(bytes);
    }
  });
}

export function registerGitMerge(program: Command, ui: Ui): void {
  const merge = program
    .command('git-merge')
    .description('git merge driver: three-way merge of the decrypted values of field documents; the result is encrypted in place of OURS')
    .argument('<BASE>', '%O')
    .argument('<OURS>', '%A (written with the result)')
    .argument('<THEIRS>', '%B')
    .argument('[PATH]', '%P, for messages and the rules')
    .option('--config <FILE>', 'the rules file (default: .aes-payload.yaml in the current repository)');
  addAgeIdentityOptions(merge);
  addKeyOptions(merge).action(async (baseFile: string, oursFile: string, theirsFile: string, path: string | undefined, o: DriverFlags) => {
    const name = path ?? oursFile;
    const [base, ours, theirs] = [readFile(baseFile), readFile(oursFile), readFile(theirsFile)];
    const kinds = await Promise.all([base, ours, theirs].map(encryptedKind));
    const kind = kinds[1] ?? kinds[2];
    if (!kinds[0] && !kinds[1] && !kinds[2]) {
      // Nothing encrypted on any side (a pattern that also matches a plain file): git's own text merge.
      const r = spawnSync('git', ['merge-file', '-L', 'ours', '-L', 'base', '-L', 'theirs', oursFile, baseFile, theirsFile], { stdio: ['ignore', 'ignore', 'inherit'] });
      process.exitCode = r.status === 0 ? 0 : 1;
      return;
    }
    if (!kind || !kinds[1] || !kinds[2] || (kinds[0] && kinds[0] !== kind) || kinds[1] !== kinds[2]) {
      throw new AesPayloadError('ERR_MERGE', 1, `${name}: not the same kind of encrypted field document on both sides; left as ours for you to resolve (aes-payload edit)`);
    }
    const rules = await repoRules(o);
    // Documents encrypted to age recipients are opened with an identity from the environment (src/git/recipients.ts).
    const recipients = recipientsSyntax(ours) !== undefined || recipientsSyntax(theirs) !== undefined;
    const keyFor = recipients ? undefined : await driverKeys(o, rules, ui);
    const match = rules && path ? matchRule(rules, path) : undefined;
    const extra = match ? (plain: string) => rulePaths(match.rule, plain, typeOfKind(kind)) : undefined;
    let out;
    try {
      if (!keyFor) {
        out = mergeRecipientDocs(kind, base.trim() === '' ? undefined : base, ours, theirs, driverIdentities(o, ui), await yamlReader(kind === 'yaml'), extra, kinds[0] !== undefined);
        if (out.rekeyed) ui.warn(`${name}: the two sides have different data keys (a recipients rotate or remove on one side): the merged document has a new data key, every value re-encrypted`);
      } else out = mergeFields(kind, base.trim() === '' ? undefined : base, ours, theirs, keyFor, extra, kinds[0] !== undefined);
    } catch (e) {
      if (!(e instanceof AesPayloadError)) throw e;
      throw new AesPayloadError('ERR_MERGE', 1, `${name}: the merge driver could not merge it (${e.message}); left as ours for you to resolve (aes-payload edit ${recipients ? '-i … ' : ''}${name}), then git add`);
    }
    if (out.text !== ours) writeFileAtomic(oursFile, out.text, { overwrite: true });
    if (out.conflicts.length) {
      const where = `${out.conflicts.slice(0, 10).join(', ')}${out.conflicts.length > 10 ? ', …' : ''}`;
      const how = path && filtered(path)
        ? `the working tree file (plaintext under filter=${DRIVER}) holds them with markers: edit ${name} to keep one value each, then git add (git add refuses it while a marker is left)`
        : `the file holds them encrypted with markers: resolve with aes-payload edit ${recipients ? '-i … ' : ''}${name}, then git add`;
      throw new AesPayloadError('ERR_MERGE_CONFLICT', 1, `${name}: conflicting values at ${where}; ${how}`);
    }
  });
}

export function registerGitFilter(program: Command, ui: Ui): void {
  const filter = program
    .command('git-filter')
    .description('git filter (filter=aes-payload): clean encrypts the working tree file for the repository, smudge decrypts it for the working tree')
    .argument('<OP>', 'clean or smudge')
    .argument('<PATH>', '%f: the path in the repository')
    .option('--config <FILE>', 'the rules file (default: .aes-payload.yaml in the current repository)');
  addAgeIdentityOptions(filter);
  addKeyOptions(filter).action(async (op: string, path: string, o: DriverFlags) => {
    if (op !== 'clean' && op !== 'smudge') throw new UsageError('git-filter takes clean or smudge');
    const input = readText(readAllOf(Source.open('-'), MAX_PAYLOAD_BYTES).data, path);
    const rules = await repoRules(o);
    if (op === 'smudge') {
      const kind = await encryptedKind(input);
      if (!kind) return writeStdout(input);
      if (recipientsSyntax(input)) return writeStdout((await smudgeRecipients(kind, input, path, o, ui)) ?? input);
      let keyFor;
      try {
        keyFor = await driverKeys(o, rules, ui);
      } catch (e) {
        if (!(e instanceof KeyError)) throw e;
        ui.warn(`${path}: ${e.message}; checked out encrypted`);
        return writeStdout(input);
      }
      return writeStdout(plaintextOf(kind, input, keyFor, path));
    }
    const match = rules ? matchRule(rules, path) : undefined;
    // Documents encrypted to age recipients, and new files a rule sends to them (src/git/recipients.ts).
    const r = await cleanRecipients(input, path, match, () => driverIdentities(o, ui), () => writerRulesRecipients(match, o, (m) => ui.warn(m)).recipients);
    if (r !== undefined) return writeStdout(r);
    const primary = async (): Promise<Uint8Array> => {
      const src = (await writerRulesKey(match, o, (m) => ui.warn(m))) ?? o;
      const r = await resolveKeys(src, { env: process.env, warn: (m) => ui.warn(m) });
      const k = r.secret;
      if (!k) throw new KeyError('the filter needs a symmetric key (a keyring\'s primary is not taken here)', 'ERR_KEY_TYPE');
      return k;
    };
    writeStdout(await clean(input, path, match, () => driverKeys(o, rules, ui), primary));
  });
}
