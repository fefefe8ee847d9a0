import { randomBytes } from 'node:crypto';
import { checkKeyLength, open, seal, specOf, type Sealed } from './crypto/aead.js';
import { defaultAlgForKeyLength, type Alg } from './crypto/algs.js';
import { AesPayloadError, FormatError, KeyError, UsageError } from './errors.js';
import * as envelope from './formats/envelope.js';
import * as raw from './formats/raw.js';
import { keyId } from './keys/kid.js';

export type EncryptFormat = 'json' | 'raw';
export type DecryptFormat = 'auto' | 'json' | 'raw';

export interface EncryptOptions {
  /** Content algorithm. Default: the GCM variant matching the key length. */
  alg?: Alg;
  /** Additional authenticated data, recorded in the envelope as `aad`. */
  aad?: Uint8Array | string;
  /** `json` (default) or `raw`. */
  format?: EncryptFormat;
  /** Put the key into the envelope (`--random-key`); the output is then not secret. */
  embedKey?: boolean;
}

export interface EncryptResult {
  /** The encoded output, without a trailing newline. */
  text: string;
  alg: Alg;
  kid: string;
}

export interface DecryptOptions {
  /** Expected algorithm; required for raw input that is not GCM of the key's size. */
  alg?: Alg;
  /** Additional authenticated data; overrides the envelope's `aad`. */
  aad?: Uint8Array | string;
  format?: DecryptFormat;
  /** Use the key carried inside the envelope (`key` field). */
  embeddedKey?: boolean;
}

export interface DecryptResult {
  plaintext: Buffer;
  alg: Alg;
  kid: string;
  format: EncryptFormat;
}

export interface VerifyResult {
  ok: boolean;
  alg?: Alg;
  kid?: string;
  format?: EncryptFormat;
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
export function encrypt(plaintext: Uint8Array | string, key: Uint8Array, opts: EncryptOptions = {}): EncryptResult {
  const alg = pickAlg(key, opts.alg);
  const spec = specOf(alg);
  const aad = toBytes(opts.aad);
  if (aad && !spec.authenticated) throw new UsageError(`--aad needs an authenticated algorithm; ${alg} has none`);
  const format = opts.format ?? 'json';
  if (format === 'raw' && opts.embedKey) throw new UsageError('the raw format cannot carry an embedded key; use --format json');
  const s = seal(alg, key, toBytes(plaintext)!, aad);
  const kid = keyId(key);
  if (format === 'raw') return { text: raw.encode(s), alg, kid };
  const env: envelope.Envelope = { v: 1, alg, kid, nonce: s.nonce, data: s.ciphertext, mac: s.tag };
  if (aad) env.aad = aad;
  if (opts.embedKey) env.key = Buffer.from(key);
  return { text: envelope.encode(env), alg, kid };
}

interface Prepared {
  sealed: Sealed;
  key: Uint8Array;
  aad: Buffer | undefined;
  /** kid of the key that will be used (true once authentication passes). */
  kid: string;
  /** kid the envelope claims (unauthenticated), if any. */
  claimedKid: string | undefined;
  format: EncryptFormat;
}

function prepare(
  input: string | Uint8Array,
  key: Uint8Array | undefined,
  opts: DecryptOptions,
  forVerify = false,
): Prepared {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  const format: EncryptFormat =
    opts.format === 'json' || opts.format === 'raw' ? opts.format : envelope.detect(text) ? 'json' : 'raw';
  const userAad = toBytes(opts.aad);
  if (format === 'raw') {
    if (opts.embeddedKey) throw new UsageError('--embedded-key needs a JSON envelope; raw input carries no key');
    if (!key) throw new KeyError('no key given', 'ERR_KEY_MISSING');
    const alg = pickAlg(key, opts.alg);
    checkKeyLength(alg, key);
    if (userAad && !specOf(alg).authenticated) throw new UsageError(`--aad needs an authenticated algorithm; ${alg} has none`);
    return { sealed: raw.decode(text, alg), key, aad: userAad, kid: keyId(key), claimedKid: undefined, format };
  }
  const env = envelope.decode(text);
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
    kid: keyId(key),
    claimedKid: env.kid,
    format,
  };
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
export function decrypt(input: string | Uint8Array, key: Uint8Array | undefined, opts: DecryptOptions = {}): DecryptResult {
  const p = prepare(input, key, opts);
  const plaintext = open(p.sealed, p.key, p.aad);
  return { plaintext, alg: p.sealed.alg, kid: p.kid, format: p.format };
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
export function verify(input: string | Uint8Array, key: Uint8Array | undefined, opts: DecryptOptions = {}): VerifyResult {
  let base: { alg: Alg; kid: string; format: EncryptFormat } | undefined;
  try {
    const p = prepare(input, key, opts, true);
    // Until it authenticates, report the kid the envelope claims.
    base = { alg: p.sealed.alg, kid: p.claimedKid ?? p.kid, format: p.format };
    if (!specOf(p.sealed.alg).authenticated) {
      return { ok: false, ...base, error: new FormatError('unauthenticated algorithm', 'ERR_UNAUTHENTICATED') };
    }
    open(p.sealed, p.key, p.aad).fill(0);
    return { ok: true, ...base, kid: p.kid };
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
