import { randomBytes, type KeyObject } from 'node:crypto';
import { checkKeyLength, freshRandom, open, seal, specOf, type Sealed } from './crypto/aead.js';
import { defaultAlgForKeyLength, type Alg } from './crypto/algs.js';
import { subkey } from './crypto/derive.js';
import { gcmSeal } from './crypto/gcm.js';
import { SCRYPT_DEFAULTS, scryptCostMs, scryptKey, scryptParamsProblem, type KdfBudget } from './crypto/kdf.js';
import { readText } from './formats/utf8.js';
import { AesPayloadError, AmbiguousKeyError, AuthError, FormatError, KeyError, UsageError } from './errors.js';
import * as envelope from './formats/envelope.js';
import * as jweCodec from './formats/jwe.js';
import { parseJsonSpans } from './formats/jsonSpans.js';
import { b64decodeStrict } from './formats/base64.js';
import * as raw from './formats/raw.js';
import { openRawBytes } from './formats/rawOpen.js';
import { checkOriginAlg, decryptOriginFields, encryptOriginFields } from './fields/origin.js';
import { JWE_ENCS, jweDecrypt, jweEncrypt, type JweEnc, type JweWrap } from './jose/jwe.js';
import { decodeKey } from './keys/decode.js';
import { keyId } from './keys/kid.js';
import { ringKey, type Keyring } from './keys/keyring.js';
import { isEnvFieldDocument } from './fields/envfields.js';
import { fieldCodec, isFieldFormat } from './fields/documents.js';
import type { ExternalKek } from './keys/pkcs11.js';
import { isYamlFieldDocument } from './fields/yamlfields.js';
import { HEADER_MEMBER, fieldDocumentKind, notEncrypted, type KeyForKid } from './fields/fields.js';
import type { FieldPath } from './fields/paths.js';
import type { MacMode } from './formats/token.js';
import type { FastSpec } from './io/lineWorkers.js';

export type EncryptFormat = 'json' | 'raw' | 'jwe' | 'jwe-json';
export type DecryptFormat = 'auto' | EncryptFormat | 'fields' | 'env' | 'yaml';

/** What a document for field encryption is: JSON, a .env file or YAML (docs/FORMAT.md §10, §12, §13). */
export type InputType = 'json' | 'env' | 'yaml';

/**
 * Every kind of key an operation may use. A bare `Uint8Array` passed where
 * a key is expected means `{ secret }`; a string is key text, decoded as the
 * CLI decodes it (hex, or base64/base64url).
 */
export interface Keys {
  /** A symmetric key. */
  secret?: Uint8Array;
  /** An RSA key (JWE RSA-OAEP), or a P-256, P-384, P-521 or X25519 key (JWE ECDH-ES): public to encrypt, private to decrypt. */
  rsa?: KeyObject;
  /** A passphrase: scrypt for the envelope and raw formats, PBES2 for JWE. */
  passphrase?: Uint8Array;
  /** Several keys: encrypt uses the primary, decrypt picks by the input's kid. */
  ring?: Keyring;
  /** JWE: several RSA public keys to encrypt to (a general JSON JWE). */
  recipients?: KeyObject[];
  /** JWE only: a key-encryption key inside an HSM (PKCS#11, `--key-uri`), which wraps a fresh content key per message. */
  kek?: ExternalKek;
}

export type KeyArg = Uint8Array | string | Keys | undefined;

function toKeys(k: KeyArg): Keys {
  if (k === undefined) return {};
  if (typeof k === 'string') return { secret: decodeKey(Buffer.from(k, 'utf8'), 'auto') };
  if (k instanceof Uint8Array) return { secret: k };
  if (typeof k !== 'object' || k === null) throw new TypeError('a key is a Uint8Array, a hex or base64 string, or { secret | rsa | passphrase | ring }');
  return k;
}

/** The symmetric key for an input that names `kid` (keyring), or the one key. */
function secretFor(keys: Keys, kid: string | undefined): Uint8Array | undefined {
  return keys.ring ? ringKey(keys.ring, kid) : keys.secret;
}

/**
 * A key lookup for field tokens: by kid from a keyring, else the one key.
 *
 * @example
 * ```ts
 * decryptFields(doc, keyForKid({ ring })); // each document finds its key by kid
 * ```
 */
export function keyForKid(keys: Keys): KeyForKid {
  return (kid) => {
    const k = secretFor(keys, kid);
    if (!k) {
      if (keys.rsa || keys.passphrase) throw new KeyError('field documents need a symmetric key or a keyring', 'ERR_KEY_TYPE');
      throw new KeyError('no key given', 'ERR_KEY_MISSING');
    }
    return k;
  };
}

/** Length of the salt that prefixes raw output made with a passphrase. */
export const RAW_SALT_LEN = 16;
/** Nonce length of the origin microservice's envelopes (pycryptodome's GCM default). */
export const ORIGIN_NONCE_LEN = 16;

export interface EncryptOptions {
  /** Content algorithm. Default: the GCM variant matching the key length. */
  alg?: Alg;
  /** Additional authenticated data, recorded in the envelope as `aad`. */
  aad?: Uint8Array | string;
  /** `json` (default), `raw`, `jwe` or `jwe-json`. */
  format?: EncryptFormat;
  /**
   * Write the origin microservice's `{data,key,mac,nonce}` with the key in it
   * (`--random-key`): the output is then not secret.
   */
  embedKey?: boolean;
  /** JWE key management (`alg`); see {@link jweEncrypt}. */
  wrap?: JweWrap;
  /** JWE: the `kid` to write instead of the key's own. */
  kid?: string;
  /** JWE ECDH-ES: Agreement PartyUInfo / PartyVInfo, written as `apu` / `apv`. */
  apu?: Uint8Array;
  apv?: Uint8Array;
  /** Encrypt only these values of a JSON document, each into a field token. */
  fields?: FieldPath[];
  /** With `fields`: a path that matches nothing is not an error. */
  allowMissing?: boolean;
  /** With `fields`: the document MAC covers the encrypted values only (`--mac-only-encrypted`). */
  macOnlyEncrypted?: boolean;
  /** With `fields`: the document is JSON (default), a .env text (whose `fields` are names, with globs) or YAML. */
  inputType?: InputType;
  /** Raw AES-GCM output: the nonce length, 12 (default) or 16 (pycryptodome's default; `--nonce-bytes`). */
  nonceBytes?: raw.RawNonceLength;
  /**
   * With `fields`: `token` (default) writes field tokens under a document
   * MAC; `origin` writes each value as the FX peers do, bare
   * `base64(iv ‖ ct)` (A*CBC) or `base64(nonce ‖ ct ‖ tag)` (A*GCM), with
   * no document MAC (docs/FORMAT.md §14).
   */
  valueFormat?: ValueFormat;
}

