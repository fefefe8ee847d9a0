/**
 * The rules file's `recipients` for the writers (encrypt FILE, set), and
 * `set` on field documents encrypted to age recipients. Wiring only: the
 * decisions are in src/rules/recipients.ts (docs/FORMAT.md §16.4), the work
 * in src/ops/recipients.ts.
 */
import { statSync } from 'node:fs';
import { KeyError, UsageError } from '../errors.js';
import { formatRecipient, recipientOf, type AgeRecipient } from '../ops/age.js';
import { fieldCodec, loadYaml, readText, yamlToJson, type Location } from '../ops/documents.js';
import { applyEdits, encryptedKind, kindOfType } from '../git/docs.js';
import { MAX_PAYLOAD_BYTES, readAllOf } from '../io/input.js';
import { checkOutput, writeFileAtomic } from '../io/output.js';
import { Source } from '../io/source.js';
import { appendedNames, encryptToRecipients, splitAppended, readRecipientDoc, recipientsSyntax, rejoin, sealPendingFields, setPendingValue, splitPending, type YamlReader } from '../ops/recipients.js';
import { exactPath, rulePaths } from '../rules/fields.js';
import { ruleHasRecipients, ruleRecipients, ruleRecipientStrings, recipientStrings, sameRecipientSet, warnRecipientsDiffer, warnSymmetricDocument, writerRulesRecipients } from '../rules/recipients.js';
import type { DocType, Match, Rule } from '../rules/rules.js';
import { hasAgeIdentity, readIdentities, type AgeIdentityFlags } from './age.js';
import { emit, hasKeyFlag, inputTypeOf, type KeyFlags } from './common.js';
import { documentRecipients, needsIdentity, openRecipientInput, yamlReaderFor } from './recipients.js';
import { encryptFieldsToRecipients, type RecipientEncryptFlags } from './recipientsEncrypt.js';
import type { Ui } from './ui.js';

/** The YAML reader for a document of this type (loaded now), else undefined. */
async function yamlFor(type: DocType): Promise<YamlReader> {
  if (type !== 'yaml') return undefined;
  await loadYaml();
  return (t) => yamlToJson(t);
}

const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
const hasRecipientFlags = (o: { recipient?: string[]; recipientsFile?: string[] }) => o.recipient !== undefined || o.recipientsFile !== undefined;

/** Whether a rule selects the top-level name `name` in a document of this type (a one-value document, so that globs and regexes count as they would). */
function selects(rule: Rule, name: string, type: DocType): boolean {
  const one = type === 'env' ? `${name}=x\n` : type === 'yaml' ? `${JSON.stringify(name)}: x\n` : `{${JSON.stringify(name)}:"x"}`;
  const paths = rulePaths(rule, one, type);
  return paths.length > 0 && fieldCodec(kindOfType(type)).requirePlain(one, paths).plaintext.length > 0;
}

/**
 * A new document encrypted to a rule's recipients by someone who gave an
 * identity: say whom it goes to, and warn when none of their identities is
 * among them (they could not read it back; the rule may not be theirs).
 */
function sayNewRecipients(o: AgeIdentityFlags, recipients: readonly AgeRecipient[], origin: string, ui: Ui): void {
  if (!hasAgeIdentity(o)) return;
  const listed = recipients.map(formatRecipient);
  const mine = readIdentities(o, ui).map(recipientOf);
  if (!mine.some((r) => listed.includes(r))) {
    ui.warn(`none of the identities given (-i, --identity-env) is among the recipients ${origin} (${listed.map((r) => `${r.slice(0, 16)}…`).join(', ')}): you will not be able to read the new document; check the rules file, or give -r/-R`);
  }
}

/** -r/-R given and the rule names other recipients: -r/-R win (flags win over the rules file), and a warning says so. */
function warnFlagsDiffer(m: Match | undefined, given: readonly AgeRecipient[], ui: Ui): void {
  if (!ruleHasRecipients(m)) return;
  let listed: string[];
  try {
    listed = ruleRecipientStrings(m);
  } catch {
    return;
  }
  if (!sameRecipientSet(listed, recipientStrings(given))) ui.warn(`-r/-R name other recipients than ${m.rules.file} (line ${m.rule.line}); -r/-R are used (flags win over the rules file)`);
}

