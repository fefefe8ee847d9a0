import type { KeyObject } from 'node:crypto';
import { KeyError } from '../../errors.js';
import type { ExternalKek } from '../../keys/pkcs11.js';
import type { JweWrap } from './algs.js';
import { isEcdhKey, isEcdhWrap } from './ecdhes.js';

// The keys a JWE operation is given, and which key each key management
// algorithm needs: the one-line key errors of encrypt and decrypt.

/** The keys a JWE operation may use. */
export interface JweKeys {
  /** Symmetric key: the CEK for `dir`, the KEK for the KW and GCMKW families. */
  secret?: Uint8Array;
  /** RSA key, or (ECDH-ES) a P-256, P-384, P-521 or X25519 key: public for encrypt, private for decrypt. */
  rsa?: KeyObject;
  /** Passphrase for PBES2. */
  passphrase?: Uint8Array;
  /** Several public keys (RSA, EC, X25519) to encrypt to (general JSON serialization). */
  recipients?: KeyObject[];
  /** A key-encryption key that stays in an HSM (PKCS#11): `A*GCMKW`, computed by the HSM. */
  kek?: ExternalKek;
}

function kwBits(wrap: JweWrap): number {
  return Number(wrap.slice(1, 4));
}

/** The symmetric key `wrap` needs, or the key error that says what was given instead. */
export function needSecret(keys: JweKeys, wrap: JweWrap): Uint8Array {
  if (keys.secret) return keys.secret;
  if (keys.rsa) throw new KeyError(`${wrap} needs a symmetric key, but the key is an RSA key`, 'ERR_KEY_TYPE');
  if (keys.passphrase) throw new KeyError(`${wrap} needs a key, not a passphrase`, 'ERR_KEY_TYPE');
  throw new KeyError('no key given', 'ERR_KEY_MISSING');
}

/** The RSA key `wrap` needs (private to decrypt), or the key error. */
export function needRsa(keys: JweKeys, wrap: JweWrap, type: 'public' | 'private'): KeyObject {
  if (keys.rsa) {
    if (keys.rsa.asymmetricKeyType !== 'rsa') throw new KeyError(`${wrap} needs an RSA key, but the key is ${keyKind(keys)}`, 'ERR_KEY_TYPE');
    if (type === 'private' && keys.rsa.type !== 'private') throw new KeyError(`${wrap} decryption needs the RSA private key, not the public key`, 'ERR_KEY_TYPE');
    return keys.rsa;
  }
  if (keys.secret) throw new KeyError(`${wrap} needs an RSA key, but the key is a symmetric key`, 'ERR_KEY_TYPE');
  throw new KeyError(`${wrap} needs an RSA key (${type === 'public' ? '--recipient PUBKEY' : '--key-file PRIVATE-KEY'})`, 'ERR_KEY_MISSING');
}

/** The EC or X25519 key ECDH-ES needs (private to decrypt), or the key error. */
export function needEc(keys: JweKeys, wrap: JweWrap, type: 'public' | 'private'): KeyObject {
  if (isEcdhKey(keys.rsa)) {
    if (type === 'private' && keys.rsa.type !== 'private') throw new KeyError(`${wrap} decryption needs the private key, not the public key`, 'ERR_KEY_TYPE');
    return keys.rsa;
  }
  if (keys.rsa || keys.secret || keys.passphrase || keys.kek) throw new KeyError(`${wrap} needs a P-256, P-384, P-521 or X25519 key, but the key is ${keyKind(keys)}`, 'ERR_KEY_TYPE');
  throw new KeyError(`${wrap} needs an EC or X25519 key (${type === 'public' ? '--recipient PUBKEY' : '--key-file PRIVATE-KEY'})`, 'ERR_KEY_MISSING');
}

/** The passphrase PBES2 needs, or the key error. */
export function needPassphrase(keys: JweKeys, wrap: JweWrap): Uint8Array {
  if (keys.passphrase) return keys.passphrase;
  throw new KeyError(`${wrap} needs a passphrase (--passphrase, --passphrase-env or --passphrase-file)`, 'ERR_KEY_TYPE');
}

/** A key-wrap key must be as long as the wrap says (A128KW: 16 bytes). */
export function checkKwLength(wrap: JweWrap, kek: Uint8Array): void {
  const need = kwBits(wrap) / 8;
  if (kek.length !== need) throw new KeyError(`key is ${kek.length} bytes but ${wrap} needs ${need} bytes`, 'ERR_KEY_LENGTH');
}

/** Whether a key management algorithm can use the key given. */
export function wrapTakes(wrap: JweWrap, keys: JweKeys): boolean {
  if (keys.kek) return wrap === `A${keys.kek.bits}GCMKW`;
  if (wrap.startsWith('PBES2')) return Boolean(keys.passphrase);
  if (isEcdhWrap(wrap)) return isEcdhKey(keys.rsa);
  if (wrap.startsWith('RSA')) return Boolean(keys.rsa) && !isEcdhKey(keys.rsa);
  return Boolean(keys.secret);
}

function asymKind(k: KeyObject): string {
  if (k.asymmetricKeyType === 'rsa') return 'an RSA key';
  if (k.asymmetricKeyType === 'x25519') return 'an X25519 key';
  return k.asymmetricKeyType === 'ec' ? `an EC key (${k.asymmetricKeyDetails?.namedCurve ?? 'explicit curve'})` : `a ${k.asymmetricKeyType ?? 'public'} key`;
}

/** What the key given is, for messages. */
export function keyKind(keys: JweKeys): string {
  return keys.kek ? 'an HSM key' : keys.secret ? 'a symmetric key' : keys.rsa ? asymKind(keys.rsa) : keys.passphrase ? 'a passphrase' : 'no key';
}