/** How `--fields` writes each value: an aes-payload token, or the origin peers' bare base64. */
export type ValueFormat = 'token' | 'origin';

export interface EncryptResult {
  /** The encoded output, without a trailing newline. */
  text: string;
  alg: Alg;
  /** Absent for passphrase-derived keys, whose key differs per message. */
  kid?: string;
  /** JWE only: the key management algorithm. */
  wrap?: JweWrap;
  /** Field encryption: values encrypted now, and selected values already encrypted. */
  fields?: { encrypted: number; already: number };
  /** Things the person should know (origin field values that will not come back with their JSON type). */
  notes?: string[];
}

export interface DecryptOptions {
  /** Expected algorithm; required for raw input that is not GCM of the key's size, and for legacy plain-CBC envelopes. */
  alg?: Alg;
  /** Additional authenticated data; overrides the envelope's `aad`. */
  aad?: Uint8Array | string;
  format?: DecryptFormat;
  /** Use the key carried inside the origin's `{data,key,mac,nonce}` envelope. */
  embeddedKey?: boolean;
  /** JWE: when given, every `alg` and `enc` must be in this set. */
  allowAlg?: ReadonlySet<string>;
  /** JWE: cap on the inflated size of `zip: "DEF"` payloads. */
  maxInflated?: number;
  /** Decrypt only the field tokens at these paths (default: every token, when the input is a field document). */
  fields?: FieldPath[];
  /** With `fields`: a plaintext value at those paths is not an error. */
  allowPlaintext?: boolean;
  /** With `fields`: a path that matches nothing is not an error. */
  allowMissing?: boolean;
  /** Read version-1 envelopes and field documents, and envelopes with no version (aes-payload 0.1 and earlier). */
  allowLegacy?: boolean;
  /** A run's budget of passphrase work, shared by many inputs (the CLI makes one per run). */
  kdfBudget?: KdfBudget;
  /** Raw AES-GCM input: the nonce length, 12 (default) or 16 (pycryptodome's default; `--nonce-bytes`). */
  nonceBytes?: raw.RawNonceLength;
  /** With `fields`: `origin` reads the values the FX peers write (see {@link EncryptOptions.valueFormat}); never detected. */
  valueFormat?: ValueFormat;
}

export type DecryptedFormat = EncryptFormat | 'fields' | 'env' | 'yaml';

export interface DecryptResult {
  plaintext: Buffer;
  alg?: Alg;
  kid?: string;
  format: DecryptedFormat;
  wrap?: JweWrap;
  /** Field tokens decrypted (format `fields`). */
  fields?: number;
  /** Field documents: what the document MAC covered (`all` or `enc`); absent for legacy documents. */
  mac?: MacMode;
  /** The input was a legacy version (read with `allowLegacy`). */
  legacy?: boolean;
  /**
   * Field documents: where the decrypted tokens were. When the document MAC
   * covers the encrypted values only (`mac` `enc`) or there is none (legacy),
   * these are the only values that were authenticated.
   */
  tokenPaths?: (string | number)[][];
}

export interface VerifyResult {
  ok: boolean;
  alg?: Alg;
  kid?: string;
  format?: DecryptedFormat;
  /** JWE only: the key management algorithm. */
  wrap?: JweWrap;
  /** Why verification failed; never contains key material or plaintext. */
  error?: AesPayloadError;
}

function toBytes(x: Uint8Array | string | undefined): Buffer | undefined {
  if (x === undefined) return undefined;
  return typeof x === 'string' ? Buffer.from(x, 'utf8') : Buffer.from(x);
}

function pickAlg(key: Uint8Array, alg: Alg | undefined): Alg {
  if (alg) return alg;
  const a = defaultAlgForKeyLength(key.length);
  if (!a) throw new KeyError(`the key is ${key.length} bytes; no algorithm takes a key of that length`, 'ERR_KEY_LENGTH');
  return a;
}

/**
 * `--nonce-bytes` is for raw AES-GCM only: `wrong` names what it was given
 * with instead (an algorithm with a fixed IV, or another format), if any.
 */
function checkNonceBytes(n: number | undefined, wrong: Alg | 'input' | 'output' | undefined, detected?: string): void {
  if (n === undefined) return;
  if (!(raw.RAW_GCM_NONCE_LENGTHS as readonly number[]).includes(n)) throw new UsageError(`--nonce-bytes takes 12 or 16, not ${n}`);
  if (wrong === 'input' || wrong === 'output') {
    const what = detected === 'json' ? 'an envelope, which records its own nonce' : detected === 'jwe' || detected === 'jwe-json' ? 'a JWE, whose "iv" is 12 bytes' : detected ? `a ${detected} document, whose tokens record their nonces` : undefined;
    throw new UsageError(`--nonce-bytes applies to raw AES-GCM ${wrong} (--format raw) and origin field values (--value-format origin)${what ? `; this input is ${what}: drop --nonce-bytes` : ''}`);
  }
  if (wrong) throw new UsageError(`--nonce-bytes sets an AES-GCM nonce; ${wrong} always uses a 16-byte IV`);
}

function needAuthenticated(alg: Alg, what: string): void {
  if (!specOf(alg).authenticated) {
    throw new UsageError(`${alg} is unauthenticated and exists only for old services' raw base64(iv + ct); ${what} needs an authenticated algorithm (use --format raw for ${alg})`);
  }
}

/**
 * Encrypt a payload into a JSON envelope (default), raw base64, a JWE, or a
 * field document, with a fresh random nonce or IV.
 *
 * @example
 * ```ts
 * import { encrypt, generateKey } from 'aes-payload';
 * const { key } = generateKey();
 * const { text } = encrypt('{"card":"4111…"}', key);
 * // text: '{"v":2,"alg":"A256GCM","kid":"…","nonce":"…","data":"…","mac":"…"}'
 * ```
 */
