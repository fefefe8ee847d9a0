/**
 * Flags become a typed request: what commander parsed for encrypt, decrypt
 * and verify, checked against the table of src/cli/usage.ts (the one place
 * option combinations are refused), with option values parsed (paths,
 * --allow-alg, --apu/--apv). The commands then run the request over the
 * operations (src/ops/).
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { OnError } from '../io/lines.js';
import { usesKeyCommand } from '../keys/resolve.js';
import { kdfBudget } from '../ops/budget.js';
import { parsePaths, type FieldPath } from '../ops/documents.js';
import type { Alg, DecryptFormat, DecryptOptions, EncryptFormat, InputType, JweWrap, ValueFormat } from '../ops/index.js';
import { rulesFor, writerRulesKey, type Match } from '../rules/rules.js';
import { hasAgeIdentity, type AgeIdentityFlags } from './age.js';
import { asAlg, hasKeyFlag, parseAllowAlg, type KeyFlags } from './common.js';
import { onErrorOf } from './lines.js';
import { nonceBytesOf } from './nonce.js';
import { checkUsage, DECRYPT, ENCRYPT, VERIFY } from './usage.js';

type Rules = Awaited<ReturnType<typeof rulesFor>>;

export interface EncryptFlags extends KeyFlags, AgeIdentityFlags {
  output?: string;
  alg?: string;
  format: EncryptFormat | 'stream' | 'age';
  armor?: boolean;
  aad?: string;
  randomKey?: boolean;
  force?: boolean;
  wrap?: JweWrap;
  recipient?: string[];
  recipientsFile?: string[];
  kid?: string;
  apu?: string;
  apv?: string;
  fields?: string;
  inputType?: InputType;
  allowMissing?: boolean;
  lines?: boolean;
  failFast?: boolean;
  onError?: string;
  macOnlyEncrypted?: boolean;
  nonceBytes?: string;
  valueFormat?: ValueFormat;
  config?: string;
}

interface EncryptBase {
  file: string | undefined;
  o: EncryptFlags;
  alg: Alg | undefined;
}

/** A payload: an envelope, raw base64, a JWE or a field document, whole or line by line. */
export interface PayloadRequest extends EncryptBase {
  mode: 'payload';
  format: EncryptFormat;
  /** Where the key comes from: made here (--random-key), public keys (-r/-R), or the key flags. */
  key: 'random' | 'recipients' | 'flags';
  paths: FieldPath[] | undefined;
  /** The rule of the rules file that chose the values to encrypt (and maybe the key). */
  match: Rules;
  onError: OnError;
  party: { apu?: Buffer; apv?: Buffer };
}

/** What encrypt does: an age file, a stream, a field document to age recipients, or a payload. */
export type EncryptRequest = (EncryptBase & { mode: 'done' }) | (EncryptBase & { mode: 'age' }) | (EncryptBase & { mode: 'stream' }) | (EncryptBase & { mode: 'fields-recipients'; paths: FieldPath[] }) | PayloadRequest;

/** encrypt's flags as a request. The rules file is consulted (and may name the fields and key) only when no --fields, --format, -r or -i does. */
export async function encryptRequest(file: string | undefined, o: EncryptFlags, self: Command, warn: (m: string) => void, byRules?: (m: Match) => Promise<boolean>): Promise<EncryptRequest> {
  const alg = asAlg(o.alg);
  if (o.format === 'age') {
    checkUsage(ENCRYPT, 'age', o);
    return { mode: 'age', file, o, alg };
  }
  checkUsage(ENCRYPT, 'flags', o);
  const recipientFlags = o.recipient !== undefined || o.recipientsFile !== undefined;
  const formatGiven = self.getOptionValueSource('format') !== 'default';
  const match = o.fields === undefined && !o.lines && !o.randomKey && !formatGiven ? await rulesFor(file, o.config) : undefined;
  // A rule naming recipients, -r/-R, or a document encrypted to them (src/cli/recipientsRules.ts).
  if (match && byRules && (await byRules(match))) return { mode: 'done', file, o, alg };
  if (match) Object.assign(o, (await writerRulesKey(match, o, warn)) ?? {});
  const paths = o.fields !== undefined ? parsePaths(o.fields) : match ? [...(match.rule.fields ?? [])] : undefined;
  checkUsage(ENCRYPT, 'fields', { ...o, paths });
  if (o.format === 'stream') {
    checkUsage(ENCRYPT, 'stream', o);
    return { mode: 'stream', file, o, alg };
  }
  if (paths && (recipientFlags || hasAgeIdentity(o))) {
    checkUsage(ENCRYPT, 'fields-recipients', { ...o, keyFlag: hasKeyFlag(o) });
    return { mode: 'fields-recipients', file, o, alg, paths };
  }
  checkUsage(ENCRYPT, 'payload', o);
  const party = partyInfoOf(o);
  const key = o.randomKey ? 'random' : recipientFlags ? 'recipients' : 'flags';
  if (key === 'random') checkUsage(ENCRYPT, 'random-key', { ...o, keyFlag: hasKeyFlag(o) });
  else if (key === 'recipients') checkUsage(ENCRYPT, 'recipient', { ...o, keyFlag: hasKeyFlag(o) });
  else if (o.keyUri !== undefined) {
    // An HSM key wraps a fresh content key per message: the output is a JWE (compact by default).
    if (!formatGiven) o.format = 'jwe';
    checkUsage(ENCRYPT, 'key-uri', { ...o, paths });
  }
  return { mode: 'payload', file, o, alg, format: o.format as EncryptFormat, key, paths, match, onError: onErrorOf(o), party };
}

