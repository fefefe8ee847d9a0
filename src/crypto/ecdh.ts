import { createHash, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { FormatError, KeyError, quote } from '../errors.js';
import { b64urlDecodeStrict, b64urlEncode } from '../formats/common/base64.js';

/**
 * Elliptic-curve Diffie-Hellman for JOSE (RFC 7518 §4.6, RFC 8037): the
 * curves aes-payload agrees keys on, point validation, the agreement itself
 * and the Concat KDF. Pure functions over node:crypto.
 */

/** The JOSE `crv` names aes-payload takes for ECDH-ES. */
export const ECDH_CURVES = ['P-256', 'P-384', 'P-521', 'X25519'] as const;
export type EcdhCurve = (typeof ECDH_CURVES)[number];

interface Weierstrass {
  kty: 'EC';
  /** OpenSSL's name, as `asymmetricKeyDetails.namedCurve` reports it. */
  node: string;
  /** Coordinate length in bytes. */
  size: number;
  p: bigint;
  b: bigint;
}
interface Montgomery {
  kty: 'OKP';
  node: 'x25519';
  size: 32;
}

// y² = x³ − 3x + b over GF(p) (SEC 2 / FIPS 186-4 parameters).
const CURVES: Record<EcdhCurve, Weierstrass | Montgomery> = {
  'P-256': {
    kty: 'EC',
    node: 'prime256v1',
    size: 32,
    p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  },
  'P-384': {
    kty: 'EC',
    node: 'secp384r1',
    size: 48,
    p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  },
  'P-521': {
    kty: 'EC',
    node: 'secp521r1',
    size: 66,
    p: 2n ** 521n - 1n,
    b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
  },
  X25519: { kty: 'OKP', node: 'x25519', size: 32 },
};

/** Whether a string is a `crv` aes-payload agrees keys on. */
export function isEcdhCurve(s: unknown): s is EcdhCurve {
  return typeof s === 'string' && (ECDH_CURVES as readonly string[]).includes(s);
}

/**
 * The JOSE curve of a key, or undefined when it is not one ECDH-ES takes
 * (RSA, Ed25519, secp256k1, X448…).
 *
 * @example
 * ```ts
 * curveOf(generateKeyPairSync('x25519').publicKey); // 'X25519'
 * ```
 */
export function curveOf(key: KeyObject): EcdhCurve | undefined {
  if (key.asymmetricKeyType === 'x25519') return 'X25519';
  if (key.asymmetricKeyType !== 'ec') return undefined;
  const named = key.asymmetricKeyDetails?.namedCurve;
  for (const c of ECDH_CURVES) if (CURVES[c].node === named) return c;
  return undefined;
}

function toBig(b: Buffer): bigint {
  return b.length ? BigInt(`0x${b.toString('hex')}`) : 0n;
}

function mod(a: bigint, p: bigint): bigint {
  const r = a % p;
  return r < 0n ? r + p : r;
}

/** x and y are field elements (each < p) and y² = x³ − 3x + b (mod p). */
function onCurve(c: Weierstrass, x: bigint, y: bigint): boolean {
  if (x >= c.p || y >= c.p) return false;
  return mod(y * y - (x * x * x - 3n * x + c.b), c.p) === 0n;
}

function coordinate(jwk: Record<string, unknown>, name: 'x' | 'y', size: number, what: string): Buffer {
  const v = jwk[name];
  if (typeof v !== 'string') throw new FormatError(`${what} has no "${name}"`, 'ERR_JWE_EPK');
  let b: Buffer;
  try {
    b = b64urlDecodeStrict(v, `${what} "${name}"`);
  } catch {
    throw new FormatError(`${what} "${name}" is not base64url`, 'ERR_JWE_EPK');
  }
  // RFC 7518 §6.2.1.2 and RFC 8037 §2: the full length of the field, no more, no less.
  if (b.length !== size) throw new FormatError(`${what} "${name}" is ${b.length} bytes; ${jwk.crv as string} needs ${size}`, 'ERR_JWE_EPK');
  return b;
}

/**
 * A peer's public key from a JWK (an `epk`), checked: `kty` and `crv` must
 * be `expected`'s, coordinates exactly the field length, the point on the
 * curve (not the point at infinity, which a JWK cannot even express), and no
 * private part. Every refusal is a {@link FormatError} (`ERR_JWE_EPK`), or a
 * {@link KeyError} when the curve is not the key's.
 *
 * @example
 * ```ts
 * const pub = publicFromJwk(header.epk, 'P-256', 'JWE "epk"');
 * ```
 */
export function publicFromJwk(value: unknown, expected: EcdhCurve, what: string): KeyObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new FormatError(`${what} is not a JSON object`, 'ERR_JWE_EPK');
  const jwk = value as Record<string, unknown>;
  if (jwk.d !== undefined) throw new FormatError(`${what} holds a private key ("d"); an ephemeral public key must not`, 'ERR_JWE_EPK');
  for (const k of ['p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) {
    if (jwk[k] !== undefined) throw new FormatError(`${what} has a private or foreign member ${quote(k)}`, 'ERR_JWE_EPK');
  }
  const kty = jwk.kty;
  const crv = jwk.crv;
  if (kty !== 'EC' && kty !== 'OKP') throw new FormatError(`${what} "kty" must be EC or OKP, not ${quote(kty, 10)}`, 'ERR_JWE_EPK');
  if (!isEcdhCurve(crv)) throw new FormatError(`${what} "crv" ${quote(crv, 12)} is not one aes-payload agrees keys on (P-256, P-384, P-521, X25519)`, 'ERR_JWE_EPK');
  const c = CURVES[crv];
  if (c.kty !== kty) throw new FormatError(`${what}: crv ${crv} goes with kty ${c.kty}, not ${kty}`, 'ERR_JWE_EPK');
  if (crv !== expected) throw new KeyError(`${what} is on ${crv}, but the key is on ${expected}`, 'ERR_KEY_TYPE');
  if (c.kty === 'OKP') {
    if (jwk.y !== undefined) throw new FormatError(`${what}: an X25519 key has no "y"`, 'ERR_JWE_EPK');
    const x = coordinate(jwk, 'x', c.size, what);
    return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64urlEncode(x) }, format: 'jwk' });
  }
  const x = coordinate(jwk, 'x', c.size, what);
  const y = coordinate(jwk, 'y', c.size, what);
  if (!onCurve(c, toBig(x), toBig(y))) throw new FormatError(`${what} is not a point on ${crv}`, 'ERR_JWE_EPK');
  return createPublicKey({ key: { kty: 'EC', crv, x: b64urlEncode(x), y: b64urlEncode(y) }, format: 'jwk' });
}