export function encrypt(plaintext: Uint8Array | string, keyArg: KeyArg, opts: EncryptOptions = {}): EncryptResult {
  let keys = toKeys(keyArg);
  // A keyring encrypts with its primary key (without changing the caller's object).
  if (keys.ring && !keys.secret) keys = { ...keys, secret: ringKey(keys.ring, undefined) };
  const format = opts.format ?? 'json';
  if (opts.fields) {
    if (!keys.secret) throw new KeyError(`field documents need a symmetric key or a keyring${keys.passphrase ? ', not a passphrase' : keys.rsa ? ', not an RSA or EC key' : ''}`, 'ERR_KEY_TYPE');
    if (opts.aad !== undefined || opts.embedKey || opts.wrap || opts.kid !== undefined) {
      throw new UsageError('--fields takes none of --aad, --random-key, --wrap, --kid');
    }
    const text = typeof plaintext === 'string' ? plaintext : readText(plaintext);
    const alg = pickAlg(keys.secret, opts.alg);
    if (opts.valueFormat === 'origin') {
      if (opts.macOnlyEncrypted) throw new UsageError('--mac-only-encrypted is about the document MAC, which --value-format origin does not write');
      if ((opts.inputType ?? 'json') !== 'json') throw new UsageError('--value-format origin reads and writes JSON documents');
      checkOriginAlg(alg);
      checkKeyLength(alg, keys.secret);
      checkNonceBytes(opts.nonceBytes, specOf(alg).kind === 'gcm' ? undefined : alg);
      const r = encryptOriginFields(text, keys.secret, { paths: opts.fields, alg, allowMissing: Boolean(opts.allowMissing), ...(opts.nonceBytes ? { nonceBytes: opts.nonceBytes } : {}) });
      return { text: r.text, alg, kid: keyId(keys.secret), fields: { encrypted: r.encrypted, already: 0 }, notes: r.notes };
    }
    checkNonceBytes(opts.nonceBytes, 'output');
    if (!specOf(alg).authenticated) {
      throw new UsageError(`--fields needs an authenticated algorithm; ${alg} has none (for the origin peers' bare base64(iv ‖ ct) values, add --value-format origin)`);
    }
    const fo = { paths: opts.fields, alg, allowMissing: Boolean(opts.allowMissing), ...(opts.macOnlyEncrypted ? { mode: 'enc' as const } : {}) };
    const r = fieldCodec(opts.inputType ?? 'json').encrypt(text, keys.secret, fo);
    return { text: r.text, alg, kid: keyId(keys.secret), fields: { encrypted: r.encrypted, already: r.already } };
  }
  if (opts.macOnlyEncrypted) throw new UsageError('--mac-only-encrypted needs --fields');
  if (opts.valueFormat === 'origin') throw new UsageError('--value-format needs --fields');
  checkNonceBytes(opts.nonceBytes, format === 'raw' ? undefined : 'output');
  if (format === 'jwe' || format === 'jwe-json') {
    if (opts.embedKey) throw new UsageError('--random-key needs --format json');
    if (opts.alg && !(JWE_ENCS as readonly string[]).includes(opts.alg)) {
      throw new UsageError(`${opts.alg} is not a JWE content algorithm; use A*GCM or A*CBC-HS*`);
    }
    const r = jweEncrypt(toBytes(plaintext)!, keys, {
      ...(opts.alg ? { enc: opts.alg as JweEnc } : {}),
      ...(opts.wrap ? { wrap: opts.wrap } : {}),
      ...(opts.kid !== undefined ? { kid: opts.kid } : {}),
      ...(opts.aad !== undefined ? { aad: toBytes(opts.aad)! } : {}),
      ...(opts.apu ? { apu: opts.apu } : {}),
      ...(opts.apv ? { apv: opts.apv } : {}),
      serialization: format === 'jwe' ? 'compact' : 'flattened',
    });
    return { text: r.text, alg: r.enc, ...(r.kid !== undefined ? { kid: r.kid } : {}), wrap: r.wrap };
  }
  if (opts.wrap) throw new UsageError('--wrap needs --format jwe or jwe-json');
  if (opts.kid !== undefined) throw new UsageError('--kid needs --format jwe or jwe-json');
  if (opts.apu || opts.apv) throw new UsageError('--apu and --apv need --format jwe or jwe-json');
  if (keys.rsa) throw new KeyError('an RSA or EC key can only be used with --format jwe or jwe-json', 'ERR_KEY_TYPE');
  if (opts.embedKey) return encryptOrigin(toBytes(plaintext)!, keys, opts);
  if (!keys.secret && keys.passphrase) return encryptWithPassphrase(toBytes(plaintext)!, keys.passphrase, opts);
  const key = keys.secret;
  if (!key) throw new KeyError('no key given', 'ERR_KEY_MISSING');
  const alg = pickAlg(key, opts.alg);
  const spec = specOf(alg);
  const aad = toBytes(opts.aad);
  if (aad && !spec.authenticated) throw new UsageError(`--aad needs an authenticated algorithm; ${alg} has none`);
  const kid = keyId(key);
  if (format === 'raw') {
    checkNonceBytes(opts.nonceBytes, spec.kind === 'gcm' ? undefined : alg);
    return { text: raw.encode(seal(alg, key, toBytes(plaintext)!, aad, opts.nonceBytes)), alg, kid };
  }
  needAuthenticated(alg, 'the JSON envelope');
  checkKeyLength(alg, key);
  const s = seal(alg, subkey(key, 'envelope'), toBytes(plaintext)!, envelope.envelopeAad(alg, kid, aad));
  return { text: envelope.encode({ version: 2, alg, kid, nonce: s.nonce, data: s.ciphertext, mac: s.tag, ...(aad ? { aad } : {}) }), alg, kid };
}

/** The origin's self-keyed `{data,key,mac,nonce}`: AES-GCM with a 16-byte nonce, the key in the output. */
function encryptOrigin(plaintext: Buffer, keys: Keys, opts: EncryptOptions): EncryptResult {
  if (opts.format !== undefined && opts.format !== 'json') throw new UsageError('--random-key needs --format json, which can carry the key');
  if (opts.aad !== undefined) throw new UsageError('--random-key writes the origin format, which has no aad');
  if (keys.passphrase && !keys.secret) throw new UsageError('--random-key and a passphrase exclude each other');
  const key = keys.secret;
  if (!key) throw new KeyError('no key given', 'ERR_KEY_MISSING');
  const alg = pickAlg(key, opts.alg);
  if (specOf(alg).kind !== 'gcm') throw new UsageError(`--random-key writes the origin's AES-GCM format; ${alg} is not GCM`);
  checkKeyLength(alg, key);
  const nonce = Buffer.from(freshRandom(ORIGIN_NONCE_LEN));
  const s = gcmSeal(key, nonce, plaintext);
  return { text: envelope.encodeOrigin({ data: s.ciphertext, key: Buffer.from(key), mac: s.tag, nonce }), alg };
}

