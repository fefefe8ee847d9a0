import { checkKeyLength, open, specOf } from '../../crypto/aead.js';
import { defaultAlgForKeyLength, type Alg } from '../../crypto/algs.js';
import { subkey } from '../../crypto/derive.js';
import { AuthError, FormatError, KeyError } from '../../errors.js';
import { keyId } from '../../keys/kid.js';
import { ringKey } from '../../keys/keyring.js';
import type { Keys } from '../../keys/model.js';
import type { DecryptOptions } from '../../ops/types.js';
import { eachCandidate, kdfKey, kidsDiffer, openWithKids, pickAlg, toBytes, type Opened } from '../common/open.js';
import * as envelope from './codec.js';

/** Pick the symmetric key for an envelope that names `kid`, with the right errors for other key kinds. */
export function envelopeKey(keys: Keys, kid: string | undefined): Uint8Array {
  const key = keys.ring ? ringKey(keys.ring, kid) : keys.secret;
  if (key) return key;
  if (keys.passphrase) throw new KeyError('a passphrase was given but this envelope was made with a key, not a passphrase', 'ERR_KEY_TYPE');
  if (keys.rsa) throw new KeyError('an RSA or EC key can only decrypt JWE input', 'ERR_KEY_TYPE');
  throw new KeyError('no key given', 'ERR_KEY_MISSING');
}

export function legacyRefusal(env: envelope.Envelope): FormatError {
  const what = env.version === 1 ? 'a version-1 envelope (aes-payload 0.1)' : 'an envelope with no version';
  return new FormatError(
    `this is ${what}, whose key is not separated from the other formats; pass --allow-legacy to read it, and upgrade it with aes-payload rotate --allow-legacy`,
    'ERR_LEGACY',
  );
}

export function openEnvelope(text: string, keys: Keys, opts: DecryptOptions, forVerify: boolean, decoded?: envelope.Envelope): Opened {
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
export function openLegacyEnvelope(env: envelope.Envelope, keys: Keys, opts: DecryptOptions, userAad: Buffer | undefined, forVerify: boolean): Opened {
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
