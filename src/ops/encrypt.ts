import { randomBytes } from 'node:crypto';
import { checkKeyLength, seal, specOf } from '../crypto/aead.js';
import type { Alg } from '../crypto/algs.js';
import { subkey } from '../crypto/derive.js';
import { KeyError, UsageError } from '../errors.js';
import { checkNonceBytes, needAuthenticated, pickAlg, toBytes } from '../formats/common/open.js';
import { readText } from '../formats/common/utf8.js';
import * as envelope from '../formats/envelope/codec.js';
import { encryptOrigin, encryptWithPassphrase } from '../formats/envelope/seal.js';
import { fieldCodec } from '../formats/fields/documents.js';
import { checkOriginAlg, encryptOriginFields } from '../formats/fields/origin.js';
import { JWE_ENCS, type JweEnc } from '../formats/jwe/algs.js';
import { jweEncrypt } from '../formats/jwe/jweEncrypt.js';
import * as raw from '../formats/raw/codec.js';
import { keyId } from '../keys/kid.js';
import { ringKey } from '../keys/keyring.js';
import { toKeys, type KeyArg } from '../keys/model.js';
import type { EncryptOptions, EncryptResult } from './types.js';

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
