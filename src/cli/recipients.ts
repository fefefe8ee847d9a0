/**
 * Field documents encrypted to age recipients: the `recipients` command
 * (list, add, remove, rotate) and the hooks encrypt, decrypt, verify, exec,
 * edit and rotate call. Wiring only: the work is in src/ops/recipients.ts.
 */
import type { Command } from 'commander';
import { KeyError, UsageError } from '../errors.js';
import { kdfBudget } from '../ops/budget.js';
import { yamlReaderFor } from '../ops/documents.js';
import { formatRecipient, recipientOf, type AgeRecipient } from '../ops/age.js';
import { MAX_ENCODED_BYTES, readAllOf } from '../io/input.js';
import { Source } from '../io/source.js';
import { writeStdout } from '../io/stdout.js';
import { bodyNames, dropPendingValues, openPendingValues, overlayPending, splitPending } from '../ops/recipients.js';
import { listRecipients, openRecipientDoc, readRecipientDoc, recipientsSyntax, rewrap, rotateRecipientDoc, type RecipientDoc } from '../ops/recipients.js';
import { sealPendingValues, withMoreRecipients, withoutRecipients } from '../ops/recipientEdits.js';
import { addAgeIdentityOptions, hasAgeIdentity, readAgeRecipients, readIdentities, type AgeIdentityFlags } from './age.js';
import { emit } from './common.js';
import { withHelp } from './help.js';
import type { Ui } from './ui.js';

export { yamlReaderFor };

/** The -r / -R recipients of a document. */
export function documentRecipients(o: { recipient?: string[]; recipientsFile?: string[] }): AgeRecipient[] {
  return readAgeRecipients(o);
}

/** The message for a recipient document read without an identity. */
export function needsIdentity(): KeyError {
  return new KeyError('this document is encrypted to age recipients: give your identity with -i IDENTITY_FILE or --identity-env NAME', 'ERR_KEY_MISSING');
}

/**
 * For decrypt, verify, exec and edit: when `text` is a recipient document,
 * open it with the -i/--identity-env identities (any one that matches) and
 * return the ordinary field document under its data key. Undefined for any
 * other input. With `structureOnly`, nothing is unwrapped.
 */
export async function openRecipientInput(
  text: string,
  o: AgeIdentityFlags,
  ui: Ui,
  structureOnly = false,
  allowPending = false,
): Promise<(RecipientDoc & { key?: Buffer; fileKey?: Buffer; pending: [string, string][]; pendingNames: string[]; replaced: string[]; mine: string[] }) | undefined> {
  if (!recipientsSyntax(text)) return undefined;
  const yaml = await yamlReaderFor(text);
  const d0 = readRecipientDoc(text, yaml);
  if (!d0) return undefined;
  const p = splitPending(d0.rest, d0.syntax, yaml);
  const pendingNames = [...new Set(p.entries.map((e) => e.name))];
  // Which of them replace a value of the body (under the MAC), and which are new: a reviewer must tell the two apart.
  const body = pendingNames.length ? bodyNames(p.rest, d0.syntax, yaml) : new Set<string>();
  const replaced = pendingNames.filter((n) => body.has(n));
  if (pendingNames.length && !allowPending) {
    throw new UsageError(
      `the document has ${pendingNames.length} pending value${pendingNames.length === 1 ? '' : 's'} (${pendingNames.slice(0, 5).join(', ')}) written with public keys only; review ${pendingNames.length === 1 ? 'it' : 'them'} (aes-payload decrypt -i …) and fold ${pendingNames.length === 1 ? 'it' : 'them'} in first: aes-payload recipients seal FILE -i …`,
    );
  }
  if (structureOnly) return { ...d0, rest: p.rest, pending: [], pendingNames, replaced, mine: [] };
  if (!hasAgeIdentity(o)) throw needsIdentity();
  const ids = readIdentities(o, ui);
  const budget = kdfBudget();
  const d = openRecipientDoc(text, ids, yaml, budget);
  return { ...d, rest: p.rest, pending: openPendingValues(p.rest, p.entries, ids, budget, d.syntax), pendingNames, replaced, mine: ids.map(recipientOf) };
}


const few = (ns: readonly string[]) => `${ns.slice(0, 5).join(', ')}${ns.length > 5 ? `, and ${ns.length - 5} more` : ''}`;

/**
 * The warning for pending values passed on or shown: which of them replace
 * the document's own authenticated value (`replaced`), and which are new.
 */
export function pendingWarning(what: string, names: readonly string[], replaced: readonly string[] = []): string {
  const over = names.filter((n) => replaced.includes(n));
  const added = names.filter((n) => !replaced.includes(n));
  const which = [
    over.length ? `${few(over)} ${over.length === 1 ? 'replaces' : 'replace'} the document's own authenticated value${over.length === 1 ? '' : 's'} of that name` : '',
    added.length ? `${few(added)} ${added.length === 1 ? 'is' : 'are'} new to the document` : '',
  ].filter(Boolean);
  return `${what}: ${few(names)} ${names.length === 1 ? 'is a pending value' : 'are pending values'}, written with public keys only and not covered by the document MAC: anyone with the recipients' public keys could have written ${names.length === 1 ? 'it' : 'them'}. ${which.join('; ')}. Review, then fold in with: aes-payload recipients seal ${what} -i …`;
}

