import { randomBytes, type KeyObject } from 'node:crypto';
import { seal, specOf } from '../../crypto/aead.js';
import { defaultAlgForKeyLength } from '../../crypto/algs.js';
import { gcmSeal } from '../../crypto/gcm.js';
import { pbes2Kek } from '../../crypto/kdf.js';
import { aesKwWrap } from '../../crypto/keywrap.js';
import { rsaOaepEncrypt } from '../../crypto/rsaOaep.js';
import { KeyError, UsageError } from '../../errors.js';
import { b64urlEncode } from '../common/base64.js';
import * as codec from './codec.js';
import { keyId } from '../../keys/kid.js';
import { rsaThumbprint } from '../../keys/structured.js';
import { P2C_DEFAULT, type JweEnc, type JweWrap } from './algs.js';
import { ecdhesSend, isEcdhKey, isEcdhWrap } from './ecdhes.js';
import { checkKwLength, needEc, needPassphrase, needRsa, needSecret, type JweKeys } from './keys.js';

/** How {@link jweEncrypt} writes the JWE. */
export interface JweEncryptOptions {
  enc?: JweEnc;
  /** Default: `dir` with a symmetric key, RSA-OAEP-256 with an RSA key, PBES2-HS256+A128KW with a passphrase. */
  wrap?: JweWrap;
  serialization?: 'compact' | 'flattened';
  kid?: string;
  /** JSON serialization only: the `aad` member. */
  aad?: Uint8Array;
  /** ECDH-ES: Agreement PartyUInfo and PartyVInfo, written as `apu` / `apv`. */
  apu?: Uint8Array;
  apv?: Uint8Array;
}

/**
 * Encrypt into a JWE (compact or flattened JSON), with a fresh random CEK
 * (except `dir`) and a fresh random IV. `kid` goes into the protected header.
 *
 * @example
 * ```ts
 * const jwe = jweEncrypt(Buffer.from('{"a":1}'), { secret: key }, { enc: 'A256GCM' });
 * // 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoi…'
 * ```
 */
export function jweEncrypt(plaintext: Uint8Array, keys: JweKeys, opts: JweEncryptOptions = {}): { text: string; kid: string | undefined; enc: JweEnc; wrap: JweWrap } {
  if (keys.recipients && keys.recipients.length > 1) return encryptToRecipients(plaintext, keys.recipients, opts);
  if (keys.recipients?.length === 1 && !keys.rsa) keys = { ...keys, rsa: keys.recipients[0]! };
  const wrap: JweWrap = opts.wrap ?? (keys.kek ? (`A${keys.kek.bits}GCMKW` as JweWrap) : keys.rsa ? (isEcdhKey(keys.rsa) ? 'ECDH-ES+A256KW' : 'RSA-OAEP-256') : keys.passphrase && !keys.secret ? 'PBES2-HS256+A128KW' : 'dir');
  if (keys.kek && wrap !== `A${keys.kek.bits}GCMKW`) throw new UsageError(`an HSM key of ${keys.kek.bits} bits wraps with A${keys.kek.bits}GCMKW, not ${wrap}`);
  const serialization = opts.serialization ?? 'compact';
  if (opts.aad && serialization === 'compact') throw new UsageError('the compact JWE cannot carry --aad; use --format jwe-json');
  let enc: JweEnc;
  if (opts.enc) enc = opts.enc;
  else if (wrap === 'dir') {
    const len = needSecret(keys, wrap).length;
    // every default algorithm is an authenticated one, so a JWE "enc"
    const e = defaultAlgForKeyLength(len) as JweEnc | undefined;
    if (!e) throw new KeyError(`the key is ${len} bytes; no JWE content algorithm takes a key of that length`, 'ERR_KEY_LENGTH');
    enc = e;
  } else enc = 'A256GCM';
  const cekLen = specOf(enc).keyLen;
  const extra: Record<string, unknown> = {};
  let kid = opts.kid;
  let cek: Buffer;
  let encryptedKey: Buffer = Buffer.alloc(0);
  if ((opts.apu || opts.apv) && !isEcdhWrap(wrap)) throw new UsageError(`--apu and --apv go with ECDH-ES, not ${wrap}`);
  if (isEcdhWrap(wrap)) {
    const pub = needEc(keys, wrap, 'public');
    kid ??= rsaThumbprint(pub);
    const r = ecdhesSend(wrap, enc, cekLen, pub, { ...(opts.apu ? { apu: opts.apu } : {}), ...(opts.apv ? { apv: opts.apv } : {}) });
    cek = r.cek;
    encryptedKey = r.encryptedKey;
    Object.assign(extra, r.header);
  } else if (wrap === 'dir') {
    const key = needSecret(keys, wrap);
    if (key.length !== cekLen) throw new KeyError(`key is ${key.length} bytes but ${enc} needs ${cekLen} bytes`, 'ERR_KEY_LENGTH');
    cek = Buffer.from(key);
    kid ??= keyId(key);
  } else {
    cek = randomBytes(cekLen);
    if (wrap === 'RSA-OAEP' || wrap === 'RSA-OAEP-256') {
      const pub = needRsa(keys, wrap, 'public');
      kid ??= rsaThumbprint(pub);
      encryptedKey = rsaOaepEncrypt(pub, wrap === 'RSA-OAEP' ? 'sha1' : 'sha256', cek);
    } else if (wrap.startsWith('PBES2')) {
      const pass = needPassphrase(keys, wrap);
      const w = wrap as keyof typeof P2C_DEFAULT;
      const p2s = randomBytes(16);
      const p2c = P2C_DEFAULT[w];
      extra.p2s = b64urlEncode(p2s);
      extra.p2c = p2c;
      encryptedKey = aesKwWrap(pbes2Kek(w, pass, p2s, p2c), cek);
    } else if (keys.kek) {
      // The HSM seals the content key (AES-GCM, 96-bit IV, 128-bit tag): A*GCMKW.
      const w = keys.kek.gcmWrap(cek);
      kid ??= keys.kek.kid;
      extra.iv = b64urlEncode(w.iv);
      extra.tag = b64urlEncode(w.tag);
      encryptedKey = w.ciphertext;
    } else {
      const kek = needSecret(keys, wrap);
      checkKwLength(wrap, kek);
      kid ??= keyId(kek);
      if (wrap.endsWith('GCMKW')) {
        const iv = randomBytes(12);
        const s = gcmSeal(kek, iv, cek);
        extra.iv = b64urlEncode(iv);
        extra.tag = b64urlEncode(s.tag);
        encryptedKey = s.ciphertext;
      } else {
        encryptedKey = aesKwWrap(kek, cek);
      }
    }
  }
  const header: codec.Header = { alg: wrap, enc, ...(kid !== undefined ? { kid } : {}), ...extra };
  const protectedB64 = b64urlEncode(Buffer.from(JSON.stringify(header), 'utf8'));
  const aadB64 = opts.aad ? b64urlEncode(opts.aad) : undefined;
  const s = seal(enc, cek, plaintext, codec.contentAad(protectedB64, aadB64));
  cek.fill(0);
  const jwe: codec.Jwe = {
    serialization,
    protectedB64,
    protectedHeader: header,
    recipients: [{ encryptedKey }],
    iv: s.nonce,
    ciphertext: s.ciphertext,
    tag: s.tag,
  };
  if (aadB64 !== undefined) jwe.aadB64 = aadB64;
  return { text: codec.encode(jwe), kid, enc, wrap };
}