/**
 * The public keys a writer without an identity seals pending values to:
 * -r/-R, else the rule's. They must be exactly the document's list, which
 * such a writer cannot authenticate (ops/recipients.ts refuses otherwise).
 */
function pendingRecipients(m: Match | undefined, o: { recipient?: string[]; recipientsFile?: string[] }, docList: readonly string[], what: string): { recipients: AgeRecipient[]; from: string } {
  if (hasRecipientFlags(o)) return { recipients: documentRecipients(o), from: '-r/-R' }; // a rules list that differs was warned about with the document's
  if (!ruleHasRecipients(m)) {
    throw new KeyError(`${what} is encrypted to age recipients: give your identity (-i FILE or --identity-env NAME), or, to add a value with public keys only, -r/-R with the document's recipients`, 'ERR_KEY_MISSING');
  }
  const rs = ruleRecipients(m);
  if (!sameRecipientSet(recipientStrings(rs), docList)) {
    throw new UsageError(
      `${what} is encrypted to ${plural(docList.length, 'recipient')}, and ${m.rules.file} (line ${m.rule.line}) names other recipients: with public keys only, a value is sealed only to recipients that both name (a list changed in the file or the rules is not something a writer without an identity can check); give -r/-R, or fix the rules`,
    );
  }
  return { recipients: rs, from: `the recipients ${m.rules.file} (line ${m.rule.line}) names` };
}

/**
 * edit without a key or an identity: when FILE is encrypted to age
 * recipients, say that it needs an identity rather than which key
 * variables are unset.
 */
export function identityHint(e: unknown, file: string, o: KeyFlags): unknown {
  if (!(e instanceof KeyError) || e.code !== 'ERR_KEY_MISSING' || hasKeyFlag(o)) return e;
  try {
    const text = readDoc(file);
    return text !== undefined && recipientsSyntax(text) ? needsIdentity() : e;
  } catch {
    return e;
  }
}

function readDoc(file: string): string | undefined {
  try {
    if (!statSync(file).isFile()) return undefined; // a FIFO or device is read once, by the caller
  } catch {
    return undefined; // the caller reports it
  }
  return readText(readAllOf(Source.open(file), MAX_PAYLOAD_BYTES).data, file);
}

/**
 * `encrypt FILE` with a matching rule, when recipients are involved: the
 * rule names recipients, -r/-R are given, or FILE is already a recipient
 * document. Returns false when the symmetric path applies.
 */