function encryptWithPassphrase(plaintext: Buffer, passphrase: Uint8Array, opts: EncryptOptions): EncryptResult {
  const alg = opts.alg ?? 'A256GCM';
  const spec = specOf(alg);
  const aad = toBytes(opts.aad);
  if (aad && !spec.authenticated) throw new UsageError(`--aad needs an authenticated algorithm; ${alg} has none`);
  if (opts.format !== 'raw') needAuthenticated(alg, 'the JSON envelope');
  const salt = randomBytes(RAW_SALT_LEN);
  const key = scryptKey(passphrase, salt, spec.keyLen, SCRYPT_DEFAULTS);
  try {
    if (opts.format === 'raw') {
      checkNonceBytes(opts.nonceBytes, spec.kind === 'gcm' ? undefined : alg);
      const s = seal(alg, key, plaintext, aad, opts.nonceBytes);
      return { text: raw.encode({ ...s, nonce: Buffer.concat([salt, s.nonce]) }), alg };
    }
    const s = seal(alg, subkey(key, 'envelope'), plaintext, envelope.envelopeAad(alg, undefined, aad));
    const env: envelope.Envelope = { version: 2, alg, kdf: { name: 'scrypt', salt, ...SCRYPT_DEFAULTS }, nonce: s.nonce, data: s.ciphertext, mac: s.tag, ...(aad ? { aad } : {}) };
    return { text: envelope.encode(env), alg };
  } finally {
    key.fill(0);
  }
}

/** Derive a passphrase key with scrypt, after the cost checks (per input, then the run's budget). */
function kdfKey(passphrase: Uint8Array | undefined, kdf: envelope.Kdf, alg: Alg, budget: KdfBudget | undefined): Buffer {
  if (!passphrase) {
    throw new KeyError('this input is protected by a passphrase: pass --passphrase, --passphrase-env NAME or --passphrase-file FILE', 'ERR_KEY_MISSING');
  }
  const problem = scryptParamsProblem(kdf);
  if (problem) throw new FormatError(`refusing the input's scrypt cost: ${problem}`, 'ERR_KDF_COST');
  budget?.charge(scryptCostMs(kdf));
  return scryptKey(passphrase, kdf.salt, specOf(alg).keyLen, kdf);
}

function kidsDiffer(named: string, given: string): string {
  return `the input names kid ${named}; the key given is kid ${given}`;
}

/** Open, turning a failure into the one AuthError with the kids' story. */
function openWithKids(s: Sealed, key: Uint8Array, aad: Uint8Array | undefined, kid: string | undefined): Buffer {
  try {
    return open(s, key, aad);
  } catch (e) {
    if (e instanceof AuthError && kid !== undefined) throw new AuthError(`kid ${kid} matches, but the data was altered`);
    throw e;
  }
}

interface Opened {
  plaintext: Buffer;
  alg: Alg;
  /** kid of the key that authenticated; none for passphrases and embedded keys. */
  kid: string | undefined;
  legacy?: boolean;
}

/** Pick the symmetric key for an envelope that names `kid`, with the right errors for other key kinds. */
function envelopeKey(keys: Keys, kid: string | undefined): Uint8Array {
  const key = keys.ring ? ringKey(keys.ring, kid) : keys.secret;
  if (key) return key;
  if (keys.passphrase) throw new KeyError('a passphrase was given but this envelope was made with a key, not a passphrase', 'ERR_KEY_TYPE');
  if (keys.rsa) throw new KeyError('an RSA or EC key can only decrypt JWE input', 'ERR_KEY_TYPE');
  throw new KeyError('no key given', 'ERR_KEY_MISSING');
}

function legacyRefusal(env: envelope.Envelope): FormatError {
  const what = env.version === 1 ? 'a version-1 envelope (aes-payload 0.1)' : 'an envelope with no version';
  return new FormatError(
    `this is ${what}, whose key is not separated from the other formats; pass --allow-legacy to read it, and upgrade it with aes-payload rotate --allow-legacy`,
    'ERR_LEGACY',
  );
}

function openEnvelope(text: string, keys: Keys, opts: DecryptOptions, forVerify: boolean, decoded?: envelope.Envelope): Opened {
  const env = decoded ?? envelope.decode(text);
  const userAad = toBytes(opts.aad);
  if (env.version === 2) {
    if (opts.embeddedKey) throw new FormatError('--embedded-key was given but the envelope has no "key" field (a version-2 envelope never carries its key)', 'ERR_EMBEDDED_KEY');
    const alg = env.alg!;
    if (!specOf(alg).authenticated) throw new FormatError(`a version-2 envelope never uses ${alg}, which is unauthenticated`, 'ERR_UNAUTHENTICATED');
    if (opts.alg && opts.alg !== alg) throw new FormatError(`the envelope says ${alg} but --alg is ${opts.alg}`, 'ERR_ALG_MISMATCH');
    let key: Uint8Array;
    let kid: string | undefined;
    if (env.kdf) {
      key = kdfKey(keys.passphrase, env.kdf, alg, opts.kdfBudget);
    } else {
      key = envelopeKey(keys, env.kid);
      checkKeyLength(alg, key);
      kid = keyId(key);
      if (kid !== env.kid) throw new AuthError(kidsDiffer(env.kid!, kid));
    }
    try {
      const sealed = { alg, nonce: env.nonce, ciphertext: env.data, tag: env.mac! };
      return { plaintext: openWithKids(sealed, subkey(key, 'envelope'), envelope.envelopeAad(alg, env.kid, userAad ?? env.aad), kid), alg, kid };
    } finally {
      if (env.kdf) key.fill(0);
    }
  }
  if (envelope.isOrigin(env)) {
    if (!opts.embeddedKey) {
      throw new FormatError('the envelope carries its own key, so it is not secret; pass --embedded-key to decrypt it anyway', 'ERR_EMBEDDED_KEY');
    }
    const alg = opts.alg ?? defaultAlgForKeyLength(env.key!.length);
    if (!alg || specOf(alg).kind !== 'gcm' || specOf(alg).keyLen !== env.key!.length) {
      throw new FormatError(`the embedded key is ${env.key!.length} bytes, which ${alg ? `${alg} does not take` : 'no algorithm takes'}`, 'ERR_ENVELOPE');
    }
    return { plaintext: open({ alg, nonce: env.nonce, ciphertext: env.data, tag: env.mac! }, env.key!, userAad), alg, kid: undefined };
  }
  if (!opts.allowLegacy) throw legacyRefusal(env);
  return { ...openLegacyEnvelope(env, keys, opts, userAad, forVerify), legacy: true };
}

