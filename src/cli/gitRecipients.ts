/**
 * The git drivers' side of documents encrypted to age recipients: which
 * identities a driver has (git gives it no terminal and no flags of the
 * user's), and what textconv shows. The work is in src/git/recipients.ts.
 */
import { AesPayloadError, IOError, KeyError } from '../errors.js';
import type { AgeIdentity } from '../ops/age.js';
import type { FieldFormat } from '../ops/documents.js';
import { overlay } from '../ops/recipients.js';
import { openWith, recipientPlaintext, yamlReader } from '../git/recipients.js';
import { recipientsSyntax } from '../ops/recipients.js';
import { hasAgeIdentity, readIdentities, type AgeIdentityFlags } from './age.js';
import type { Ui } from './ui.js';

/** Identity lines (AGE-SECRET-KEY-1…), as age-keygen writes them; read by the git drivers. */
export const IDENTITY_ENV = 'AES_PAYLOAD_IDENTITY';
/** The path of an identity file; read by the git drivers. */
export const IDENTITY_FILE_ENV = 'AES_PAYLOAD_IDENTITY_FILE';

/**
 * The identities of a git driver: -i/--identity-env when git config passes
 * them, else AES_PAYLOAD_IDENTITY and AES_PAYLOAD_IDENTITY_FILE from the
 * environment git runs it in. None: an empty list (the caller decides).
 */
export function driverIdentities(o: AgeIdentityFlags, ui: Ui): AgeIdentity[] {
  if (hasAgeIdentity(o)) return readIdentities(o, ui);
  const ids: AgeIdentity[] = [];
  if (process.env[IDENTITY_ENV]) ids.push(...readIdentities({ identityEnv: IDENTITY_ENV }, ui));
  const file = process.env[IDENTITY_FILE_ENV];
  if (file) ids.push(...readIdentities({ identity: [file] }, ui));
  return ids;
}

/**
 * What `git-textconv` shows for a recipient document: its plaintext (pending
 * values set as readers see them), then one comment line per recipient and
 * one naming the pending values, so that `git diff` shows who was added or
 * removed, and what came in without the data key. For people, not parsers.
 */
export async function textconvRecipients(kind: FieldFormat, text: string, o: AgeIdentityFlags, ui: Ui): Promise<string> {
  const yaml = await yamlReader(recipientsSyntax(text) === 'yaml');
  const d = openWith(text, driverIdentities(o, ui), yaml)!;
  let plain = recipientPlaintext(kind, d);
  if (d.pending.length) plain = overlay(plain, d.syntax, d.pending);
  const lines = d.header.recipients.map((r) => `# aes-payload recipient: ${r}`);
  if (d.pendingNames.length) lines.push(`# aes-payload pending (written with public keys only, not under the document MAC): ${d.pendingNames.join(', ')}`);
  return `${plain}${plain === '' || plain.endsWith('\n') ? '' : '\n'}${lines.join('\n')}\n`;
}

/** What the smudge filter writes for a recipient document, or undefined to check it out encrypted (a warning says why). */
export async function smudgeRecipients(kind: FieldFormat, text: string, path: string, o: AgeIdentityFlags, ui: Ui): Promise<string | undefined> {
  // As for a symmetric document without its key: no identity, an unreadable one, or none that is a recipient is no reason to fail a checkout.
  let d;
  try {
    const ids = driverIdentities(o, ui);
    if (!ids.length) {
      ui.warn(`${path}: encrypted to age recipients and no identity (AES_PAYLOAD_IDENTITY, AES_PAYLOAD_IDENTITY_FILE); checked out encrypted`);
      return undefined;
    }
    d = openWith(text, ids, await yamlReader(recipientsSyntax(text) === 'yaml'))!;
  } catch (e) {
    if (!(e instanceof KeyError || e instanceof IOError || (e instanceof AesPayloadError && e.code === 'ERR_NO_IDENTITY'))) throw e;
    ui.warn(`${path}: ${e.message}; checked out encrypted`);
    return undefined;
  }
  if (d.pendingNames.length) {
    // In plaintext, the next clean would fold them into the body under the data key: a seal nobody reviewed.
    ui.warn(`${path}: has pending values (${d.pendingNames.slice(0, 5).join(', ')}) written with public keys only; checked out encrypted: review them and run aes-payload recipients seal ${path} -i …`);
    return undefined;
  }
  return recipientPlaintext(kind, d);
}
