/**
 * The CLI side of age files (src/formats/age): keygen --age, encrypt
 * --format age, and decrypt/verify of files detected as age. Wiring only.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { KeyError, UsageError, ioError } from '../errors.js';
import { writeFileAtomic } from '../io/output.js';
import type { Source } from '../io/source.js';
import { writeStdout } from '../io/stdout.js';
import {
  ageFileKey,
  ageHeaderTypes,
  looksLikeAgeSecret,
  newAgeIdentity,
  openAgeBody,
  parseIdentityFile,
  parseRecipient,
  parseRecipientsFile,
  passphraseIdentity,
  passphraseRecipient,
  pqAvailable,
  pqUnavailableMessage,
  readAgeFile,
  sealAgeFile,
  stanzaTypes,
  type AgeIdentity,
  type AgeRecipient,
} from '../ops/age.js';
import { kdfBudget, type KdfBudget } from '../ops/budget.js';
import { outputSink, type HeadKind } from '../ops/stream.js';
import { keyContext, resolveCliKeys, type KeyFlags } from './common.js';
import { readSecretFile } from '../keys/resolve.js';
import { progress } from './progress.js';
import { partialOutput, plaintextSink } from './stream.js';
import { checkUsage, ENCRYPT } from './usage.js';
import type { Ui } from './ui.js';

export { ageKind } from '../ops/age.js';

export interface AgeIdentityFlags {
  identity?: string[];
  identityEnv?: string;
}

/** `-i FILE` (repeatable) and `--identity-env NAME`, for decrypt and verify. */
export function addAgeIdentityOptions(cmd: Command): Command {
  return cmd
    .option('-i, --identity <FILE>', 'age: an identity file (AGE-SECRET-KEY-1… lines, as age-keygen writes); repeatable', (v: string, prev: string[] = []) => [...prev, v])
    .option('--identity-env <NAME>', 'age: read identities (AGE-SECRET-KEY-1… lines) from environment variable NAME');
}