export async function encryptByRules(file: string, match: Match, o: RecipientEncryptFlags, ui: Ui): Promise<boolean> {
  const text = readDoc(file);
  if (text === undefined) return false;
  const yaml: YamlReader = await yamlReaderFor(text);
  // What a writer without an identity appended after the header is not part of the document yet (FORMAT.md §17.5).
  const syntax = recipientsSyntax(text);
  const d = syntax ? readRecipientDoc(splitAppended(text, syntax).doc, yaml) : undefined;
  const warn = (m: string) => ui.warn(m);
  o.inputType ??= match.rule.type;
  const flags = { ...o, allowMissing: true };
  if (d) {
    warnRecipientsDiffer(match, file, d.header.recipients, warn);
    if (hasAgeIdentity(o) || hasKeyFlag(o)) {
      const body = splitPending(d.rest, d.syntax, yaml).rest;
      await encryptFieldsToRecipients(file, rulePaths(match.rule, body, d.syntax), flags, ui);
      return true;
    }
    // Public keys only: the values appended after the header that the rules select become pending (FORMAT.md §17.5).
    const names = appendedNames(text, yaml);
    const other = names.filter((n) => !selects(match.rule, n, d.syntax));
    if (other.length) {
      throw new UsageError(`${other[0]!.slice(0, 60)} is appended after the recipients header, and the rules (${match.rules.file}, line ${match.rule.line}) do not select it: without an identity only values that are encrypted can be added (the rest of the document is under a MAC this writer has no key for)`);
    }
    checkOutput(file, o.output, Boolean(o.force));
    if (!names.length) {
      emit(text, { output: o.output, force: o.force, mode: 0o666 });
      ui.line('nothing appended after the recipients header; the document is unchanged');
      return true;
    }
    const { recipients, from } = pendingRecipients(match, o, d.header.recipients, file);
    emit(sealPendingFields(text, names, recipients, yaml).text, { output: o.output, force: o.force, mode: 0o666 });
    ui.warn(`${file}: ${names.slice(0, 5).join(', ')} sealed as ${names.length === 1 ? 'a pending value' : 'pending values'} to ${from} (public keys only): not covered by the document MAC until someone with an identity reviews ${names.length === 1 ? 'it' : 'them'} and runs aes-payload recipients seal ${file} -i …`);
    return true;
  }
  if (await encryptedKind(text)) {
    if (hasRecipientFlags(o) || hasAgeIdentity(o)) throw new UsageError(`${file} is encrypted under a symmetric key: -r/-R and -i apply to documents encrypted to age recipients; give its key`);
    warnSymmetricDocument(match, file, warn);
    return false;
  }
  if (hasRecipientFlags(o)) {
    warnFlagsDiffer(match, documentRecipients(o), ui);
    const type = inputTypeOf(file, o.inputType) as DocType;
    await yamlFor(type);
    await encryptFieldsToRecipients(file, rulePaths(match.rule, text, type), flags, ui);
    return true;
  }
  const choice = writerRulesRecipients(match, o, warn);
  if (!choice.recipients) return false;
  const type = inputTypeOf(file, o.inputType) as DocType;
  await yamlFor(type); // the YAML reader, for the rules' paths
  sayNewRecipients(o, choice.recipients, `named in ${choice.origin!}`, ui);
  await encryptFieldsToRecipients(file, rulePaths(match.rule, text, type), flags, ui, { recipients: choice.recipients, origin: choice.origin! });
  return true;
}

export interface SetTarget {
  file: string;
  target: string;
  mode: number;
  text: string;
  type: DocType;
  /** Whether the text was already encrypted (a field document). */
  encrypted: boolean;
  loc: Location;
  path: string;
  json: string;
  value: string;
}

export interface SetRecipientFlags extends KeyFlags, AgeIdentityFlags {
  recipient?: string[];
  recipientsFile?: string[];
  plain?: boolean;
  valueJson?: boolean;
}

/**
 * `set` where age recipients are involved: on a recipient document (with
 * an identity: in place; with public keys only: a pending value), or on a
 * new document whose rule names recipients (or -r/-R). Returns false for
 * the symmetric path.
 */