/**
 * One JWE for several public keys, RSA, EC or X25519 (age's several `-r`): the general JSON
 * serialization, `enc` in the protected header, each recipient's `alg` and
 * `kid` (its RFC 7638 thumbprint) in its own header.
 */
function encryptToRecipients(plaintext: Uint8Array, recipients: KeyObject[], opts: JweEncryptOptions): { text: string; kid: string | undefined; enc: JweEnc; wrap: JweWrap } {
  if (opts.serialization === 'compact') throw new UsageError('a compact JWE holds one recipient; use --format jwe-json for several');
  if (recipients.length > codec.MAX_RECIPIENTS) throw new UsageError(`at most ${codec.MAX_RECIPIENTS} recipients`);
  // Each recipient's own key management: RSA-OAEP-256 for an RSA key, ECDH-ES+A256KW for an EC or X25519
  // key, unless --wrap names one (which must then fit every key). Direct ECDH-ES cannot serve two recipients.
  const wrapOf = (pub: KeyObject): JweWrap => {
    const ec = isEcdhKey(pub);
    const w = opts.wrap ?? (ec ? 'ECDH-ES+A256KW' : 'RSA-OAEP-256');
    if (ec ? !(isEcdhWrap(w) && w !== 'ECDH-ES') : w !== 'RSA-OAEP' && w !== 'RSA-OAEP-256') {
      throw new UsageError(`several recipients need --wrap RSA-OAEP or RSA-OAEP-256 (RSA keys) or ECDH-ES+A128KW/A192KW/A256KW (EC and X25519 keys), not ${w}${opts.wrap ? ` for ${ec ? 'an EC' : 'an RSA'} key` : ''}`);
    }
    return w;
  };
  const wraps = recipients.map(wrapOf);
  const wrap = wraps[0]!;
  if ((opts.apu || opts.apv) && !wraps.some(isEcdhWrap)) throw new UsageError('--apu and --apv go with ECDH-ES');
  if (opts.kid !== undefined) throw new UsageError('--kid names one key; with several recipients each gets its own thumbprint');
  const enc = opts.enc ?? 'A256GCM';
  const cek = randomBytes(specOf(enc).keyLen);
  const header: codec.Header = { enc };
  const protectedB64 = b64urlEncode(Buffer.from(JSON.stringify(header), 'utf8'));
  const aadB64 = opts.aad ? b64urlEncode(opts.aad) : undefined;
  try {
    const jwe: codec.Jwe = {
      serialization: 'general',
      protectedB64,
      protectedHeader: header,
      recipients: recipients.map((pub, i) => {
        const w = wraps[i]!;
        if (isEcdhWrap(w)) {
          const r = ecdhesSend(w, enc, cek.length, pub, { cek, ...(opts.apu ? { apu: opts.apu } : {}), ...(opts.apv ? { apv: opts.apv } : {}) });
          r.cek.fill(0);
          return { header: { alg: w, kid: rsaThumbprint(pub), ...r.header }, encryptedKey: r.encryptedKey };
        }
        return { header: { alg: w, kid: rsaThumbprint(pub) }, encryptedKey: rsaOaepEncrypt(pub, w === 'RSA-OAEP' ? 'sha1' : 'sha256', cek) };
      }),
      iv: Buffer.alloc(0),
      ciphertext: Buffer.alloc(0),
      tag: Buffer.alloc(0),
    };
    const s = seal(enc, cek, plaintext, codec.contentAad(protectedB64, aadB64));
    jwe.iv = s.nonce;
    jwe.ciphertext = s.ciphertext;
    jwe.tag = s.tag;
    if (aadB64 !== undefined) jwe.aadB64 = aadB64;
    return { text: codec.encode(jwe), kid: undefined, enc, wrap };
  } finally {
    cek.fill(0);
  }
}
