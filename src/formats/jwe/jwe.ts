import { randomBytes, type KeyObject } from 'node:crypto';
import { open, seal, specOf } from '../../crypto/aead.js';
import { defaultAlgForKeyLength, isAlg, type Alg } from '../../crypto/algs.js';
import { gcmOpen, gcmSeal } from '../../crypto/gcm.js';
import { KDF_INPUT_CAP_MS, pbes2Kek, pbkdf2CostMs, type KdfBudget } from '../../crypto/kdf.js';
import { aesKwUnwrap, aesKwWrap } from '../../crypto/keywrap.js';
import { rsaOaepDecrypt, rsaOaepEncrypt } from '../../crypto/rsaOaep.js';
import { AmbiguousKeyError, AuthError, FormatError, KeyError, UsageError, quote, shown } from '../../errors.js';
import { b64urlDecodeStrict, b64urlEncode } from '../common/base64.js';
import * as codec from './codec.js';
import { keyId } from '../../keys/kid.js';
import { rsaThumbprint } from '../../keys/structured.js';
import type { ExternalKek } from '../../keys/pkcs11.js';
import { ECDH_WRAPS, ecdhesReceive, ecdhesSend, isEcdhKey, isEcdhWrap } from './ecdhes.js';

/** Key management algorithms (`alg`) aes-payload reads and writes. */
export const JWE_WRAPS = [
  'dir',
  'A128KW',
  'A192KW',
  'A256KW',
  'A128GCMKW',
  'A192GCMKW',
  'A256GCMKW',
  'RSA-OAEP',
  'RSA-OAEP-256',
  'PBES2-HS256+A128KW',
  'PBES2-HS384+A192KW',
  'PBES2-HS512+A256KW',
  ...ECDH_WRAPS,
] as const;
export type JweWrap = (typeof JWE_WRAPS)[number];

/** Content encryption (`enc`) values: the authenticated JOSE algorithms. */
export const JWE_ENCS = ['A128GCM', 'A192GCM', 'A256GCM', 'A128CBC-HS256', 'A192CBC-HS384', 'A256CBC-HS512'] as const;
export type JweEnc = (typeof JWE_ENCS)[number];

/** PBES2 iteration counts accepted on decrypt (RFC 7518 §4.8.1.2 asks for at least 1000). */
export const P2C_MIN = 1000;
export const P2C_MAX = 1_000_000;
/** PBES2 counts written: OWASP's 2023 figures for PBKDF2-HMAC-SHA-256/384/512 (about 100–180 ms here). */
export const P2C_DEFAULT = { 'PBES2-HS256+A128KW': 600_000, 'PBES2-HS384+A192KW': 400_000, 'PBES2-HS512+A256KW': 210_000 } as const;
/** Default cap on the inflated size of a `zip: "DEF"` payload. */
export const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

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

export interface JweDecryptOptions {
  /** When given, every `alg` and `enc` must be in this set. */
  allowAlg?: ReadonlySet<string>;
  /** Cap on the inflated size of `zip: "DEF"` payloads (default 64 MiB). */
  maxInflated?: number;
  /** Overrides the JSON serialization's `aad` member. */
  aad?: Uint8Array;
  /** A run's budget of passphrase work (PBES2), shared with other inputs. */
  kdfBudget?: KdfBudget;
}

export interface JweDecryptResult {
  plaintext: Buffer;
  enc: JweEnc;
  wrap: JweWrap;
  kid: string | undefined;
  serialization: codec.Jwe['serialization'];
}

const isWrap = (s: string): s is JweWrap => (JWE_WRAPS as readonly string[]).includes(s);
const isEnc = (s: string): s is JweEnc => (JWE_ENCS as readonly string[]).includes(s);

function kwBits(wrap: JweWrap): number {
  return Number(wrap.slice(1, 4));
}

function needSecret(keys: JweKeys, wrap: JweWrap): Uint8Array {
  if (keys.secret) return keys.secret;
  if (keys.rsa) throw new KeyError(`${wrap} needs a symmetric key, but the key is an RSA key`, 'ERR_KEY_TYPE');
  if (keys.passphrase) throw new KeyError(`${wrap} needs a key, not a passphrase`, 'ERR_KEY_TYPE');
  throw new KeyError('no key given', 'ERR_KEY_MISSING');
}