/** Version 1 and version-less envelopes, exactly as aes-payload 0.1 read them. */
function openLegacyEnvelope(env: envelope.Envelope, keys: Keys, opts: DecryptOptions, userAad: Buffer | undefined, forVerify: boolean): Opened {
  // No kid, no embedded key, no passphrase: with a keyring, every key is tried (as for raw input),
  // and one that two keys open is refused. Plain CBC: the primary only, as padding is no proof.
  if (keys.ring && env.kid === undefined && !env.key && !env.kdf && !opts.embeddedKey && !(env.alg && !specOf(env.alg).authenticated)) {
    const ring = keys.ring;
    const cands = [ring.keys.get(ring.primary)!, ...[...ring.keys.values()].filter((k) => k !== ring.keys.get(ring.primary))];
    return eachCandidate(cands, (k) => openLegacyEnvelope(env, { secret: k }, opts, userAad, forVerify), 'the envelope names no kid');
  }
  let key: Uint8Array | undefined;
  if (env.kdf) {
    if (env.key) throw new FormatError('an envelope cannot have both "kdf" and "key"', 'ERR_ENVELOPE');
    if (!env.alg) throw new FormatError('an envelope with "kdf" must name its "alg"', 'ERR_ENVELOPE');
  }
  if (env.key) {
    if (!opts.embeddedKey) throw new FormatError('the envelope carries its own key, so it is not secret; pass --embedded-key to decrypt it anyway', 'ERR_EMBEDDED_KEY');
    key = env.key;
  } else if (opts.embeddedKey) {
    throw new FormatError('--embedded-key was given but the envelope has no "key" field', 'ERR_EMBEDDED_KEY');
  }
  if (env.alg && opts.alg && env.alg !== opts.alg) throw new FormatError(`the envelope says ${env.alg} but --alg is ${opts.alg}`, 'ERR_ALG_MISMATCH');
  if (!key && env.kdf) key = kdfKey(keys.passphrase, env.kdf, env.alg!, opts.kdfBudget);
  if (!key) key = envelopeKey(keys, env.kid);
  let alg: Alg;
  if (env.alg) {
    alg = env.alg;
    if (!specOf(alg).authenticated && !opts.alg && !forVerify) {
      throw new FormatError(`the envelope uses ${alg}, which is unauthenticated; pass --alg ${alg} to decrypt it anyway`, 'ERR_UNAUTHENTICATED');
    }
  } else {
    alg = pickAlg(key, opts.alg);
  }
  if (env.key && key.length !== specOf(alg).keyLen) throw new FormatError(`the embedded key is ${key.length} bytes, which ${alg} does not take`, 'ERR_ENVELOPE');
  checkKeyLength(alg, key);
  const spec = specOf(alg);
  if (spec.authenticated && !env.mac) throw new FormatError(`envelope has no "mac" field, which ${alg} needs`, 'ERR_ENVELOPE');
  if (!spec.authenticated && env.mac) throw new FormatError(`envelope has a "mac" field, which ${alg} does not use`, 'ERR_ENVELOPE');
  const aad = userAad ?? env.aad;
  if (aad && !spec.authenticated) throw new FormatError(`${alg} cannot authenticate "aad"`, 'ERR_ENVELOPE');
  const kid = env.kdf || env.key ? undefined : keyId(key);
  if (env.kid !== undefined && kid !== undefined && env.kid !== kid) throw new AuthError(kidsDiffer(env.kid, kid));
  if (!spec.authenticated && forVerify) throw new FormatError('unauthenticated algorithm', 'ERR_UNAUTHENTICATED');
  try {
    return { plaintext: openWithKids({ alg, nonce: env.nonce, ciphertext: env.data, tag: env.mac ?? Buffer.alloc(0) }, key, aad, kid), alg, kid };
  } finally {
    if (env.kdf) key.fill(0);
  }
}

/**
 * Open an input that names no key under each candidate key in turn (a
 * keyring's, primary first), and return what exactly one of them opened:
 * none is the authentication error, two or more are refused (AES-GCM does
 * not commit to its key: SECURITY.md, "One key per ciphertext"). A
 * candidate that does not fit (a key error: wrong length for the algorithm)
 * is skipped; if none fits, the first one's error is thrown.
 */
function eachCandidate<T extends { plaintext: Buffer }>(cands: Uint8Array[], open1: (k: Uint8Array) => T, why: string): T {
  const opened: { r: T; key: Uint8Array }[] = [];
  let firstKeyError: unknown;
  let tried = 0;
  for (const k of cands) {
    try {
      opened.push({ r: open1(k), key: k });
      tried++;
    } catch (e) {
      if (e instanceof AuthError) tried++;
      else if (e instanceof KeyError) firstKeyError ??= e;
      else throw e;
    }
  }
  if (opened.length > 1) {
    for (const o of opened) o.r.plaintext.fill(0);
    throw new AmbiguousKeyError(opened.map((o) => keyId(o.key)), 'kids');
  }
  if (opened.length === 1) return opened[0]!.r;
  if (tried === 0 && firstKeyError) throw firstKeyError;
  throw new AuthError(`${why}, and none of the keyring's ${tried} key${tried === 1 ? '' : 's'} that fit authenticated it`);
}

/**
 * Raw input carries no algorithm: read with the GCM default, an input whose
 * length fits AES-CBC (IV + whole blocks) may be CBC. Said from its length
 * alone, which is public, so the one authentication failure stays one.
 */