export async function setWithRecipients(t: SetTarget, match: Match | undefined, o: SetRecipientFlags, ui: Ui): Promise<boolean> {
  const { file, text, type, loc } = t;
  const warn = (m: string) => ui.warn(m);
  const yaml: YamlReader = await yamlReaderFor(text);
  const codec = fieldCodec(kindOfType(type));
  const rule = (next: string) => (match ? rulePaths(match.rule, next, type) : []);
  const write = (out: string, what: string) => {
    writeFileAtomic(t.target, out, { mode: t.mode, overwrite: true });
    ui.line(`${file}: ${t.path} set${what}`);
  };
  if (recipientsSyntax(text)) {
    const d0 = readRecipientDoc(text, yaml);
    if (!d0) return false;
    if (hasKeyFlag(o)) throw new UsageError(`${file} is encrypted to age recipients: give your identity (-i, --identity-env), or -r/-R to add a pending value with public keys only; not a symmetric key flag`);
    warnRecipientsDiffer(match, file, d0.header.recipients, warn);
    if (hasAgeIdentity(o)) {
      if (hasRecipientFlags(o) && !sameRecipientSet(recipientStrings(documentRecipients(o)), d0.header.recipients)) {
        throw new UsageError("-r/-R differ from the document's recipients: change them with aes-payload recipients add|remove, or drop -r/-R");
      }
      const d = (await openRecipientInput(text, o, ui))!;
      const plain = codec.decrypt(d.rest, d.key!, { what: file });
      const wasToken = plain.tokenPaths.some((l) => JSON.stringify(l) === JSON.stringify(loc));
      const next = applyEdits(type, plain.text, [{ loc, json: t.json }], file);
      const paths = rule(next);
      if (o.plain) {
        const selected = paths.length > 0 && codec.requirePlain(next, paths, file).plaintext.includes(JSON.stringify(loc));
        if (wasToken || selected) throw new UsageError(`${t.path} is encrypted here (${wasToken ? 'it held a token' : 'the rules select it'}); --plain refused`);
      }
      const r = codec.reencrypt(d.rest, next, d.key!, { paths: [...paths, ...(o.plain ? [] : [exactPath(loc)])], what: file });
      write(rejoin(d, r.text), o.plain ? ' (in the clear)' : ", encrypted under the document's data key");
      return true;
    }
    // Public keys only: a pending value (FORMAT.md §17.5), outside the document MAC.
    if (o.plain) throw new UsageError('--plain needs an identity here: the body of a document encrypted to age recipients is under a MAC only its data key writes');
    if (loc.length !== 1 || typeof loc[0] !== 'string') throw new UsageError(`with public keys only, set takes a top-level name (a pending value is a string at a top-level name); give -i to set ${t.path}`);
    if (o.valueJson && !t.json.startsWith('"')) throw new UsageError('a pending value is a string: drop --value-json, or give -i to set other values');
    const { recipients, from } = pendingRecipients(match, o, d0.header.recipients, file);
    const value = o.valueJson ? (JSON.parse(t.json) as string) : t.value;
    writeFileAtomic(t.target, setPendingValue(text, loc[0], value, recipients, yaml), { mode: t.mode, overwrite: true });
    ui.warn(
      `${file}: ${t.path} added as a pending value, sealed to ${from} with public keys only: it is not covered by the document MAC (anyone with the public keys could have written it), and readers are told so until someone with an identity reviews it and runs: aes-payload recipients seal ${file} -i …`,
    );
    return true;
  }
  if (t.encrypted) {
    if (hasRecipientFlags(o) || hasAgeIdentity(o)) throw new UsageError(`${file} is encrypted under a symmetric key: -r/-R and -i apply to documents encrypted to age recipients; give its key`);
    warnSymmetricDocument(match, file, warn);
    return false;
  }
  // A new document: to -r/-R, else to the rule's recipients (when no key flag or key in the environment wins).
  let recipients: AgeRecipient[];
  let origin = '';
  if (hasRecipientFlags(o)) {
    recipients = documentRecipients(o);
    warnFlagsDiffer(match, recipients, ui);
  } else {
    const choice = writerRulesRecipients(match, o, warn);
    if (!choice.recipients) {
      if (hasAgeIdentity(o)) throw new UsageError(`${file} is not encrypted yet: -i reads documents encrypted to age recipients; give -r/-R (or a rule's recipients) to encrypt it to them`);
      return false;
    }
    recipients = choice.recipients;
    origin = ` named in ${choice.origin}`;
    sayNewRecipients(o, recipients, `named in ${choice.origin}`, ui);
  }
  const next = applyEdits(type, text, [{ loc, json: t.json }], file);
  const r = encryptToRecipients(next, recipients, { fields: [...rule(next), ...(o.plain ? [] : [exactPath(loc)])], allowMissing: true, inputType: type }, await yamlFor(type));
  write(r.text, `${o.plain ? ' (in the clear)' : ', encrypted'}; the document is encrypted to ${plural(recipients.length, 'recipient')}${origin}`);
  return true;
}
