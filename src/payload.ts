import { randomBytes, type KeyObject } from 'node:crypto';
import { checkKeyLength, open, seal, specOf, type Sealed } from './crypto/aead.js';
import { defaultAlgForKeyLength, type Alg } from './crypto/algs.js';
import { SCRYPT_DEFAULTS, scryptKey, scryptParamsProblem } from './crypto/kdf.js';
import { AesPayloadError, AuthError, FormatError, KeyError, UsageError } from './errors.js';
import * as envelope from './formats/envelope.js';
import * as jweCodec from './formats/jwe.js';
import * as raw from './formats/raw.js';
import { JWE_ENCS, jweDecrypt, jweEncrypt, type JweEnc, type JweWrap } from './jose/jwe.js';
import { keyId } from './keys/kid.js';
import { ringKey, type Keyring } from './keys/keyring.js';
import { decryptFields, encryptFields, hasTokens, type KeyForKid } from './fields/fields.js';
import type { FieldPath } from './fields/paths.js';

export type EncryptFormat = 'json' | 'raw' | 'jwe' | 'jwe-json';
export type DecryptFormat = 'auto' | EncryptFormat | 'fields';

/**
 * Every kind of key an operation may use. A bare `Uint8Array` passed where
 * a key is expected means `{ secret }`.
 */
export interface Keys {
  /** A symmetric key. */
  secret?: Uint8Array;
  /** An RSA key (JWE RSA-OAEP): public to encrypt, private to decrypt. */
  rsa?: KeyObject;
  /** A passphrase: scrypt for the envelope and raw formats, PBES2 for JWE. */
  passphrase?: Uint8Array;
  /** Several keys: encrypt uses the primary, decrypt picks by the input's kid. */
  ring?: Keyring;
}

export type KeyArg = Uint8Array | Keys | undefined;