/**
 * Check a public key object (from PEM, DER or a JWK file) as
 * {@link publicFromJwk} checks an `epk`: a named curve aes-payload takes,
 * the one expected, and a point on it. Returns the key.
 *
 * @example
 * ```ts
 * checkPublic(createPublicKey(pem), 'P-384', 'recipient key bob.pem.pub');
 * ```
 */
export function checkPublic(key: KeyObject, expected: EcdhCurve | undefined, what: string): KeyObject {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const crv = curveOf(pub);
  if (!crv) {
    const named = pub.asymmetricKeyDetails?.namedCurve;
    throw new KeyError(`${what} is ${pub.asymmetricKeyType === 'ec' ? `on curve ${named ? quote(named, 20) : '(explicit parameters)'}` : `a ${pub.asymmetricKeyType ?? 'secret'} key`}; ECDH-ES takes P-256, P-384, P-521 or X25519`, 'ERR_KEY_TYPE');
  }
  return publicFromJwk(publicJwk(pub), expected ?? crv, what);
}

/**
 * A peer's public key from DER SubjectPublicKeyInfo, checked as
 * {@link checkPublic} checks it (named curve, the one expected, point on
 * the curve). Anything unreadable is a {@link FormatError}.
 */
export function publicFromSpki(der: Uint8Array, expected: EcdhCurve, what: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch {
    throw new FormatError(`${what} is not a readable public key (DER SubjectPublicKeyInfo)`, 'ERR_JWE_EPK');
  }
  // Only the one canonical encoding: a named curve OID and an uncompressed point, in DER. Explicit curve
  // parameters (which OpenSSL may quietly map to a named curve), compressed points and BER are refused.
  if (!Buffer.from(key.export({ format: 'der', type: 'spki' })).equals(Buffer.from(der))) {
    throw new FormatError(`${what} is not in canonical form (DER, a named curve, an uncompressed point)`, 'ERR_JWE_EPK');
  }
  return checkPublic(key, expected, what);
}