function cbcHint(length: number, used: Alg, cbc: string): string | undefined {
  if (length < 32 || length % 16 !== 0) return undefined;
  return `read as ${used}, as no --alg was given; if it is AES-CBC (IV + ciphertext), pass --alg ${cbc}`;
}

function openRaw(text: string, keys: Keys, opts: DecryptOptions, forVerify: boolean): Opened {
  if (opts.embeddedKey) throw new UsageError('--embedded-key needs a JSON envelope; raw input carries no key');
  const userAad = toBytes(opts.aad);
  if (!keys.secret && !keys.ring && keys.passphrase) {
    const alg = opts.alg ?? 'A256GCM';
    const spec = specOf(alg);
    if (userAad && !spec.authenticated) throw new UsageError(`--aad needs an authenticated algorithm; ${alg} has none`);
    checkNonceBytes(opts.nonceBytes, spec.kind === 'gcm' ? undefined : alg);
    const nonceLen = spec.kind === 'gcm' ? (opts.nonceBytes ?? spec.nonceLen) : spec.nonceLen;
    const all = raw.decode(text, alg);
    if (all.nonce.length + all.ciphertext.length < RAW_SALT_LEN + nonceLen) {
      throw new FormatError('raw input is too short to hold a passphrase salt', 'ERR_RAW');
    }
    const bytes = Buffer.concat([all.nonce, all.ciphertext, all.tag]);
    const salt = bytes.subarray(0, RAW_SALT_LEN);
    if (forVerify && !spec.authenticated) throw new FormatError('unauthenticated algorithm', 'ERR_UNAUTHENTICATED');
    const k = kdfKey(keys.passphrase, { name: 'scrypt', salt, ...SCRYPT_DEFAULTS }, alg, opts.kdfBudget);
    try {
      const body = bytes.subarray(RAW_SALT_LEN);
      return { plaintext: openRawBytes(body, alg, nonceLen, [k], userAad), alg, kid: undefined };
    } finally {
      k.fill(0);
    }
  }
  if (keys.rsa && !keys.secret) throw new KeyError('an RSA or EC key can only decrypt JWE input', 'ERR_KEY_TYPE');
  // Raw input names no kid: with a keyring, every key is tried (plain CBC: the primary only, as padding is no proof).
  // Every one, not the first that works: GCM does not commit to its key, so an input made to open under two keys is refused.
  const primary = secretFor(keys, undefined);
  if (!primary) throw new KeyError('no key given', 'ERR_KEY_MISSING');
  const alg = pickAlg(primary, opts.alg);
  const spec = specOf(alg);
  if (userAad && !spec.authenticated) throw new UsageError(`--aad needs an authenticated algorithm; ${alg} has none`);
  const candidates = keys.ring && spec.authenticated ? [primary, ...[...keys.ring.keys.values()].filter((k) => k !== primary && k.length === spec.keyLen)] : [primary];
  checkKeyLength(alg, primary);
  checkNonceBytes(opts.nonceBytes, spec.kind === 'gcm' ? undefined : alg);
  const bytes = b64decodeStrict(text.replace(/\s+/g, ''), 'raw input');
  const nonceLen = spec.kind === 'gcm' ? (opts.nonceBytes ?? spec.nonceLen) : spec.nonceLen;
  raw.split(bytes, alg, nonceLen); // too short: malformed, before any key is tried
  if (forVerify && !spec.authenticated) throw new FormatError('unauthenticated algorithm', 'ERR_UNAUTHENTICATED');
  let used: Uint8Array | undefined;
  const details = [
    ...(keys.ring ? [`raw input names no kid, and none of the keyring's ${candidates.length} key${candidates.length === 1 ? '' : 's'} of ${spec.keyLen} bytes authenticated it`] : []),
    ...(!opts.alg && spec.kind === 'gcm' ? [cbcHint(bytes.length, alg, `A${spec.keyLen * 8}CBC`)].filter((h): h is string => h !== undefined) : []),
  ];
  const plaintext = openRawBytes(bytes, alg, nonceLen, candidates, userAad, {
    usedKey: (k) => (used = k),
    ...(details.length ? { authDetail: details.join('; ') } : {}),
  });
  return { plaintext, alg, kid: keyId(used!) };
}

/** `--fields PATHS --value-format origin`: the FX peers' values, chosen by the user, never detected. */
function decryptOrigin(text: string, keys: Keys, opts: DecryptOptions): DecryptResult {
  if (!opts.fields) throw new UsageError('--value-format origin needs --fields: the values carry no marker, so the paths say where they are');
  if (opts.format !== undefined && opts.format !== 'auto' && opts.format !== 'json' && opts.format !== 'fields') {
    throw new UsageError('--value-format origin reads JSON documents');
  }
  if (opts.aad !== undefined || opts.embeddedKey || opts.allowLegacy) throw new UsageError('--value-format origin takes none of --aad, --embedded-key, --allow-legacy');
  if (keys.rsa || keys.passphrase || keys.kek) {
    if (!keys.secret && !keys.ring) throw new KeyError('--value-format origin needs a symmetric key or a keyring', 'ERR_KEY_TYPE');
  }
  const primary = secretFor(keys, undefined);
  if (!primary) throw new KeyError('no key given', 'ERR_KEY_MISSING');
  const alg = pickAlg(primary, opts.alg);
  checkOriginAlg(alg);
  checkKeyLength(alg, primary);
  const spec = specOf(alg);
  checkNonceBytes(opts.nonceBytes, spec.kind === 'gcm' ? undefined : alg);
  // Values name no kid: a keyring's keys are all tried for GCM; plain CBC uses the primary only (padding is no proof).
  const candidates = keys.ring && spec.kind === 'gcm' ? [primary, ...[...keys.ring.keys.values()].filter((k) => k !== primary && k.length === spec.keyLen)] : [primary];
  const r = decryptOriginFields(text, candidates, {
    paths: opts.fields,
    alg,
    allowMissing: Boolean(opts.allowMissing),
    allowPlaintext: Boolean(opts.allowPlaintext),
    ...(opts.nonceBytes ? { nonceBytes: opts.nonceBytes } : {}),
    ...(!opts.alg && spec.kind === 'gcm' ? { cbcHint: `A${spec.keyLen * 8}CBC` } : {}),
  });
  return { plaintext: Buffer.from(r.text, 'utf8'), alg, format: 'fields', fields: r.decrypted };
}

