import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { FormatError, KeyError, ioError } from '../errors.js';
import { formatRecipient, parseRecipient, type AgeRecipient } from '../formats/age/keys.js';
import { keySourceFlags, type KeySource } from '../keys/resolve.js';
import { ENV_KEY_VARS, type Match } from './rules.js';

/**
 * The `recipients` and `recipients-file` entries of a rule (docs/FORMAT.md
 * §16): which age public keys a NEW document that the rule matches is
 * encrypted to (a field document of §17). The recipients of an existing
 * document are its own: a rules file never changes them (a merge can bring
 * any rules file; `recipients add|remove` change them, with an identity).
 */

const MAX_RECIPIENTS_FILE = 1 << 20;

/** Where a rule is, for messages. */
const at = (m: Match) => `${m.rules.file}: line ${m.rule.line}`;

/** Whether the matching rule names recipients at all (its text only: nothing is read). */
export function ruleHasRecipients(m: Match | undefined): m is Match {
  return Boolean(m?.rule.recipients || m?.rule.recipientsFiles);
}

function readRecipientsFile(m: Match, path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK); // a FIFO must not block: it is refused below
  } catch (e) {
    throw ioError(e, `${at(m)}: cannot read the recipients-file ${path}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FormatError(`${at(m)}: the recipients-file ${path} is not a regular file`, 'ERR_RULES');
    if (st.size > MAX_RECIPIENTS_FILE) throw new FormatError(`${at(m)}: the recipients-file ${path} is over 1 MiB`, 'ERR_RULES');
    const b = Buffer.alloc(st.size);
    let off = 0;
    while (off < b.length) {
      const n = readSync(fd, b, off, b.length - off, null);
      if (n === 0) break;
      off += n;
    }
    return b.subarray(0, off).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The rule's recipients as strings (`age1…`), files read: what is compared
 * with a document's list. A line of a recipients file that is not an
 * `age1…` key is refused by its number, never shown: a committed rules file
 * can name any file the user can read.
 */
export function ruleRecipientStrings(m: Match): string[] {
  const out = [...(m.rule.recipients ?? [])];
  for (const f of m.rule.recipientsFiles ?? []) {
    const lines = readRecipientsFile(m, f).split('\n');
    let found = 0;
    lines.forEach((raw, i) => {
      const line = raw.replace(/\r$/, '').trim();
      if (line === '' || line.startsWith('#')) return;
      if (!/^age1[0-9a-z]+$/.test(line)) throw new FormatError(`${at(m)}: the recipients-file ${f}, line ${i + 1}: not an age recipient (age1…, lower case)`, 'ERR_RULES');
      found++;
      out.push(line);
    });
    if (!found) throw new FormatError(`${at(m)}: the recipients-file ${f} holds no age recipient`, 'ERR_RULES');
  }
  return [...new Set(out)];
}

/** The rule's recipients, parsed (a post-quantum key needs Node 24.7). Errors name the rules file and line. */
export function ruleRecipients(m: Match): AgeRecipient[] {
  return ruleRecipientStrings(m).map((s, i) => {
    try {
      return parseRecipient(s);
    } catch (e) {
      if (e instanceof KeyError && e.code === 'ERR_NODE_VERSION') throw e;
      throw new FormatError(`${at(m)}: recipient #${i + 1} is not a valid age recipient (${(e as Error).message.replace(/^not an age recipient "[^"]*": /, '')})`, 'ERR_RULES');
    }
  });
}

/** Two recipient lists hold the same keys (order does not matter). */
export function sameRecipientSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

/** Canonical strings of parsed recipients. */
export const recipientStrings = (rs: readonly AgeRecipient[]): string[] => rs.map(formatRecipient);

export interface WriterChoice {
  /** The rule's recipients, when they are what a new document is encrypted to. */
  recipients?: AgeRecipient[];
  /** Where they came from, for messages: `FILE (line N)`. */
  origin?: string;
}

/**
 * For a writer of a NEW document (encrypt, set, the clean filter) whose rule
 * names recipients: use them only when neither a key flag nor a key in the
 * environment (AES_PAYLOAD_KEY, AES_PAYLOAD_KEYRING, AES_PAYLOAD_KEY_CMD) is
 * given, as for a rules-file key (SECURITY.md, "rules-file key"): what the
 * person chose wins over what a committed file says, and a warning names the
 * difference. `-r/-R` flags are handled by the caller (they win too).
 */
export function writerRulesRecipients(m: Match | undefined, flags: KeySource, warn: (msg: string) => void, env: NodeJS.ProcessEnv = process.env): WriterChoice {
  if (!ruleHasRecipients(m)) return {};
  const origin = `${m.rules.file} (line ${m.rule.line})`;
  const flagged = keySourceFlags(flags);
  const envNamed = ENV_KEY_VARS.find((v) => env[v]);
  if (flagged.length || envNamed) {
    warn(`${origin} says this file is encrypted to age recipients, but ${flagged.length ? `${flagged[0]} names a key` : `env ${envNamed} names a key`}: ${flagged.length ? 'the flag' : 'the environment'}'s key is used, and the document is encrypted under it, not to the recipients (flags and the environment win over the rules file; ${flagged.length ? 'drop the key flag' : `unset ${envNamed}`} to use the recipients)`);
    return {};
  }
  return { recipients: ruleRecipients(m), origin };
}

/**
 * An existing recipient document whose rule names other recipients than the
 * document lists: the document's are kept, and a warning says how they
 * change. Never an error: rules that drift from the documents (a teammate
 * added to the rules, the documents not updated yet) must not stop edits.
 */
export function warnRecipientsDiffer(m: Match | undefined, what: string, docList: readonly string[], warn: (msg: string) => void): void {
  if (!ruleHasRecipients(m)) return;
  let listed: string[];
  try {
    listed = ruleRecipientStrings(m);
  } catch (e) {
    warn(`${(e as Error).message}; the document's own recipients are used`);
    return;
  }
  if (sameRecipientSet(listed, docList)) return;
  const add = listed.filter((r) => !docList.includes(r)).length;
  const drop = docList.filter((r) => !listed.includes(r)).length;
  warn(
    `${what} is encrypted to ${docList.length} recipient${docList.length === 1 ? '' : 's'}, and ${m.rules.file} (line ${m.rule.line}) names ${listed.length} (${add} not in the document, ${drop} of the document's not named): the document's recipients are kept; a rules file never changes them: use aes-payload recipients add|remove ${what} -i … (and review who is added)`,
  );
}

/** An existing symmetric document whose rule names recipients: it keeps its key. */
export function warnSymmetricDocument(m: Match | undefined, what: string, warn: (msg: string) => void): void {
  if (!ruleHasRecipients(m)) return;
  warn(`${what} is encrypted under a symmetric key; the recipients ${m.rules.file} (line ${m.rule.line}) names apply to new documents only, and this one keeps its key`);
}
