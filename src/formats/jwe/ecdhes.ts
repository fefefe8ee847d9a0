import { randomBytes, type KeyObject } from 'node:crypto';
import { agree, checkPublic, concatKdf, curveOf, generateEcdhPair, publicFromJwk, publicJwk } from '../../crypto/ecdh.js';
import { aesKwUnwrap, aesKwWrap } from '../../crypto/keywrap.js';
import { AuthError, FormatError, KeyError, UsageError } from '../../errors.js';
import { b64urlDecodeStrict, b64urlEncode } from '../common/base64.js';

/**
 * JWE key agreement, RFC 7518 §4.6: `ECDH-ES` (the Concat KDF output is the
 * content key) and `ECDH-ES+A128KW/A192KW/A256KW` (it is the AES key-wrap
 * key), on P-256, P-384, P-521 and X25519 (RFC 8037).
 */

export const ECDH_WRAPS = ['ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A192KW', 'ECDH-ES+A256KW'] as const;
export type EcdhWrap = (typeof ECDH_WRAPS)[number];

/** Longest `apu` / `apv` accepted, decoded (they are identifiers; RFC 7518 sets no limit). */
export const MAX_PARTY_INFO = 1024;

export function isEcdhWrap(s: unknown): s is EcdhWrap {
  return typeof s === 'string' && (ECDH_WRAPS as readonly string[]).includes(s);
}

/** Whether a key object is one ECDH-ES takes (P-256, P-384, P-521, X25519). */
export function isEcdhKey(key: KeyObject | undefined): key is KeyObject {
  return key !== undefined && curveOf(key) !== undefined;
}

function kwBits(wrap: EcdhWrap): number | undefined {
  return wrap === 'ECDH-ES' ? undefined : Number(wrap.slice(9, 12));
}

function partyInfo(header: Record<string, unknown>, name: 'apu' | 'apv'): Buffer {
  const v = header[name];
  if (v === undefined) return Buffer.alloc(0);
  if (typeof v !== 'string') throw new FormatError(`JWE "${name}" is not a string`, 'ERR_JWE');
  const b = b64urlDecodeStrict(v, `JWE "${name}"`);
  if (b.length > MAX_PARTY_INFO) throw new FormatError(`JWE "${name}" is longer than ${MAX_PARTY_INFO} bytes`, 'ERR_JWE');
  return b;
}

export interface EcdhSendOptions {
  /** Agreement PartyUInfo (the producer), written to the header as `apu`. */
  apu?: Uint8Array;
  /** Agreement PartyVInfo (the recipient), written to the header as `apv`. */
  apv?: Uint8Array;
  /** Key wrapping only: the content key to wrap (several recipients share one); default a fresh random one. */
  cek?: Buffer;
}

/**
 * The sender's side: a fresh ephemeral key on the recipient's curve, the
 * agreement, and the content key (random and wrapped, or the KDF output
 * itself for `ECDH-ES`). `header` holds `epk` (and `apu`/`apv` when given)
 * for the JWE header.
 *
 * @example
 * ```ts
 * const { cek, encryptedKey, header } = ecdhesSend('ECDH-ES+A256KW', 'A256GCM', 32, bobPublic);
 * ```
 */
export function ecdhesSend(
  wrap: EcdhWrap,
  enc: string,
  cekLen: number,
  recipient: KeyObject,
  opts: EcdhSendOptions = {},
): { cek: Buffer; encryptedKey: Buffer; header: Record<string, unknown> } {
  const pub = checkPublic(recipient, undefined, 'the recipient key');
  for (const [n, v] of [['apu', opts.apu], ['apv', opts.apv]] as const) {
    if (v && v.length > MAX_PARTY_INFO) throw new UsageError(`--${n} is longer than ${MAX_PARTY_INFO} bytes`);
  }
  const crv = curveOf(pub)!;
  const eph = generateEcdhPair(crv);
  const z = agree(eph.privateKey, pub);
  const apu = Buffer.from(opts.apu ?? []);
  const apv = Buffer.from(opts.apv ?? []);
  const header: Record<string, unknown> = { epk: publicJwk(eph.publicKey) };
  if (opts.apu) header.apu = b64urlEncode(apu);
  if (opts.apv) header.apv = b64urlEncode(apv);
  try {
    const bits = kwBits(wrap);
    if (bits === undefined) return { cek: concatKdf(z, cekLen * 8, enc, apu, apv), encryptedKey: Buffer.alloc(0), header };
    const kek = concatKdf(z, bits, wrap, apu, apv);
    const cek = opts.cek ? Buffer.from(opts.cek) : randomBytes(cekLen);
    const encryptedKey = aesKwWrap(kek, cek);
    kek.fill(0);
    return { cek, encryptedKey, header };
  } finally {
    z.fill(0);
  }
}

/**
 * The recipient's side: validate `epk` against the private key's curve,
 * agree, derive, and unwrap. A wrong key or altered data surfaces as
 * {@link AuthError} (at the unwrap here, or at the content tag for
 * `ECDH-ES`); a malformed or invalid `epk` is a {@link FormatError}, an
 * `epk` on another curve a {@link KeyError}.
 *
 * @example
 * ```ts
 * const cek = ecdhesReceive('ECDH-ES', 'A128GCM', 16, header, Buffer.alloc(0), bobPrivate);
 * ```
 */
export function ecdhesReceive(wrap: EcdhWrap, enc: string, cekLen: number, header: Record<string, unknown>, encryptedKey: Buffer, privateKey: KeyObject): Buffer {
  const crv = curveOf(privateKey);
  if (!crv || privateKey.type !== 'private') throw new KeyError(`${wrap} decryption needs a P-256, P-384, P-521 or X25519 private key`, 'ERR_KEY_TYPE');
  if (header.epk === undefined) throw new FormatError(`JWE ${wrap} header has no "epk"`, 'ERR_JWE_EPK');
  const apu = partyInfo(header, 'apu');
  const apv = partyInfo(header, 'apv');
  const bits = kwBits(wrap);
  if (bits === undefined && encryptedKey.length) throw new FormatError('JWE "ECDH-ES" must have an empty encrypted key', 'ERR_JWE');
  const epk = publicFromJwk(header.epk, crv, 'JWE "epk"');
  const z = agree(privateKey, epk);
  try {
    if (bits === undefined) return concatKdf(z, cekLen * 8, enc, apu, apv);
    const kek = concatKdf(z, bits, wrap, apu, apv);
    try {
      const cek = aesKwUnwrap(kek, encryptedKey);
      if (cek.length !== cekLen) {
        cek.fill(0);
        throw new AuthError();
      }
      return cek;
    } finally {
      kek.fill(0);
    }
  } finally {
    z.fill(0);
  }
}