function needRsa(keys: JweKeys, wrap: JweWrap, type: 'public' | 'private'): KeyObject {
  if (keys.rsa) {
    if (keys.rsa.asymmetricKeyType !== 'rsa') throw new KeyError(`${wrap} needs an RSA key, but the key is ${keyKind(keys)}`, 'ERR_KEY_TYPE');
    if (type === 'private' && keys.rsa.type !== 'private') throw new KeyError(`${wrap} decryption needs the RSA private key, not the public key`, 'ERR_KEY_TYPE');
    return keys.rsa;
  }
  if (keys.secret) throw new KeyError(`${wrap} needs an RSA key, but the key is a symmetric key`, 'ERR_KEY_TYPE');
  throw new KeyError(`${wrap} needs an RSA key (${type === 'public' ? '--recipient PUBKEY' : '--key-file PRIVATE-KEY'})`, 'ERR_KEY_MISSING');
}

function needEc(keys: JweKeys, wrap: JweWrap, type: 'public' | 'private'): KeyObject {
  if (isEcdhKey(keys.rsa)) {
    if (type === 'private' && keys.rsa.type !== 'private') throw new KeyError(`${wrap} decryption needs the private key, not the public key`, 'ERR_KEY_TYPE');
    return keys.rsa;
  }
  if (keys.rsa || keys.secret || keys.passphrase || keys.kek) throw new KeyError(`${wrap} needs a P-256, P-384, P-521 or X25519 key, but the key is ${keyKind(keys)}`, 'ERR_KEY_TYPE');
  throw new KeyError(`${wrap} needs an EC or X25519 key (${type === 'public' ? '--recipient PUBKEY' : '--key-file PRIVATE-KEY'})`, 'ERR_KEY_MISSING');
}

function needPassphrase(keys: JweKeys, wrap: JweWrap): Uint8Array {
  if (keys.passphrase) return keys.passphrase;
  throw new KeyError(`${wrap} needs a passphrase (--passphrase, --passphrase-env or --passphrase-file)`, 'ERR_KEY_TYPE');
}

function checkKwLength(wrap: JweWrap, kek: Uint8Array): void {
  const need = kwBits(wrap) / 8;
  if (kek.length !== need) throw new KeyError(`key is ${kek.length} bytes but ${wrap} needs ${need} bytes`, 'ERR_KEY_LENGTH');
}

function contentAad(protectedB64: string, aadB64: string | undefined): Buffer {
  return Buffer.from(aadB64 === undefined ? protectedB64 : `${protectedB64}.${aadB64}`, 'ascii');
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
  const s = seal(enc, cek, plaintext, contentAad(protectedB64, aadB64));
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
    const s = seal(enc, cek, plaintext, contentAad(protectedB64, aadB64));
    jwe.iv = s.nonce;
    jwe.ciphertext = s.ciphertext;
    jwe.tag = s.tag;
    if (aadB64 !== undefined) jwe.aadB64 = aadB64;
    return { text: codec.encode(jwe), kid: undefined, enc, wrap };
  } finally {
    cek.fill(0);
  }
}

/** The merged header of one recipient, checked (RFC 7516 §5.2 steps 3–5). */
interface Checked {
  wrap: JweWrap;
  enc: JweEnc;
  kid: string | undefined;
  header: codec.Header;
  zip: boolean;
}

function checkHeader(jwe: codec.Jwe, r: codec.JweRecipient, opts: JweDecryptOptions): Checked {
  const header: codec.Header = { ...jwe.protectedHeader };
  for (const part of [jwe.unprotected, r.header]) {
    if (!part) continue;
    for (const [k, v] of Object.entries(part)) {
      if (k in header) throw new FormatError(`JWE header parameter ${quote(k)} appears twice`, 'ERR_JWE');
      header[k] = v;
    }
  }
  const alg = header.alg;
  const enc = header.enc;
  if (typeof alg !== 'string') throw new FormatError('JWE header has no "alg"', 'ERR_JWE');
  if (typeof enc !== 'string') throw new FormatError('JWE header has no "enc"', 'ERR_JWE');
  if (alg === 'none') throw new FormatError('JWE "alg": "none" is refused', 'ERR_JWE_ALG');
  if (alg === 'RSA1_5') {
    throw new FormatError('JWE "alg": "RSA1_5" is refused: RSAES-PKCS1-v1_5 is open to padding-oracle attacks; use RSA-OAEP-256', 'ERR_JWE_ALG');
  }
  if (!isWrap(alg)) throw new FormatError(`unsupported JWE "alg": ${quote(alg)}`, 'ERR_JWE_ALG');
  if (!isEnc(enc)) throw new FormatError(`unsupported JWE "enc": ${quote(enc)}`, 'ERR_JWE_ALG');
  if (opts.allowAlg) {
    for (const a of [alg, enc]) {
      if (!opts.allowAlg.has(a)) throw new FormatError(`JWE algorithm ${a} is not in --allow-alg`, 'ERR_JWE_ALG');
    }
  }
  if (header.crit !== undefined) {
    const crit = header.crit;
    if (!Array.isArray(crit) || crit.length === 0 || crit.some((c) => typeof c !== 'string')) {
      throw new FormatError('JWE "crit" must be a non-empty array of names', 'ERR_JWE');
    }
    // aes-payload understands no extension parameters, so every crit entry is unknown.
    throw new FormatError(`JWE "crit" names parameters aes-payload does not understand: ${crit.slice(0, 4).map((c) => quote(c, 30)).join(', ')}${crit.length > 4 ? ', …' : ''}`, 'ERR_JWE_CRIT');
  }
  let zip = false;
  if (header.zip !== undefined) {
    if (header.zip !== 'DEF') throw new FormatError(`unsupported JWE "zip": ${quote(header.zip, 20)}`, 'ERR_JWE');
    if (jwe.protectedHeader.zip === undefined) throw new FormatError('JWE "zip" must be in the protected header', 'ERR_JWE');
    zip = true;
  }
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  return { wrap: alg, enc, kid, header, zip };
}