function toKeys(k: KeyArg): Keys {
  if (k === undefined) return {};
  return k instanceof Uint8Array ? { secret: k } : k;
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
 * decryptFields(doc, keyForKid({ ring })); // each token finds its key by kid
 * ```
 */
export function keyForKid(keys: Keys): KeyForKid {
  return (kid) => {
    const k = secretFor(keys, kid);
    if (!k) {
      if (keys.rsa || keys.passphrase) throw new KeyError('field tokens need a symmetric key or a keyring', 'ERR_KEY_TYPE');
      throw new KeyError('no key given', 'ERR_KEY_MISSING');
    }
    return k;
  };
}

/** Length of the salt that prefixes raw output made with a passphrase. */
export const RAW_SALT_LEN = 16;

export interface EncryptOptions {
  /** Content algorithm. Default: the GCM variant matching the key length. */
  alg?: Alg;
  /** Additional authenticated data, recorded in the envelope as `aad`. */
  aad?: Uint8Array | string;
  /** `json` (default) or `raw`. */
  format?: EncryptFormat;
  /** Put the key into the envelope (`--random-key`); the output is then not secret. */
  embedKey?: boolean;
  /** JWE key management (`alg`); see {@link jweEncrypt}. */
  wrap?: JweWrap;
  /** JWE: the `kid` to write instead of the key's own. */
  kid?: string;
  /** Encrypt only these values of a JSON document, each into a field token. */
  fields?: FieldPath[];
  /** With `fields`: a path that matches nothing is not an error. */
  allowMissing?: boolean;
}

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
}

export interface DecryptOptions {
  /** Expected algorithm; required for raw input that is not GCM of the key's size. */
  alg?: Alg;
  /** Additional authenticated data; overrides the envelope's `aad`. */
  aad?: Uint8Array | string;
  format?: DecryptFormat;
  /** Use the key carried inside the envelope (`key` field). */
  embeddedKey?: boolean;
  /** JWE: when given, every `alg` and `enc` must be in this set. */
  allowAlg?: ReadonlySet<string>;
  /** JWE: cap on the inflated size of `zip: "DEF"` payloads. */
  maxInflated?: number;
  /** Decrypt only the field tokens at these paths (default: every token, when the input has any). */
  fields?: FieldPath[];
}

export interface DecryptResult {
  plaintext: Buffer;
  alg?: Alg;
  kid?: string;
  format: EncryptFormat | 'fields';
  wrap?: JweWrap;
  /** Field tokens decrypted (format `fields`). */
  fields?: number;
}

export interface VerifyResult {
  ok: boolean;
  alg?: Alg;
  kid?: string;
  format?: EncryptFormat | 'fields';
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
 * Encrypt a payload into a JSON envelope (default) or raw base64, with a
 * fresh random nonce or IV.
 *
 * @example
 * ```ts
 * import { encrypt, generateKey } from 'aes-payload';
 * const { key } = generateKey();
 * const { text } = encrypt('{"card":"4111…"}', key);
 * // text: '{"v":1,"alg":"A256GCM","kid":"…","nonce":"…","data":"…","mac":"…"}'
 * ```
 */
export function encrypt(plaintext: Uint8Array | string, keyArg: KeyArg, opts: EncryptOptions = {}): EncryptResult {
  let keys = toKeys(keyArg);
  // A keyring encrypts with its primary key (without changing the caller's object).
  if (keys.ring && !keys.secret) keys = { ...keys, secret: ringKey(keys.ring, undefined) };
  const format = opts.format ?? 'json';
  if (opts.fields) {
    if (!keys.secret) throw new KeyError('--fields needs a symmetric key or a keyring', 'ERR_KEY_TYPE');
    if (opts.aad !== undefined || opts.embedKey || opts.wrap || opts.kid !== undefined) {
      throw new UsageError('--fields takes none of --aad, --random-key, --wrap, --kid');
    }
    const text = typeof plaintext === 'string' ? plaintext : Buffer.from(plaintext).toString('utf8');
    const alg = pickAlg(keys.secret, opts.alg);
    const r = encryptFields(text, keys.secret, opts.fields, { alg, allowMissing: Boolean(opts.allowMissing) });
    return { text: r.text, alg, kid: keyId(keys.secret), fields: { encrypted: r.encrypted, already: r.already } };
  }
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
      serialization: format === 'jwe' ? 'compact' : 'flattened',
    });
    return { text: r.text, alg: r.enc, ...(r.kid !== undefined ? { kid: r.kid } : {}), wrap: r.wrap };
  }
  if (opts.wrap) throw new UsageError('--wrap needs --format jwe or jwe-json');
  if (opts.kid !== undefined) throw new UsageError('--kid needs --format jwe or jwe-json');
  if (keys.rsa) throw new KeyError('an RSA key can only be used with --format jwe or jwe-json', 'ERR_KEY_TYPE');
  if (!keys.secret && keys.passphrase) return encryptWithPassphrase(toBytes(plaintext)!, keys.passphrase, opts);
  const key = keys.secret;
  if (!key) throw new KeyError('no key given', 'ERR_KEY_MISSING');
  const alg = pickAlg(key, opts.alg);
  const spec = specOf(alg);
  const aad = toBytes(opts.aad);
  if (aad && !spec.authenticated) throw new UsageError(`--aad needs an authenticated algorithm; ${alg} has none`);
  if (format === 'raw' && opts.embedKey) throw new UsageError('the raw format cannot carry an embedded key; use --format json');
  const s = seal(alg, key, toBytes(plaintext)!, aad);
  const kid = keyId(key);
  if (format === 'raw') return { text: raw.encode(s), alg, kid };
  const env: envelope.Envelope = { v: 1, alg, kid, nonce: s.nonce, data: s.ciphertext, mac: s.tag };
  if (aad) env.aad = aad;
  if (opts.embedKey) env.key = Buffer.from(key);
  return { text: envelope.encode(env), alg, kid };
}

function encryptWithPassphrase(plaintext: Buffer, passphrase: Uint8Array, opts: EncryptOptions): EncryptResult {
  const alg = opts.alg ?? 'A256GCM';
  const spec = specOf(alg);
  const aad = toBytes(opts.aad);
  if (aad && !spec.authenticated) throw new UsageError(`--aad needs an authenticated algorithm; ${alg} has none`);
  if (opts.embedKey) throw new UsageError('--random-key and a passphrase exclude each other');
  const salt = randomBytes(RAW_SALT_LEN);
  const key = scryptKey(passphrase, salt, spec.keyLen, SCRYPT_DEFAULTS);
  try {
    const s = seal(alg, key, plaintext, aad);
    if (opts.format === 'raw') return { text: raw.encode({ ...s, nonce: Buffer.concat([salt, s.nonce]) }), alg };
    const env: envelope.Envelope = { v: 1, alg, kdf: { name: 'scrypt', salt, ...SCRYPT_DEFAULTS }, nonce: s.nonce, data: s.ciphertext, mac: s.tag };
    if (aad) env.aad = aad;
    return { text: envelope.encode(env), alg };
  } finally {
    key.fill(0);
  }
}

function kdfKey(passphrase: Uint8Array | undefined, kdf: envelope.Kdf, alg: Alg): Buffer {
  if (!passphrase) {
    throw new KeyError('this input is protected by a passphrase: pass --passphrase, --passphrase-env NAME or --passphrase-file FILE', 'ERR_KEY_MISSING');
  }
  const problem = scryptParamsProblem(kdf);
  if (problem) throw new FormatError(`refusing the envelope's scrypt cost: ${problem}`, 'ERR_KDF_COST');
  return scryptKey(passphrase, kdf.salt, specOf(alg).keyLen, kdf);
}