/**
 * The public JWK of an EC or X25519 key: `{kty, crv, x[, y]}` and nothing
 * else (the form an `epk` takes, and RFC 7638's thumbprint input).
 */
export function publicJwk(key: KeyObject): { kty: 'EC' | 'OKP'; crv: EcdhCurve; x: string; y?: string } {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const crv = curveOf(pub);
  if (!crv) throw new KeyError('not a P-256, P-384, P-521 or X25519 key', 'ERR_KEY_TYPE');
  const j = pub.export({ format: 'jwk' });
  return CURVES[crv].kty === 'OKP' ? { kty: 'OKP', crv, x: j.x! } : { kty: 'EC', crv, x: j.x!, y: j.y! };
}

/**
 * The ECDH shared secret Z between a private key and a validated public key
 * on the same curve: the x coordinate (EC) or the X25519 output. An all-zero
 * X25519 output (a low-order public point, RFC 7748 §6.1, RFC 8037 §3.2)
 * is refused.
 *
 * @example
 * ```ts
 * const z = agree(myPrivate, publicFromJwk(epk, 'X25519', 'JWE "epk"'));
 * ```
 */
export function agree(privateKey: KeyObject, publicKey: KeyObject): Buffer {
  let z: Buffer;
  try {
    z = diffieHellman({ privateKey, publicKey });
  } catch {
    // OpenSSL refuses an all-zero X25519 result itself, and any point it cannot use.
    throw new FormatError('the ephemeral public key gives no usable shared secret (a low-order or invalid point)', 'ERR_JWE_EPK');
  }
  // Only X25519: on the P curves a shared x coordinate of 0 is a legitimate point (Wycheproof has one).
  if (privateKey.asymmetricKeyType === 'x25519' && z.every((b) => b === 0)) {
    throw new FormatError('the ephemeral public key gives no usable shared secret (a low-order or invalid point)', 'ERR_JWE_EPK');
  }
  return z;
}

/** A fresh key pair on a curve (the sender's ephemeral key, or keygen's). */
export function generateEcdhPair(crv: EcdhCurve): { privateKey: KeyObject; publicKey: KeyObject } {
  const c = CURVES[crv];
  return c.kty === 'OKP' ? generateKeyPairSync('x25519') : generateKeyPairSync('ec', { namedCurve: c.node });
}

function lengthPrefixed(b: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/**
 * The Concat KDF of NIST SP 800-56A §5.8.1 as RFC 7518 §4.6.2 uses it, with
 * SHA-256: `keyBits` of SHA-256(counter ‖ Z ‖ OtherInfo) for counter 1, 2, …,
 * where OtherInfo = AlgorithmID ‖ PartyUInfo ‖ PartyVInfo ‖ SuppPubInfo, the
 * first three length-prefixed (32-bit big-endian) and SuppPubInfo the key
 * length in bits (32-bit big-endian). SuppPrivInfo is empty.
 *
 * @example
 * ```ts
 * concatKdf(z, 128, 'A128GCM', Buffer.from('Alice'), Buffer.from('Bob')); // RFC 7518 appendix C: VqqN6vgjbSBcIijNcacQGg
 * ```
 */
export function concatKdf(z: Uint8Array, keyBits: number, algorithmId: string, apu: Uint8Array, apv: Uint8Array): Buffer {
  if (!Number.isInteger(keyBits) || keyBits <= 0 || keyBits % 8 !== 0 || keyBits > 1024) throw new RangeError(`concatKdf: key length ${keyBits} bits`);
  const supp = Buffer.alloc(4);
  supp.writeUInt32BE(keyBits);
  const otherInfo = Buffer.concat([lengthPrefixed(Buffer.from(algorithmId, 'ascii')), lengthPrefixed(apu), lengthPrefixed(apv), supp]);
  const rounds = Math.ceil(keyBits / 256);
  const out: Buffer[] = [];
  const counter = Buffer.alloc(4);
  for (let i = 1; i <= rounds; i++) {
    counter.writeUInt32BE(i);
    out.push(createHash('sha256').update(counter).update(z).update(otherInfo).digest());
  }
  const all = Buffer.concat(out);
  const key = Buffer.from(all.subarray(0, keyBits / 8));
  all.fill(0);
  for (const b of out) b.fill(0);
  return key;
}
