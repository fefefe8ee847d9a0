import { checkKeyLength, specOf } from '../../crypto/aead.js';
import type { Alg } from '../../crypto/algs.js';
import { SCRYPT_DEFAULTS } from '../../crypto/kdf.js';
import { FormatError, KeyError, UsageError } from '../../errors.js';
import { keyId } from '../../keys/kid.js';
import { secretFor, type Keys } from '../../keys/model.js';
import { RAW_SALT_LEN, type DecryptOptions } from '../../ops/types.js';
import { b64decodeStrict } from '../common/base64.js';
import { checkNonceBytes, kdfKey, pickAlg, toBytes, type Opened } from '../common/open.js';
import * as raw from './codec.js';
import { openRawBytes } from './rawOpen.js';

/**
 * Raw input carries no algorithm: read with the GCM default, an input whose
 * length fits AES-CBC (IV + whole blocks) may be CBC. Said from its length
 * alone, which is public, so the one authentication failure stays one.
 */
function cbcHint(length: number, used: Alg, cbc: string): string | undefined {
  if (length < 32 || length % 16 !== 0) return undefined;
  return `read as ${used}, as no --alg was given; if it is AES-CBC (IV + ciphertext), pass --alg ${cbc}`;
}

export function openRaw(text: string, keys: Keys, opts: DecryptOptions, forVerify: boolean): Opened {
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