const JWE_JSON_MEMBERS = new Set(['protected', 'unprotected', 'header', 'encrypted_key', 'recipients', 'aad', 'iv', 'ciphertext', 'tag']);

/**
 * Which format an input is (docs/FORMAT.md §5), by structure, never by a
 * substring: five base64url parts are a compact JWE; a JSON object is a
 * field document if it has a root `"aesp"` header or holds token values, a
 * JWE if its members are JWE members with `ciphertext`, an envelope if its
 * members are envelope members with `nonce` and `data`; any other JSON is
 * "not an encrypted input" (exit 4); anything else is raw. The binary
 * stream is recognised by the CLI before the input is read whole.
 *
 * @example
 * ```ts
 * detectFormat('{"v":2,"alg":"A256GCM",…}', 'auto'); // 'json'
 * detectFormat('{"role":"admin"}', 'auto'); // throws: not an encrypted input
 * ```
 */
export function detectFormat(text: string, format: DecryptFormat | undefined, fields?: FieldPath[]): DecryptedFormat {
  if (format === 'env' || format === 'yaml') return format;
  const t0 = text.replace(/^\uFEFF/, '').trimStart();
  const notJson = t0[0] !== '{' && t0[0] !== '[';
  if (fields) return notJson && isEnvFieldDocument(text) ? 'env' : notJson && isYamlFieldDocument(text) ? 'yaml' : 'fields';
  if (format && format !== 'auto') return format;
  if (jweCodec.detect(text) === 'compact') return 'jwe';
  const t = text.replace(/^\uFEFF/, '').trimStart();
  if (t[0] !== '{' && t[0] !== '[') return isEnvFieldDocument(text) ? 'env' : isYamlFieldDocument(text) ? 'yaml' : 'raw';
  if (envelope.decodeFast(text)) return 'json';
  const root = parseJsonSpans(text, 'input');
  if (root.kind === 'object') {
    const names = root.entries.map((e) => e.key);
    const header = root.entries.find((e) => e.key === HEADER_MEMBER);
    if (header?.value.kind === 'string' && header.value.value.startsWith('aesp:')) return 'fields';
    if (names.includes('ciphertext') && names.every((n) => JWE_JSON_MEMBERS.has(n))) return 'jwe-json';
    // A numeric "v" says "envelope" (its decoder then names any problem);
    // otherwise every member must be an envelope member, nonce and data among them.
    const v = root.entries.find((e) => e.key === 'v');
    if (v?.value.kind === 'number') return 'json';
    if (names.includes('nonce') && names.includes('data') && names.every((n) => envelope.ENVELOPE_MEMBERS.has(n))) return 'json';
  }
  if (fieldDocumentKind(text)) return 'fields';
  throw notEncrypted();
}

/**
 * The kid an input names, read without a key and without authenticating
 * anything (for a key command's AES_PAYLOAD_KID, never for a decision);
 * undefined when it names none or cannot be read.
 *
 * @example
 * ```ts
 * inputKid('{"v":2,"alg":"A256GCM","kid":"3f1c…",…}'); // '3f1c…'
 * ```
 */
export function inputKid(input: string | Uint8Array): string | undefined {
  const text = asText(input);
  try {
    const format = detectFormat(text, 'auto');
    if (format === 'json') return envelope.decode(text).kid;
    if (format === 'jwe' || format === 'jwe-json') {
      const j = jweCodec.decode(text);
      const kid = j.recipients[0]?.header?.kid ?? j.unprotected?.kid ?? j.protectedHeader.kid;
      return typeof kid === 'string' ? kid : undefined;
    }
    if (isFieldFormat(format)) {
      const m = /aesp:2:doc:[a-z]+:([0-9a-f]{16}):/.exec(text);
      return m?.[1];
    }
  } catch {
    /* no kid to offer */
  }
  return undefined;
}

function asText(input: string | Uint8Array): string {
  // Bytes are UTF-8 or refused: no U+FFFD in place of what another reader would read otherwise.
  return typeof input === 'string' ? input : readText(input);
}

function decryptJwe(text: string, keys: Keys, opts: DecryptOptions, format: 'jwe' | 'jwe-json'): DecryptResult {
  const kind = jweCodec.detect(text);
  if ((format === 'jwe' && kind !== 'compact') || (format === 'jwe-json' && kind !== 'json')) {
    throw new FormatError(`input is not a ${format === 'jwe' ? 'compact' : 'JSON'} JWE`, 'ERR_JWE');
  }
  if (opts.embeddedKey) throw new UsageError('--embedded-key needs a JSON envelope');
  if (opts.alg) throw new UsageError('--alg does not apply to JWE input, which names its algorithms; use --allow-alg');
  const jweOpts = {
    ...(opts.allowAlg ? { allowAlg: opts.allowAlg } : {}),
    ...(opts.maxInflated !== undefined ? { maxInflated: opts.maxInflated } : {}),
    ...(opts.aad !== undefined ? { aad: toBytes(opts.aad)! } : {}),
    ...(opts.kdfBudget ? { kdfBudget: opts.kdfBudget } : {}),
  };
  let r: ReturnType<typeof jweDecrypt>;
  if (keys.ring) {
    // Pick the keyring's key by the kid the JWE names (any recipient). A JWE that names no kid is
    // tried under every key of the keyring, and refused when more than one opens it.
    const ring = keys.ring;
    const parsed = jweCodec.decode(text);
    const kids = parsed.recipients.map((r) => r.header?.kid ?? parsed.unprotected?.kid ?? parsed.protectedHeader.kid).filter((k): k is string => typeof k === 'string');
    const known = kids.find((k) => ring.keys.has(k));
    if (known !== undefined || kids.length) r = jweDecrypt(text, { ...keys, secret: ringKey(ring, known ?? kids[0]) }, jweOpts);
    else {
      const cands = [ring.keys.get(ring.primary)!, ...[...ring.keys.values()].filter((k) => k !== ring.keys.get(ring.primary))];
      r = eachCandidate(cands, (k) => jweDecrypt(text, { ...keys, secret: k }, jweOpts), 'the JWE names no kid');
    }
  } else r = jweDecrypt(text, keys, jweOpts);
  return { plaintext: r.plaintext, alg: r.enc, ...(r.kid !== undefined ? { kid: r.kid } : {}), format, wrap: r.wrap };
}