function headerB64(h: codec.Header, name: string): Buffer {
  const v = h[name];
  if (typeof v !== 'string') throw new FormatError(`JWE header has no "${name}"`, 'ERR_JWE');
  return b64urlDecodeStrict(v, `JWE header "${name}"`);
}

/** Recover the CEK for one recipient. Authentication failures throw AuthError. */
function unwrapCek(c: Checked, r: codec.JweRecipient, keys: JweKeys): Buffer {
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

/** Whether a key management algorithm can use the key given. */
function wrapTakes(wrap: JweWrap, keys: JweKeys): boolean {
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

function keyKind(keys: JweKeys): string {
  return keys.kek ? 'an HSM key' : keys.secret ? 'a symmetric key' : keys.rsa ? asymKind(keys.rsa) : keys.passphrase ? 'a passphrase' : 'no key';
}

/** Estimated PBES2 work of one recipient (0 for other algorithms); p2c is checked in unwrapCek. */
function pbes2Cost(c: Checked): number {
  if (!c.wrap.startsWith('PBES2')) return 0;
  const p2c = c.header.p2c;
  if (typeof p2c !== 'number' || !Number.isSafeInteger(p2c) || p2c < P2C_MIN || p2c > P2C_MAX) return 0;
  return pbkdf2CostMs(`sha${c.wrap.slice(8, 11)}` as 'sha256' | 'sha384' | 'sha512', p2c);
}

function inflate(data: Buffer, cap: number): Buffer {
  try {
    // Loaded only here: node:zlib costs start-up time for every other command.
    return process.getBuiltinModule('node:zlib').inflateRawSync(data, { maxOutputLength: cap });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new FormatError(`JWE "zip" payload inflates beyond the cap of ${cap} bytes`, 'ERR_JWE_ZIP');
    }
    throw new FormatError('JWE "zip" payload is not valid DEFLATE data', 'ERR_JWE_ZIP');
  }
}

/**
 * Decrypt a JWE in any serialization. With several recipients, every one
 * the key can take is tried (those whose `kid` matches the key first); two
 * that open the content to different plaintexts are refused
 * ({@link AmbiguousKeyError}). Plaintext is returned only after the content
 * tag verifies.
 *
 * @example
 * ```ts
 * const { plaintext, enc, wrap } = jweDecrypt(text, { rsa: privateKey });
 * ```
 */
export function jweDecrypt(text: string, keys: JweKeys, opts: JweDecryptOptions = {}): JweDecryptResult {
  const jwe = codec.decode(text);
  const myKids = new Set<string>();
  if (keys.secret) myKids.add(keyId(keys.secret));
  if (keys.rsa) myKids.add(rsaThumbprint(keys.rsa));
  const checked = jwe.recipients.map((r) => ({ r, c: checkHeader(jwe, r, opts) }));
  // Only recipients whose key management takes the kind of key given are tried, those naming its kid first.
  const fits = checked.filter((x) => wrapTakes(x.c.wrap, keys));
  if (!fits.length) {
    if (checked.length === 1) unwrapCek(checked[0]!.c, checked[0]!.r, keys); // throws the precise key error
    throw new KeyError(`none of this JWE's ${checked.length} recipients takes ${keyKind(keys)}`, 'ERR_KEY_TYPE');
  }
  const order = [...fits.filter((x) => x.c.kid && myKids.has(x.c.kid)), ...fits.filter((x) => !(x.c.kid && myKids.has(x.c.kid)))];
  const pbes2 = order.reduce((ms, x) => ms + pbes2Cost(x.c), 0);
  if (pbes2 > KDF_INPUT_CAP_MS) {
    throw new FormatError(`refusing the JWE's PBES2 work: its recipients ask for about ${(pbes2 / 1000).toFixed(1)} s of key derivation, over the ${KDF_INPUT_CAP_MS / 1000} s an input may cost`, 'ERR_KDF_COST');
  }
  const aad = opts.aad ? Buffer.from(opts.aad) : undefined;
  const aadB64 = aad ? b64urlEncode(aad) : jwe.aadB64;
  if (jwe.serialization === 'compact' && aad) throw new UsageError('a compact JWE carries no AAD; drop --aad');
  let keyProblem: KeyError | undefined;
  let sawAuthFailure = false;
  // Every recipient the key takes is tried, not only the first that works: with AES-GCM content, two
  // recipients' content keys can both open one ciphertext to different plaintexts, and that is refused.
  let found: { pt: Buffer; c: (typeof order)[number]['c'] } | undefined;
  for (const { r, c } of order) {
    let cek: Buffer;
    try {
      if (c.wrap.startsWith('PBES2')) opts.kdfBudget?.charge(pbes2Cost(c));
      cek = unwrapCek(c, r, keys);
    } catch (e) {
      if (e instanceof KeyError && order.length > 1) {
        keyProblem ??= e;
        continue;
      }
      if (e instanceof AuthError && order.length > 1) {
        sawAuthFailure = true;
        continue;
      }
      if (e instanceof AuthError) throw new AuthError(kidStory(order.map((x) => x.c.kid), myKids));
      throw e;
    }
    const sealed = { alg: c.enc as Alg, nonce: jwe.iv, ciphertext: jwe.ciphertext, tag: jwe.tag };
    const spec = specOf(c.enc);
    if (jwe.iv.length !== spec.nonceLen) {
      cek.fill(0);
      throw new FormatError(`JWE iv must be ${spec.nonceLen} bytes for ${c.enc}`, 'ERR_JWE');
    }
    let pt: Buffer;
    try {
      pt = open(sealed, cek, contentAad(jwe.protectedB64, aadB64));
    } catch (e) {
      if (e instanceof AuthError && order.length > 1) {
        sawAuthFailure = true;
        continue;
      }
      if (e instanceof AuthError) throw new AuthError(kidStory(order.map((x) => x.c.kid), myKids));
      throw e;
    } finally {
      cek.fill(0);
    }
    if (!found) {
      found = { pt, c };
      continue;
    }
    const same = pt.equals(found.pt);
    pt.fill(0);
    if (!same) {
      found.pt.fill(0);
      throw new AmbiguousKeyError([found.c.kid, c.kid].filter((k): k is string => k !== undefined).map((k) => shown(k)), 'recipients');
    }
  }
  if (found) {
    let pt = found.pt;
    const c = found.c;
    if (c.zip) {
      const inflated = inflate(pt, opts.maxInflated ?? MAX_INFLATED_BYTES);
      pt.fill(0);
      pt = inflated;
    }
    return { plaintext: pt, enc: c.enc, wrap: c.wrap, kid: c.kid, serialization: jwe.serialization };
  }
  if (keyProblem && !sawAuthFailure) throw keyProblem;
  throw new AuthError(kidStory(order.map((x) => x.c.kid), myKids));
}

/** The kids part of an authentication failure (kids are public; nothing here depends on which check failed). */
function kidStory(named: (string | undefined)[], mine: Set<string>): string | undefined {
  const kids = [...new Set(named.filter((k): k is string => k !== undefined))];
  if (!mine.size || !kids.length) return undefined;
  const match = kids.find((k) => mine.has(k));
  if (match) return `kid ${shown(match)} matches, but the data was altered`;
  return `the input names kid ${kids.slice(0, 3).map((k) => shown(k)).join(', ')}${kids.length > 3 ? ', …' : ''}; the key given is kid ${[...mine][0]}`;
}

/** Whether a string names a JWE algorithm (alg or enc) aes-payload knows. */
export function isJweAlgName(s: string): boolean {
  return isWrap(s) || isEnc(s) || isAlg(s);
}