interface RecipientsFlags extends AgeIdentityFlags {
  only?: string;
  rotate?: boolean;
  recipient?: string[];
  recipientsFile?: string[];
  json?: boolean;
  output?: string;
}

function readDoc(file: string): string {
  return readAllOf(Source.open(file), MAX_ENCODED_BYTES).data.toString('utf8');
}

/** Write a changed document back: to -o, or in place (atomically). */
function writeBack(file: string, text: string, o: RecipientsFlags): void {
  if (o.output !== undefined) emit(text, { output: o.output, force: true });
  else if (file === '-') writeStdout(text);
  else emit(text, { output: file, force: true });
}

async function opened(file: string, o: RecipientsFlags, ui: Ui): Promise<RecipientDoc & { key: Buffer; fileKey: Buffer; mine: string[] }> {
  const text = readDoc(file);
  if (!recipientsSyntax(text)) throw new UsageError(`${file === '-' ? 'standard input' : file} has no recipients header (encrypt it with encrypt --fields PATHS -r age1…)`);
  const d = await openRecipientInput(text, o, ui);
  return d as RecipientDoc & { key: Buffer; fileKey: Buffer; mine: string[] };
}

/** Re-key a recipient document in place (recipients rotate, and rotate -i): returns how many values were re-encrypted. */
export async function rotateRecipientFile(file: string, o: RecipientsFlags, ui: Ui): Promise<number> {
  const d = await opened(file, o, ui);
  const rs = documentRecipients(o);
  const r = rotateRecipientDoc(d, rs.length ? rs : undefined);
  writeBack(file, r.text, o);
  return r.rotated;
}