function decryptAny(text: string, keys: Keys, opts: DecryptOptions, forVerify: boolean): DecryptResult {
  if (opts.valueFormat === 'origin') return decryptOrigin(text, keys, opts);
  // The canonical keyed envelope (what line mode reads by the million) is parsed once.
  const fast = !opts.fields && opts.nonceBytes === undefined && (opts.format === undefined || opts.format === 'auto' || opts.format === 'json') ? envelope.decodeFast(text) : undefined;
  if (fast) {
    const o = openEnvelope(text, keys, opts, forVerify, fast);
    return { plaintext: o.plaintext, alg: o.alg, ...(o.kid !== undefined ? { kid: o.kid } : {}), format: 'json' };
  }
  const format = detectFormat(text, opts.format, opts.fields);
  if (format !== 'raw') checkNonceBytes(opts.nonceBytes, 'input', format);
  if (format === 'jwe' || format === 'jwe-json') return decryptJwe(text, keys, opts, format);
  if (isFieldFormat(format)) {
    const r = fieldCodec(format).decrypt(text, keyForKid(keys), {
      ...(opts.fields ? { paths: opts.fields } : {}),
      allowPlaintext: Boolean(opts.allowPlaintext),
      allowMissing: Boolean(opts.allowMissing),
      allowLegacy: Boolean(opts.allowLegacy),
    });
    return {
      plaintext: Buffer.from(r.text, 'utf8'),
      format,
      fields: r.decrypted,
      ...(r.kids.length === 1 ? { kid: r.kids[0]! } : {}),
      ...(r.mode ? { mac: r.mode } : { legacy: true }),
      tokenPaths: r.tokenPaths,
    };
  }
  const o = format === 'json' ? openEnvelope(text, keys, opts, forVerify) : openRaw(text, keys, opts, forVerify);
  return { plaintext: o.plaintext, alg: o.alg, ...(o.kid !== undefined ? { kid: o.kid } : {}), format, ...(o.legacy ? { legacy: true } : {}) };
}

/**
 * Decrypt any input aes-payload reads: an envelope, raw base64, a JWE or a
 * field document, detected by structure. Plaintext is returned only after
 * it has authenticated; a wrong key or tampered input throws
 * {@link AuthError}, JSON that holds nothing encrypted a {@link FormatError}.
 *
 * @example
 * ```ts
 * import { decrypt } from 'aes-payload';
 * const { plaintext, alg, kid } = decrypt(text, key);
 * ```
 */
export function decrypt(input: string | Uint8Array, key: KeyArg, opts: DecryptOptions = {}): DecryptResult {
  return decryptAny(asText(input), toKeys(key), opts, false);
}

/**
 * Authenticate an input without returning its plaintext. Unauthenticated
 * `A*CBC` input fails with "unauthenticated algorithm". Never throws an
 * {@link AesPayloadError}: the result says what went wrong.
 *
 * @example
 * ```ts
 * import { verify } from 'aes-payload';
 * const r = verify(text, key); // { ok: true, alg: 'A256GCM', kid: '…', format: 'json' }
 * ```
 */
export function verify(input: string | Uint8Array, key: KeyArg, opts: DecryptOptions = {}): VerifyResult {
  let format: DecryptedFormat | undefined;
  try {
    const text = asText(input);
    format = detectFormat(text, opts.format, opts.fields);
    const r = decryptAny(text, toKeys(key), { ...opts, format }, true);
    r.plaintext.fill(0);
    return { ok: true, format: r.format, ...(r.alg ? { alg: r.alg } : {}), ...(r.kid !== undefined ? { kid: r.kid } : {}), ...(r.wrap ? { wrap: r.wrap } : {}) };
  } catch (e) {
    if (e instanceof AesPayloadError) return { ok: false, ...(format ? { format } : {}), ...claimed(input, format), error: e };
    throw e;
  }
}

/** For a failed envelope: the algorithm and kid it claims (unauthenticated, for the report). */
function claimed(input: string | Uint8Array, format: DecryptedFormat | undefined): { alg?: Alg; kid?: string } {
  if (format !== 'json') return {};
  try {
    const env = envelope.decode(asText(input));
    return { ...(env.alg ? { alg: env.alg } : {}), ...(env.kid !== undefined ? { kid: env.kid } : {}) };
  } catch {
    return {};
  }
}

/**
 * The parallel fast path line mode can take (src/io/lineWorkers.ts), when
 * the operation is the plain keyed envelope under one key: no fields, AAD,
 * passphrase, keyring, embedded key or JWE. Undefined otherwise, and then
 * every line takes the full path.
 *
 * @example
 * ```ts
 * lineFastPath('seal', key, {}); // { op: 'seal', alg: 'A256GCM', kid, key: <envelope key> }
 * ```
 */
export function lineFastPath(
  op: 'seal' | 'open',
  keyArg: KeyArg,
  opts: { alg?: Alg; aad?: unknown; format?: string; fields?: unknown; embedKey?: boolean; embeddedKey?: boolean; wrap?: unknown; kid?: string; nonceBytes?: number },
): FastSpec | undefined {
  const keys = toKeys(keyArg);
  const secret = keys.secret;
  if (!secret || keys.ring || keys.rsa || keys.passphrase || keys.recipients) return undefined;
  const alg = defaultAlgForKeyLength(secret.length);
  if (alg !== 'A128GCM' && alg !== 'A192GCM' && alg !== 'A256GCM') return undefined;
  if (opts.alg !== undefined && opts.alg !== alg) return undefined;
  if (opts.fields || opts.aad !== undefined || opts.embedKey || opts.embeddedKey || opts.wrap || opts.kid !== undefined || opts.nonceBytes !== undefined) return undefined;
  if (op === 'seal' ? (opts.format ?? 'json') !== 'json' : !['auto', 'json', undefined].includes(opts.format)) return undefined;
  return { op, alg, kid: keyId(secret), key: subkey(secret, 'envelope') };
}

/**
 * Generate a random key for `alg` (default A256GCM).
 *
 * @example
 * ```ts
 * import { generateKey } from 'aes-payload';
 * const { key, kid } = generateKey('A128CBC-HS256'); // key: 32 random bytes
 * ```
 */
export function generateKey(alg: Alg = 'A256GCM'): { key: Buffer; kid: string; alg: Alg } {
  const key = randomBytes(specOf(alg).keyLen);
  return { key, kid: keyId(key), alg };
}