/**
 * The kid is not under the tag, so check it before opening: an envelope whose
 * kid is not the key's was made with another key or has been edited, and
 * either way fails like any other authentication failure.
 */
function openPrepared(p: Prepared): Buffer {
  if (p.claimedKid !== undefined && p.kid !== undefined && p.claimedKid !== p.kid) throw new AuthError();
  return open(p.sealed, p.key, p.aad);
}

interface Prepared {
  sealed: Sealed;
  key: Uint8Array;
  aad: Buffer | undefined;
  /** kid of the key that will be used (true once authentication passes); none for passphrases. */
  kid: string | undefined;
  /** kid the envelope claims (unauthenticated), if any. */
  claimedKid: string | undefined;
  format: EncryptFormat;
}

function prepare(text: string, keys: Keys, opts: DecryptOptions, format: 'json' | 'raw', forVerify = false): Prepared {
  // Raw input names no kid: a keyring gives its primary key.
  let key = format === 'raw' ? secretFor(keys, undefined) : keys.secret;
  if (keys.rsa && !key) throw new KeyError('an RSA key can only decrypt JWE input', 'ERR_KEY_TYPE');
  const userAad = toBytes(opts.aad);
  if (format === 'raw') {
    if (opts.embeddedKey) throw new UsageError('--embedded-key needs a JSON envelope; raw input carries no key');
    if (!key && keys.passphrase) {
      const alg = opts.alg ?? 'A256GCM';
      if (userAad && !specOf(alg).authenticated) throw new UsageError(`--aad needs an authenticated algorithm; ${alg} has none`);
      const all = raw.decode(text, alg);
      if (all.nonce.length + all.ciphertext.length < RAW_SALT_LEN + specOf(alg).nonceLen) {
        throw new FormatError('raw input is too short to hold a passphrase salt', 'ERR_RAW');
      }
      const bytes = Buffer.concat([all.nonce, all.ciphertext]);
      const salt = bytes.subarray(0, RAW_SALT_LEN);
      const n = specOf(alg).nonceLen;
      const k = kdfKey(keys.passphrase, { name: 'scrypt', salt, ...SCRYPT_DEFAULTS }, alg);
      const sealed = { alg, nonce: bytes.subarray(RAW_SALT_LEN, RAW_SALT_LEN + n), ciphertext: bytes.subarray(RAW_SALT_LEN + n), tag: all.tag };
      return { sealed, key: k, aad: userAad, kid: undefined, claimedKid: undefined, format };
    }
    if (!key) throw new KeyError('no key given', 'ERR_KEY_MISSING');
    const alg = pickAlg(key, opts.alg);
    checkKeyLength(alg, key);
    if (userAad && !specOf(alg).authenticated) throw new UsageError(`--aad needs an authenticated algorithm; ${alg} has none`);
    return { sealed: raw.decode(text, alg), key, aad: userAad, kid: keyId(key), claimedKid: undefined, format };
  }
  const env = envelope.decode(text);
  if (keys.ring && !env.key && !opts.embeddedKey) key = ringKey(keys.ring, env.kid);
  if (env.kdf) {
    if (env.key) throw new FormatError('an envelope cannot have both "kdf" and "key"', 'ERR_ENVELOPE');
    if (!env.alg) throw new FormatError('an envelope with "kdf" must name its "alg"', 'ERR_ENVELOPE');
    if (opts.alg && env.alg !== opts.alg) throw new FormatError(`the envelope says ${env.alg} but --alg is ${opts.alg}`, 'ERR_ALG_MISMATCH');
    key = kdfKey(keys.passphrase, env.kdf, env.alg);
  } else if (keys.passphrase && !key && !opts.embeddedKey) {
    throw new KeyError('a passphrase was given but this envelope was made with a key, not a passphrase', 'ERR_KEY_TYPE');
  }
  if (env.key && !opts.embeddedKey) {
    throw new FormatError(
      'the envelope carries its own key, so it is not secret; pass --embedded-key to decrypt it anyway',
      'ERR_EMBEDDED_KEY',
    );
  }
  if (opts.embeddedKey) {
    if (!env.key) throw new FormatError('--embedded-key was given but the envelope has no "key" field', 'ERR_EMBEDDED_KEY');
    key = env.key;
  }
  if (!key) throw new KeyError('no key given', 'ERR_KEY_MISSING');
  if (env.alg && opts.alg && env.alg !== opts.alg) {
    throw new FormatError(`the envelope says ${env.alg} but --alg is ${opts.alg}`, 'ERR_ALG_MISMATCH');
  }
  if (opts.embeddedKey) {
    // The key came from the input: a key that fits no algorithm is malformed input (exit 4), not a key problem.
    const fits = env.alg ?? opts.alg ?? defaultAlgForKeyLength(key.length);
    if (!fits || key.length !== specOf(fits).keyLen) {
      throw new FormatError(`the embedded key is ${key.length} bytes, which ${fits ?? 'no algorithm'} does not take`, 'ERR_ENVELOPE');
    }
  }
  let alg: Alg;
  if (env.alg) {
    alg = env.alg;
    if (!specOf(alg).authenticated && !opts.alg && !forVerify) {
      throw new FormatError(
        `the envelope uses ${alg}, which is unauthenticated; pass --alg ${alg} to decrypt it anyway`,
        'ERR_UNAUTHENTICATED',
      );
    }
  } else {
    alg = pickAlg(key, opts.alg);
  }
  checkKeyLength(alg, key);
  const spec = specOf(alg);
  if (spec.authenticated && !env.mac) throw new FormatError(`envelope has no "mac" field, which ${alg} needs`, 'ERR_ENVELOPE');
  if (!spec.authenticated && env.mac) throw new FormatError(`envelope has a "mac" field, which ${alg} does not use`, 'ERR_ENVELOPE');
  const aad = userAad ?? env.aad;
  if (aad && !spec.authenticated) throw new FormatError(`${alg} cannot authenticate "aad"`, 'ERR_ENVELOPE');
  return {
    sealed: { alg, nonce: env.nonce, ciphertext: env.data, tag: env.mac ?? Buffer.alloc(0) },
    key,
    aad,
    kid: env.kdf ? undefined : keyId(key),
    claimedKid: env.kid,
    format,
  };
}

