/**
 * The CLI side of age files (src/formats/age): keygen --age, encrypt
 * --format age, and decrypt/verify of files detected as age. Wiring only.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AesPayloadError, AuthError, EXIT, KeyError, UsageError, ioError } from '../errors.js';
import { KdfBudget } from '../crypto/kdf.js';
import {
  DETECT_BYTES,
  detect,
  formatIdentity,
  generateIdentity,
  openBody,
  openHeader,
  parseIdentityFile,
  parseRecipient,
  parseRecipientsFile,
  pqAvailable,
  pqUnavailableMessage,
  readAgeHeader,
  recipientOf,
  sealAge,
  type AgeIdentity,
  type AgeRecipient,
  type Emit,
} from '../formats/age/index.js';
import { writeFileAtomic } from '../io/output.js';
import type { Source } from '../io/source.js';
import { writeStdout } from '../io/stdout.js';
import { discardSink, fileSink, stdoutSink, type Sink } from '../formats/stream/sink.js';
import { resolveCliKeys, type KeyFlags } from './common.js';
import { progress } from './progress.js';
import { isTerminal } from './terminal.js';
import type { Ui } from './ui.js';

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

/** Whether the source starts like an age file (binary, or armored after white space). Peeks only. */
export function ageKind(src: Source): 'binary' | 'armor' | undefined {
  const head = src.peek(64);
  const k = detect(head);
  if (k || !head.length || !/^[ \t\r\n]/.test(head.toString('latin1', 0, 1))) return k;
  return detect(src.peek(DETECT_BYTES));
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The identities named by -i and --identity-env. */
export function readIdentities(o: AgeIdentityFlags): AgeIdentity[] {
  const ids: AgeIdentity[] = [];
  for (const f of o.identity ?? []) {
    let text: string;
    try {
      text = f === '-' ? readFileSync(0, 'utf8') : readFileSync(f, 'utf8');
    } catch (e) {
      throw ioError(e, `cannot read identity file ${f}`);
    }
    ids.push(...parseIdentityFile(text, `identity file ${f}`));
  }
  if (o.identityEnv !== undefined) {
    if (!ENV_NAME.test(o.identityEnv)) throw new UsageError(`--identity-env needs a variable name, not ${JSON.stringify(o.identityEnv.slice(0, 40))}`);
    const v = process.env[o.identityEnv];
    if (v === undefined || v === '') throw new KeyError(`environment variable ${o.identityEnv} is not set`, 'ERR_KEY_MISSING');
    ids.push(...parseIdentityFile(v, `env ${o.identityEnv}`));
  }
  return ids;
}

function emitTo(sink: Sink): Emit {
  return (b) => (sink.writev ? sink.writev([b]) : sink.write(b));
}

function sinkFor(out: { output?: string; force?: boolean }, mode: number): Sink {
  if (out.output !== undefined && out.output !== '-') return fileSink(out.output, { mode, overwrite: Boolean(out.force) });
  return stdoutSink();
}

const hasPassphraseFlag = (o: KeyFlags) => Boolean(o.passphrase) || o.passphraseEnv !== undefined || o.passphraseFile !== undefined;

/**
 * Decrypt (or, with 'discard', verify) an age file. Identities come from -i
 * and --identity-env; a passphrase file uses the passphrase flags or, at a
 * terminal, a prompt (as age does).
 */
export async function decryptAgeCli(
  src: Source,
  kind: 'binary' | 'armor',
  o: AgeIdentityFlags & KeyFlags,
  out: { output?: string; force?: boolean } | 'discard',
  ui: Ui,
  passphrase?: Uint8Array,
): Promise<{ bytes: number; types: string[] }> {
  try {
    const ids = readIdentities(o);
    const input = readAgeHeader(src, kind);
    const types = input.header.stanzas.map((s) => s.type);
    if (input.passphrase) {
      let p: Uint8Array | undefined = passphrase;
      if (!p && (hasPassphraseFlag(o) || (!ids.length && ui.interactive))) {
        p = (await resolveCliKeys({ ...o, ...(hasPassphraseFlag(o) ? {} : { passphrase: true }) }, ui)).passphrase;
      }
      if (p) ids.push({ type: 'scrypt', passphrase: Buffer.from(p) });
    }
    if (!ids.length) {
      throw new KeyError(
        input.passphrase
          ? 'this age file is passphrase-encrypted: use --passphrase (at a terminal), --passphrase-env NAME or --passphrase-file FILE'
          : 'this is an age file: give its identity with -i IDENTITY_FILE or --identity-env NAME',
        'ERR_KEY_MISSING',
      );
    }
    const fileKey = openHeader(input, ids, KdfBudget.fromEnv(process.env));
    const sink: Sink = out === 'discard' ? discardSink() : sinkFor(out, 0o600);
    const p = progress(ui, out === 'discard' ? 'verifying' : 'decrypting', src.size);
    try {
      const bytes = await openBody(input, fileKey, emitTo(sink), (n) => p.update(n));
      sink.commit();
      return { bytes, types };
    } catch (e) {
      sink.abort();
      if (e instanceof AuthError && sink.written > 0 && out !== 'discard' && (out.output === undefined || out.output === '-')) {
        throw new AesPayloadError('ERR_AUTH', EXIT.AUTH, `${e.message}; ${sink.written} bytes of plaintext were already written to stdout and are incomplete: discard them`);
      }
      throw e;
    } finally {
      p.stop();
      fileKey.fill(0);
    }
  } finally {
    src.close();
  }
}

/** Header only (verify --no-key): the stanza types, nothing decrypted. */
export function ageStructure(src: Source, kind: 'binary' | 'armor'): string[] {
  try {
    return readAgeHeader(src, kind).header.stanzas.map((s) => s.type);
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

/** The recipients of encrypt --format age: -r strings, -R files, or a passphrase. */
export async function ageRecipients(o: AgeEncryptFlags, ui: Ui): Promise<AgeRecipient[]> {
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
  if (hasPassphraseFlag(o)) {
    if (rs.length) throw new UsageError('an age file is encrypted to recipients (-r/-R) or to a passphrase, not both (age refuses to mix them)');
    const k = await resolveCliKeys(o, ui, true);
    return [{ type: 'scrypt', passphrase: k.passphrase! }];
  }
  if (!rs.length) throw new UsageError('--format age needs -r RECIPIENT, -R FILE or a passphrase (--passphrase, --passphrase-env, --passphrase-file)');
  return rs;
}

export async function encryptAgeCli(src: Source, recipients: AgeRecipient[], o: AgeEncryptFlags, ui: Ui): Promise<number> {
  const sink = sinkFor(o, 0o666);
  const p = progress(ui, 'encrypting', src.size);
  try {
    const n = await sealAge(src, recipients, emitTo(sink), { armor: Boolean(o.armor), onProgress: (k) => p.update(k) });
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
  const id = generateIdentity(Boolean(o.pq));
  const pub = recipientOf(id);
  const text = `# created: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}\n# public key: ${pub}\n${formatIdentity(id)}\n`;
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
  if (id.type === 'X25519') id.secret.fill(0);
  else if (id.type === 'mlkem768x25519') id.seed.fill(0);
}