export function registerRecipients(program: Command, ui: Ui): void {
  const cmd = program.command('recipients').description('list, add or remove the age recipients of a field document, or re-key it');
  const recipientOpts = (c: Command) =>
    c
      .option('-r, --recipient <AGE1>', 'an age recipient (age1…, age1pq1…); repeatable', (v: string, prev: string[] = []) => [...prev, v])
      .option('-R, --recipients-file <FILE>', 'every age1… line of FILE; repeatable', (v: string, prev: string[] = []) => [...prev, v]);
  const list = cmd
    .command('list')
    .description('print the recipients of a document, one per line (no key needed; as its last writer listed them)')
    .argument('[FILE]', 'the document, or - for stdin (default)')
    .option('--json', 'print a JSON array');
  list.action(async (file: string | undefined, o: RecipientsFlags) => {
    const text = readDoc(file ?? '-');
    const d = await openRecipientInput(text, o, ui, true, true);
    if (!d) throw new UsageError('the document has no recipients header');
    if (d.pendingNames.length) ui.warn(`the document also has ${d.pendingNames.length} pending value${d.pendingNames.length === 1 ? '' : 's'} (${d.pendingNames.slice(0, 5).join(', ')}), written with public keys only`);
    const rs = listRecipients(d);
    writeStdout(o.json ? `${JSON.stringify(rs)}\n` : rs.map((r) => `${r}\n`).join(''));
  });
  const add = recipientOpts(cmd.command('add').description('wrap the document\'s data key to more recipients (values unchanged; needs an identity)').argument('<FILE>').option('-o, --output <FILE>', 'write here instead of FILE'));
  addAgeIdentityOptions(add);
  add.action(async (file: string, o: RecipientsFlags) => {
    const more = documentRecipients(o);
    if (!more.length) throw new UsageError('recipients add needs -r age1… or -R FILE');
    const d = await opened(file, o, ui);
    const { next, added } = withMoreRecipients(d, more);
    writeBack(file, rewrap(d, next), o);
    ui.line(`${added} recipient${added === 1 ? '' : 's'} added (${next.length} in all); values unchanged`);
  });
  const remove = recipientOpts(
    cmd
      .command('remove')
      .description('remove recipients: a new data key for the others, every value re-encrypted (--no-rotate: only stop wrapping the old key to them)')
      .argument('<FILE>')
      .option('-o, --output <FILE>', 'write here instead of FILE')
      .option('--no-rotate', 'keep the data key and every token (the removed party can still read old copies, and new values spliced with an old header)'),
  );
  addAgeIdentityOptions(remove);
  remove.action(async (file: string, o: RecipientsFlags) => {
    const named = documentRecipients(o);
    if (!named.length) throw new UsageError('recipients remove needs -r age1… or -R FILE');
    const d = await opened(file, o, ui);
    const { next, gone, missing } = withoutRecipients(d, named);
    if (missing.length) throw new UsageError(`not a recipient of this document: ${missing[0]!.slice(0, 24)}…`);
    if (!next.length) throw new UsageError('that would leave the document with no recipient');
    const who = `${gone} recipient${gone === 1 ? '' : 's'}`;
    if (!next.some((r) => d.mine.includes(formatRecipient(r)))) {
      ui.warn('none of the identities given (-i, --identity-env) can read the result any more: you removed your own recipient, and only a remaining recipient can add you back');
    }
    if (o.rotate === false) {
      writeBack(file, rewrap(d, next), o);
      ui.warn(
        `removed ${who} without rotating (--no-rotate): the data key is unchanged, so whoever was removed can still read old copies of this file (git history), and every value added before the next rotate, by putting an old recipients header back: run aes-payload recipients rotate ${file} -i … and change the secrets themselves`,
      );
      return;
    }
    const r = rotateRecipientDoc(d, next);
    writeBack(file, r.text, o);
    ui.warn(
      `removed ${who} and re-keyed: ${r.rotated} value${r.rotated === 1 ? '' : 's'} re-encrypted under a new data key. Whoever was removed may still hold old copies of this file (git history) and can read the values in them: change the secrets themselves`,
    );
  });
  const rotate = recipientOpts(cmd.command('rotate').description('re-key: a new data key, every value re-encrypted (needs an identity); -r/-R replace the recipients').argument('<FILE>').option('-o, --output <FILE>', 'write here instead of FILE'));
  addAgeIdentityOptions(rotate);
  rotate.action(async (file: string, o: RecipientsFlags) => {
    const n = await rotateRecipientFile(file, o, ui);
    ui.line(`re-keyed: ${n} value${n === 1 ? '' : 's'} re-encrypted under a new data key`);
  });
  const sealCmd = cmd
    .command('seal')
    .description('fold pending values (written with public keys only) into the document: sealed under its data key and covered by its MAC; review them first')
    .argument('<FILE>')
    .option('-o, --output <FILE>', 'write here instead of FILE')
    .option('--only <NAMES>', 'seal only these pending values (comma-separated); the others stay pending');
  addAgeIdentityOptions(sealCmd);
  sealCmd.action(async (file: string, o: RecipientsFlags) => {
    const text = readDoc(file);
    const d = await openRecipientInput(text, o, ui, false, true);
    if (!d) throw new UsageError('the document has no recipients header');
    if (!d.pending.length) {
      ui.line('no pending values');
      return;
    }
    const only = o.only === undefined ? undefined : o.only.split(',').map((x) => x.trim()).filter(Boolean);
    if (only) {
      const missing = only.filter((n) => !d.pendingNames.includes(n));
      if (missing.length) throw new UsageError(`no pending value named ${missing[0]!.slice(0, 40)} (pending: ${d.pendingNames.slice(0, 5).join(', ')})`);
    }
    const chosen = only ? d.pending.filter(([n]) => only.includes(n)) : d.pending;
    const names = chosen.map(([n]) => n);
    const r = sealPendingValues({ ...d, key: d.key! }, text, chosen, only, await yamlReaderFor(text));
    writeBack(file, r.text, o);
    const over = names.filter((n) => d.replaced.includes(n));
    const added = names.filter((n) => !d.replaced.includes(n));
    const what = [over.length ? `replaced the document's own value of ${few(over)}` : '', added.length ? `added ${few(added)}` : ''].filter(Boolean).join('; ');
    ui.line(`sealed ${names.length} pending value${names.length === 1 ? '' : 's'} under the document's data key (${what}); the document MAC covers ${names.length === 1 ? 'it' : 'them'} now${r.left ? ` (${r.left} still pending)` : ''}`);
  });
  const dropCmd = cmd
    .command('drop')
    .description('remove pending values from the document unopened (no identity needed): e.g. one you did not write, or that is not sealed to you')
    .argument('<FILE>')
    .argument('<NAMES>', 'the names of the pending values to remove, comma-separated')
    .option('-o, --output <FILE>', 'write here instead of FILE');
  dropCmd.action(async (file: string, names: string, o: RecipientsFlags) => {
    const text = readDoc(file);
    const list = names.split(',').map((x) => x.trim()).filter(Boolean);
    const r = dropPendingValues(text, list, await yamlReaderFor(text));
    if (!r.dropped) throw new UsageError(`no pending value named ${list.join(', ').slice(0, 60)}`);
    writeBack(file, r.text, o);
    ui.line(`dropped ${r.dropped} pending value${r.dropped === 1 ? '' : 's'}; the document's own values are unchanged`);
  });
  withHelp(cmd, [
    'aes-payload recipients list .env.aesp',
    'aes-payload recipients add .env.aesp -i ~/.config/age/key.txt -r age1…',
    'aes-payload recipients remove .env.aesp -i ~/.config/age/key.txt -r age1…',
    'aes-payload recipients rotate .env.aesp -i ~/.config/age/key.txt',
    'aes-payload recipients seal .env.aesp -i ~/.config/age/key.txt --only API_TOKEN',
    'aes-payload recipients drop .env.aesp API_TOKEN',
  ]);
}