/**
 * Which format an input is (docs/FORMAT.md §5, without the binary stream,
 * which the CLI recognises before reading the input whole).
 *
 * @example
 * ```ts
 * detectFormat('{"v":1,"alg":"A256GCM",…}', 'auto'); // 'json'
 * ```
 */
export function detectFormat(text: string, format: DecryptFormat | undefined, fields?: FieldPath[]): EncryptFormat | 'fields' {
  if (fields) return 'fields';
  if (format && format !== 'auto') return format;
  const j = jweCodec.detect(text);
  if (j === 'compact') return 'jwe';
  if (j === 'json') return 'jwe-json';
  if (/^[\s\uFEFF]*[[{]/.test(text) && hasTokens(text)) return 'fields';
  return envelope.detect(text) ? 'json' : 'raw';
}

function asText(input: string | Uint8Array): string {
  return typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
}

function decryptJwe(text: string, keys: Keys, opts: DecryptOptions, format: 'jwe' | 'jwe-json'): DecryptResult {
  const kind = jweCodec.detect(text);
  if ((format === 'jwe' && kind !== 'compact') || (format === 'jwe-json' && kind !== 'json')) {
    throw new FormatError(`input is not a ${format === 'jwe' ? 'compact' : 'JSON'} JWE`, 'ERR_JWE');
  }
  if (opts.embeddedKey) throw new UsageError('--embedded-key needs a JSON envelope');
  if (opts.alg) throw new UsageError('--alg does not apply to JWE input, which names its algorithms; use --allow-alg');
  if (keys.ring) {
    // Pick the keyring's key by the kid the JWE names (any recipient), else the primary.
    const parsed = jweCodec.decode(text);
    const kids = parsed.recipients.map((r) => r.header?.kid ?? parsed.unprotected?.kid ?? parsed.protectedHeader.kid).filter((k): k is string => typeof k === 'string');
    const known = kids.find((k) => keys.ring!.keys.has(k));
    keys = { ...keys, secret: ringKey(keys.ring, known ?? kids[0]) };
  }
  const r = jweDecrypt(text, keys, {
    ...(opts.allowAlg ? { allowAlg: opts.allowAlg } : {}),
    ...(opts.maxInflated !== undefined ? { maxInflated: opts.maxInflated } : {}),
    ...(opts.aad !== undefined ? { aad: toBytes(opts.aad)! } : {}),
  });
  return { plaintext: r.plaintext, alg: r.enc, ...(r.kid !== undefined ? { kid: r.kid } : {}), format, wrap: r.wrap };
}

/**
 * Decrypt a JSON envelope or raw base64. Plaintext is returned only after it
 * has authenticated; a wrong key or tampered input throws {@link AuthError}.
 *
 * @example
 * ```ts
 * import { decrypt } from 'aes-payload';
 * const { plaintext, alg, kid } = decrypt(text, key);
 * ```
 */
export function decrypt(input: string | Uint8Array, key: KeyArg, opts: DecryptOptions = {}): DecryptResult {
  const text = asText(input);
  const keys = toKeys(key);
  const format = detectFormat(text, opts.format, opts.fields);
  if (format === 'jwe' || format === 'jwe-json') return decryptJwe(text, keys, opts, format);
  if (format === 'fields') {
    const r = decryptFields(text, keyForKid(keys), opts.fields ? { paths: opts.fields } : {});
    return { plaintext: Buffer.from(r.text, 'utf8'), format, fields: r.decrypted, ...(r.kids.length === 1 ? { kid: r.kids[0]! } : {}) };
  }
  const p = prepare(text, keys, opts, format);
  const plaintext = openPrepared(p);
  return { plaintext, alg: p.sealed.alg, ...(p.kid !== undefined ? { kid: p.kid } : {}), format: p.format };
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
  let base: { alg?: Alg; kid?: string; format?: EncryptFormat | 'fields' } | undefined;
  try {
    const text = asText(input);
    const keys = toKeys(key);
    const format = detectFormat(text, opts.format, opts.fields);
    if (format === 'fields') {
      base = { format };
      const r = decryptFields(text, keyForKid(keys), opts.fields ? { paths: opts.fields } : {});
      return { ok: true, format, ...(r.kids.length === 1 ? { kid: r.kids[0]! } : {}) };
    }
    if (format === 'jwe' || format === 'jwe-json') {
      base = { format };
      const r = decryptJwe(text, keys, opts, format);
      r.plaintext.fill(0);
      return { ok: true, alg: r.alg, ...(r.kid !== undefined ? { kid: r.kid } : {}), format, ...(r.wrap ? { wrap: r.wrap } : {}) };
    }
    const p = prepare(text, keys, opts, format, true);
    // Until it authenticates, report the kid the envelope claims.
    const kid = p.claimedKid ?? p.kid;
    base = { alg: p.sealed.alg, ...(kid !== undefined ? { kid } : {}), format: p.format };
    if (!specOf(p.sealed.alg).authenticated) {
      return { ok: false, ...base, error: new FormatError('unauthenticated algorithm', 'ERR_UNAUTHENTICATED') };
    }
    openPrepared(p).fill(0);
    return { ok: true, ...base, ...(p.kid !== undefined ? { kid: p.kid } : {}) };
  } catch (e) {
    if (e instanceof AesPayloadError) return { ok: false, ...base, error: e };
    throw e;
  }
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