/** `--apu` / `--apv`: base64url, strictly (they go into the header as given). */
function partyInfoOf(o: EncryptFlags): { apu?: Buffer; apv?: Buffer } {
  const out: { apu?: Buffer; apv?: Buffer } = {};
  for (const n of ['apu', 'apv'] as const) {
    const v = o[n];
    if (v === undefined) continue;
    if (v === '' || !/^[A-Za-z0-9_-]+$/.test(v) || v.length % 4 === 1) throw new UsageError(`--${n} takes base64url (for example ${n === 'apu' ? 'QWxpY2U for "Alice"' : 'Qm9i for "Bob"'})`);
    const b = Buffer.from(v, 'base64url');
    if (b.toString('base64url') !== v) throw new UsageError(`--${n} is not canonical base64url`);
    out[n] = b;
  }
  return out;
}

export interface DecryptFlags extends KeyFlags, AgeIdentityFlags {
  output?: string;
  alg?: string;
  format: DecryptFormat | 'stream' | 'age';
  aad?: string;
  embeddedKey?: boolean;
  force?: boolean;
  allowAlg?: string;
  fields?: string;
  lines?: boolean;
  failFast?: boolean;
  onError?: string;
  allowLegacy?: boolean;
  allowPlaintext?: boolean;
  allowMissing?: boolean;
  extract?: string;
  nonceBytes?: string;
  valueFormat?: ValueFormat;
}

export interface DecryptRequest {
  file: string | undefined;
  o: DecryptFlags;
  paths: FieldPath[] | undefined;
  /** The options of every decrypt the request makes (src/ops/types.ts). */
  opts: DecryptOptions & { format: DecryptFormat };
  onError: OnError;
  /** A key command learns the input's kid (AES_PAYLOAD_KID), so it runs once the input is read. */
  late: boolean;
}

/** decrypt's flags as a request; the modes the input's first bytes select are checked when they are known (`checkDecrypt`). */
export function decryptRequest(file: string | undefined, o: DecryptFlags): DecryptRequest {
  checkUsage(DECRYPT, 'flags', { ...o, keyFlag: hasKeyFlag(o), ageIdentity: hasAgeIdentity(o) });
  const alg = asAlg(o.alg);
  const paths = o.fields !== undefined ? parsePaths(o.fields) : undefined;
  const opts = {
    ...(alg ? { alg } : {}),
    ...(o.aad !== undefined ? { aad: o.aad } : {}),
    format: o.format as DecryptFormat,
    embeddedKey: Boolean(o.embeddedKey),
    ...parseAllowAlg(o.allowAlg),
    ...(paths ? { fields: paths } : {}),
    allowLegacy: Boolean(o.allowLegacy),
    allowPlaintext: Boolean(o.allowPlaintext),
    allowMissing: Boolean(o.allowMissing),
    kdfBudget: kdfBudget(),
    ...nonceBytesOf(o.nonceBytes),
    ...(o.valueFormat ? { valueFormat: o.valueFormat } : {}),
  };
  const late = !o.embeddedKey && !o.lines && o.format !== 'stream' && usesKeyCommand(o, process.env);
  return { file, o, paths, opts, onError: onErrorOf(o), late };
}

/** Check decrypt's flags against what the input turned out to be (an age file, a stream). */
export function checkDecrypt(mode: 'age' | 'stream', o: DecryptFlags): void {
  checkUsage(DECRYPT, mode, o);
}

export interface VerifyFlags extends KeyFlags, AgeIdentityFlags {
  alg?: string;
  strict?: boolean;
  format: DecryptFormat | 'stream' | 'age';
  allowAlg?: string;
  json?: boolean;
  keyCheck?: boolean;
  expectKid?: string;
  require?: string;
  allowLegacy?: boolean;
  key: boolean; // --no-key sets this to false
  nonceBytes?: string;
  embeddedKey?: boolean;
}

export type VerifyRequest = { o: VerifyFlags; alg: Alg | undefined } & (
  | { mode: 'key-check' }
  | { mode: 'inputs'; files: string[]; require: FieldPath[] | undefined; opts: DecryptOptions & { kdfBudget: NonNullable<DecryptOptions['kdfBudget']> } }
);

/** verify's flags as a request: a key check, or inputs to check. */
export function verifyRequest(files: string[], o: VerifyFlags): VerifyRequest {
  const facts = { ...o, files, keyFlag: hasKeyFlag(o), ageIdentity: hasAgeIdentity(o) };
  checkUsage(VERIFY, 'flags', facts);
  const alg = asAlg(o.alg);
  if (o.keyCheck) {
    checkUsage(VERIFY, 'key-check', facts);
    return { mode: 'key-check', o, alg };
  }
  const list = files.length ? files : ['-'];
  checkUsage(VERIFY, 'inputs', { ...facts, files: list });
  const require = o.require !== undefined ? parsePaths(o.require) : undefined;
  const opts = { ...(alg ? { alg } : {}), ...parseAllowAlg(o.allowAlg), allowLegacy: Boolean(o.allowLegacy), kdfBudget: kdfBudget(), ...nonceBytesOf(o.nonceBytes) };
  return { mode: 'inputs', o, alg, files: list, require, opts };
}

/** Check verify's flags against what one input turned out to be: a stream, or an input read whole in `format`. */
export function checkVerify(mode: 'stream' | 'whole', o: VerifyFlags, format?: DecryptFormat): void {
  checkUsage(VERIFY, mode, { ...o, files: [], ...(format !== undefined ? { format } : {}) });
}
