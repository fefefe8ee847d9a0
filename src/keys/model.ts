import type { KeyObject } from 'node:crypto';
import { KeyError } from '../errors.js';
import type { KeyForKid } from '../formats/fields/jsonDoc.js';
import { decodeKey } from './decode.js';
import { ringKey, type Keyring } from './keyring.js';
import type { ExternalKek } from './pkcs11.js';

/** The key model every operation takes: what kinds of key there are, and how one is picked for an input. */

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

export function toKeys(k: KeyArg): Keys {
  if (k === undefined) return {};
  if (typeof k === 'string') return { secret: decodeKey(Buffer.from(k, 'utf8'), 'auto') };
  if (k instanceof Uint8Array) return { secret: k };
  if (typeof k !== 'object' || k === null) throw new TypeError('a key is a Uint8Array, a hex or base64 string, or { secret | rsa | passphrase | ring }');
  return k;
}

/** The symmetric key for an input that names `kid` (keyring), or the one key. */
export function secretFor(keys: Keys, kid: string | undefined): Uint8Array | undefined {
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
