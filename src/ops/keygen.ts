/**
 * Key pairs for JWE (keygen --alg RSA-OAEP*, ECDH-ES*): generated here, in
 * the text forms the key resolver reads back (PKCS#8/SPKI PEM, or JWKs with
 * `kid` = the RFC 7638 thumbprint, `alg` and `use: "enc"`).
 */
import { generateKeyPairSync } from 'node:crypto';
import { generateEcdhPair, publicJwk, type EcdhCurve } from '../crypto/ecdh.js';
import { rsaThumbprint } from '../keys/structured.js';

export { ECDH_CURVES, type EcdhCurve } from '../crypto/ecdh.js';
export { ECDH_WRAPS, isEcdhWrap, type EcdhWrap } from '../formats/jwe/ecdhes.js';

/** A key pair's files: the private key, the public key, and its kid. */
export interface KeyPairText {
  priv: string;
  pub: string;
  kid: string;
}

/** An RSA key pair (public exponent 65537) for RSA-OAEP or RSA-OAEP-256. */
export function rsaKeyPair(alg: string, bits: number, format: 'pem' | 'jwk'): KeyPairText {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
  const kid = rsaThumbprint(publicKey);
  if (format === 'jwk') {
    return {
      priv: `${JSON.stringify({ ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'enc' })}\n`,
      pub: `${JSON.stringify({ ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'enc' })}\n`,
      kid,
    };
  }
  return { priv: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, pub: publicKey.export({ format: 'pem', type: 'spki' }) as string, kid };
}

/** An EC (P-256/384/521) or X25519 key pair for ECDH-ES key agreement. */
export function ecKeyPair(alg: string, crv: EcdhCurve, format: 'pem' | 'jwk'): KeyPairText {
  const { privateKey, publicKey } = generateEcdhPair(crv);
  const kid = rsaThumbprint(publicKey);
  if (format === 'jwk') {
    const meta = { kid, alg, use: 'enc' };
    const d = privateKey.export({ format: 'jwk' }).d!;
    return { priv: `${JSON.stringify({ ...publicJwk(publicKey), d, ...meta })}\n`, pub: `${JSON.stringify({ ...publicJwk(publicKey), ...meta })}\n`, kid };
  }
  return { priv: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, pub: publicKey.export({ format: 'pem', type: 'spki' }) as string, kid };
}