export function hasAgeIdentity(o: AgeIdentityFlags): boolean {
  return (o.identity?.length ?? 0) > 0 || o.identityEnv !== undefined;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The identities named by -i and --identity-env. */
export function readIdentities(o: AgeIdentityFlags, ui: Ui): AgeIdentity[] {
  const ids: AgeIdentity[] = [];
  for (const f of o.identity ?? []) {
    // -i takes a file; a key given in its place is never echoed back (as the missing file's name).
    if (!existsSync(f) && looksLikeAgeSecret(f)) throw new UsageError('-i takes an identity FILE, not the key itself (a key in argv is visible to other users): put it in a file, or use --identity-env NAME', 'ERR_USAGE');
    if (!existsSync(f) && /^age1[a-z0-9]*$/i.test(f)) throw new UsageError('-i: this is a recipient (public key), not an identity; give it to encrypt -r, and decrypt with the identity file age-keygen wrote', 'ERR_USAGE');
    // As every key file: at most 1 MiB, a warning when group or others can read it.
    const raw = readSecretFile(f, 'identity file', keyContext(ui));
    try {
      ids.push(...parseIdentityFile(raw.toString('utf8'), `identity file ${f}`));
    } finally {
      raw.fill(0);
    }
  }
  if (o.identityEnv !== undefined) {
    if (!ENV_NAME.test(o.identityEnv)) throw new UsageError(`--identity-env needs a variable name, not ${JSON.stringify(o.identityEnv.slice(0, 40))}`);
    const v = process.env[o.identityEnv];
    if (v === undefined || v === '') throw new KeyError(`environment variable ${o.identityEnv} is not set`, 'ERR_KEY_MISSING');
    ids.push(...parseIdentityFile(v, `env ${o.identityEnv}`));
  }
  return ids;
}

export const hasPassphraseFlag = (o: KeyFlags): boolean => Boolean(o.passphrase) || o.passphraseEnv !== undefined || o.passphraseFile !== undefined;

/**
 * Decrypt (or, with 'discard', verify) an age file. Identities come from -i
 * and --identity-env; a passphrase file uses the passphrase flags or, at a
 * terminal, a prompt (as age does).
 */
export async function decryptAgeCli(
  src: Source,
  kind: HeadKind,
  o: AgeIdentityFlags & KeyFlags,
  out: { output?: string; force?: boolean } | 'discard',
  ui: Ui,
  passphrase?: Uint8Array,
  budget: KdfBudget = kdfBudget(),
): Promise<{ bytes: number; types: string[] }> {
  try {
    const ids = readIdentities(o, ui);
    const input = readAgeFile(src, kind);
    const types = stanzaTypes(input);
    if (input.passphrase) {
      let p: Uint8Array | undefined = passphrase;
      if (!p && (hasPassphraseFlag(o) || (!ids.length && ui.interactive))) {
        p = (await resolveCliKeys({ ...o, ...(hasPassphraseFlag(o) ? {} : { passphrase: true }) }, ui)).passphrase;
      }
      if (p) ids.push(passphraseIdentity(p));
    }
    if (!ids.length) {
      throw new KeyError(
        input.passphrase
          ? 'this age file is passphrase-encrypted: use --passphrase (at a terminal), --passphrase-env NAME or --passphrase-file FILE'
          : 'this is an age file: give its identity with -i IDENTITY_FILE or --identity-env NAME',
        'ERR_KEY_MISSING',
      );
    }
    const fileKey = ageFileKey(input, ids, budget);
    const sink = plaintextSink(out);
    const p = progress(ui, out === 'discard' ? 'verifying' : 'decrypting', src.size);
    try {
      const bytes = await openAgeBody(input, fileKey, sink, (n) => p.update(n));
      sink.commit();
      return { bytes, types };
    } catch (e) {
      sink.abort();
      throw partialOutput(e, sink, out);
    } finally {
      p.stop();
      fileKey.fill(0);
    }
  } finally {
    src.close();
  }
}

/** Header only (verify --no-key): the stanza types, nothing decrypted. */
export function ageStructure(src: Source, kind: HeadKind): string[] {
  try {
    return ageHeaderTypes(src, kind);
  } finally {
    src.close();
  }
}

export interface AgeEncryptFlags extends KeyFlags {
  recipient?: string[];
  recipientsFile?: string[];
  armor?: boolean;
  output?: string;
  force?: boolean;
}

/** The age recipients named by -r (strings) and -R (files, - for stdin). */
export function readAgeRecipients(o: { recipient?: string[]; recipientsFile?: string[] }): AgeRecipient[] {
  const rs: AgeRecipient[] = [];
  for (const r of o.recipient ?? []) rs.push(parseRecipient(r.trim()));
  for (const f of o.recipientsFile ?? []) {
    let text: string;
    try {
      text = f === '-' ? readFileSync(0, 'utf8') : readFileSync(f, 'utf8');
    } catch (e) {
      throw ioError(e, `cannot read recipients file ${f}`);
    }
    rs.push(...parseRecipientsFile(text, `recipients file ${f}`));
  }
  return rs;
}

/** The recipients of encrypt --format age: -r strings, -R files, or a passphrase. */
export async function ageRecipients(o: AgeEncryptFlags, ui: Ui): Promise<AgeRecipient[]> {
  const rs = readAgeRecipients(o);
  checkUsage(ENCRYPT, 'age-recipients', { ...o, format: 'age', recipients: rs.length, passphraseFlag: hasPassphraseFlag(o) });
  if (hasPassphraseFlag(o)) return [passphraseRecipient((await resolveCliKeys(o, ui, true)).passphrase!)];
  return rs;
}

export async function encryptAgeCli(src: Source, recipients: AgeRecipient[], o: AgeEncryptFlags, ui: Ui): Promise<number> {
  const sink = outputSink(o, 0o666);
  const p = progress(ui, 'encrypting', src.size);
  try {
    const n = await sealAgeFile(src, recipients, sink, { armor: Boolean(o.armor), onProgress: (k) => p.update(k) });
    sink.commit();
    return n;
  } catch (e) {
    sink.abort();
    throw e;
  } finally {
    p.stop();
    src.close();
  }
}

/** keygen --age [--pq]: an age identity file, as age-keygen writes it. */
export async function keygenAge(o: { pq?: boolean; output?: string; force?: boolean }, ui: Ui, mayReplace: (what: string) => Promise<void>): Promise<void> {
  if (o.pq && !pqAvailable()) throw new UsageError(`keygen --age --pq: ${pqUnavailableMessage()}`, 'ERR_NODE_VERSION');
  const id = newAgeIdentity(Boolean(o.pq));
  const pub = id.recipient;
  const text = `# created: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}\n# public key: ${pub}\n${id.line}\n`;
  if (o.output !== undefined && o.output !== '-') {
    let overwrite = false;
    if (existsSync(o.output)) {
      await mayReplace(o.output);
      overwrite = true;
    }
    writeFileAtomic(o.output, text, { mode: 0o600, overwrite });
    ui.raw(`Public key: ${pub}`);
    ui.line(`wrote age ${o.pq ? 'post-quantum (mlkem768x25519) ' : ''}identity to ${o.output} (mode 0600)`);
    ui.hint(`encrypt with: aes-payload encrypt --format age -r ${pub.length > 80 ? `$(grep -o 'age1[a-z0-9]*' ${o.output})` : pub}; decrypt with -i ${o.output}`);
  } else {
    writeStdout(text);
    ui.raw(`Public key: ${pub}`);
  }
  id.wipe();
}
