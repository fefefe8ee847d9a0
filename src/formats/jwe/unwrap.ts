import { randomBytes } from 'node:crypto';
import { specOf } from '../../crypto/aead.js';
import { gcmOpen } from '../../crypto/gcm.js';
import { pbes2Kek, pbkdf2CostMs } from '../../crypto/kdf.js';
import { aesKwUnwrap } from '../../crypto/keywrap.js';
import { rsaOaepDecrypt } from '../../crypto/rsaOaep.js';
import { AuthError, FormatError, KeyError } from '../../errors.js';
import { b64urlDecodeStrict } from '../common/base64.js';
import type * as codec from './codec.js';
import { P2C_MAX, P2C_MIN, type P2C_DEFAULT } from './algs.js';
import { ecdhesReceive, isEcdhWrap } from './ecdhes.js';
import type { Checked } from './header.js';
import { checkKwLength, needEc, needPassphrase, needRsa, needSecret, type JweKeys } from './keys.js';

// Decrypt's key management (RFC 7516 §5.2 steps 6–10): the content key of
// one recipient, recovered with the key given.

function headerB64(h: codec.Header, name: string): Buffer {
  const v = h[name];
  if (typeof v !== 'string') throw new FormatError(`JWE header has no "${name}"`, 'ERR_JWE');
  return b64urlDecodeStrict(v, `JWE header "${name}"`);
}

/** Recover the CEK for one recipient. Authentication failures throw AuthError. */
export function unwrapCek(c: Checked, r: codec.JweRecipient, keys: JweKeys): Buffer {
  const cekLen = specOf(c.enc).keyLen;
  const { wrap } = c;
  if (wrap === 'dir') {
    if (r.encryptedKey.length) throw new FormatError('JWE "dir" must have an empty encrypted key', 'ERR_JWE');
    const key = needSecret(keys, wrap);
    if (key.length !== cekLen) throw new KeyError(`key is ${key.length} bytes but ${c.enc} needs ${cekLen} bytes`, 'ERR_KEY_LENGTH');
    return Buffer.from(key);
  }
  if (isEcdhWrap(wrap)) return ecdhesReceive(wrap, c.enc, cekLen, c.header, r.encryptedKey, needEc(keys, wrap, 'private'));
  let cek: Buffer | undefined;
  if (wrap === 'RSA-OAEP' || wrap === 'RSA-OAEP-256') {
    const priv = needRsa(keys, wrap, 'private');
    cek = rsaOaepDecrypt(priv, wrap === 'RSA-OAEP' ? 'sha1' : 'sha256', r.encryptedKey);
    // RFC 7516 §11.5: on failure go on with a random CEK, so that the failure
    // surfaces at the content tag like any other authentication failure.
    if (!cek || cek.length !== cekLen) cek = randomBytes(cekLen);
    return cek;
  }
  if (wrap.startsWith('PBES2')) {
    const pass = needPassphrase(keys, wrap);
    const p2c = c.header.p2c;
    if (typeof p2c !== 'number' || !Number.isSafeInteger(p2c)) throw new FormatError('JWE PBES2 "p2c" is not an integer', 'ERR_JWE');
    if (p2c < P2C_MIN) throw new FormatError(`JWE PBES2 "p2c" ${p2c} is below the minimum of ${P2C_MIN}`, 'ERR_KDF_COST');
    if (p2c > P2C_MAX) throw new FormatError(`JWE PBES2 "p2c" ${p2c} is above the cap of ${P2C_MAX}`, 'ERR_KDF_COST');
    const p2s = headerB64(c.header, 'p2s');
    if (p2s.length < 8) throw new FormatError('JWE PBES2 "p2s" is shorter than 8 bytes', 'ERR_JWE');
    cek = aesKwUnwrap(pbes2Kek(wrap as keyof typeof P2C_DEFAULT, pass, p2s, p2c), r.encryptedKey);
  } else if (keys.kek) {
    if (wrap !== `A${keys.kek.bits}GCMKW`) throw new KeyError(`the input is wrapped with ${wrap}; the HSM key (${keys.kek.bits} bits) unwraps A${keys.kek.bits}GCMKW`, 'ERR_KEY_TYPE');
    const iv = headerB64(c.header, 'iv');
    const tag = headerB64(c.header, 'tag');
    if (iv.length !== 12) throw new FormatError('JWE GCMKW "iv" must be 12 bytes', 'ERR_JWE');
    if (tag.length !== 16) throw new FormatError('JWE GCMKW "tag" must be 16 bytes', 'ERR_JWE');
    cek = keys.kek.gcmUnwrap(iv, r.encryptedKey, tag);
  } else {
    const kek = needSecret(keys, wrap);
    checkKwLength(wrap, kek);
    if (wrap.endsWith('GCMKW')) {
      const iv = headerB64(c.header, 'iv');
      const tag = headerB64(c.header, 'tag');
      if (iv.length !== 12) throw new FormatError('JWE GCMKW "iv" must be 12 bytes', 'ERR_JWE');
      cek = gcmOpen(kek, iv, r.encryptedKey, tag);
    } else {
      cek = aesKwUnwrap(kek, r.encryptedKey);
    }
  }
  if (cek.length !== cekLen) throw new AuthError();
  return cek;
}

/** Estimated PBES2 work of one recipient (0 for other algorithms); p2c is checked in unwrapCek. */
export function pbes2Cost(c: Checked): number {
  if (!c.wrap.startsWith('PBES2')) return 0;
  const p2c = c.header.p2c;
  if (typeof p2c !== 'number' || !Number.isSafeInteger(p2c) || p2c < P2C_MIN || p2c > P2C_MAX) return 0;
  return pbkdf2CostMs(`sha${c.wrap.slice(8, 11)}` as 'sha256' | 'sha384' | 'sha512', p2c);
}
