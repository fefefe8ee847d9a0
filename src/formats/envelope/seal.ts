import { randomBytes } from 'node:crypto';
import { checkKeyLength, freshRandom, seal, specOf } from '../../crypto/aead.js';
import { subkey } from '../../crypto/derive.js';
import { gcmSeal } from '../../crypto/gcm.js';
import { SCRYPT_DEFAULTS, scryptKey } from '../../crypto/kdf.js';
import { KeyError, UsageError } from '../../errors.js';
import type { Keys } from '../../keys/model.js';
import { ORIGIN_NONCE_LEN, RAW_SALT_LEN, type EncryptOptions, type EncryptResult } from '../../ops/types.js';
import { checkNonceBytes, needAuthenticated, pickAlg, toBytes } from '../common/open.js';
import * as raw from '../raw/codec.js';
import * as envelope from './codec.js';

/** The origin's self-keyed `{data,key,mac,nonce}`: AES-GCM with a 16-byte nonce, the key in the output. */
export function encryptOrigin(plaintext: Buffer, keys: Keys, opts: EncryptOptions): EncryptResult {
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

export function encryptWithPassphrase(plaintext: Buffer, passphrase: Uint8Array, opts: EncryptOptions): EncryptResult {
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
