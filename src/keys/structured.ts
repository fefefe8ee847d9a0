import { createHash, createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { FormatError, KeyError, quote } from '../errors.js';
import { parseJson } from '../formats/common/jsonSpans.js';
import { b64urlDecodeStrict } from '../formats/common/base64.js';
import { checkPublic, curveOf, publicJwk } from '../crypto/ecdh.js';

/** A key file that holds a JWK or a PEM key rather than bare key text. */
export type StructuredKey =
  | { kind: 'secret'; key: Buffer }
  | { kind: 'private'; key: KeyObject }
  | { kind: 'public'; key: KeyObject };

/** An RSA key, or a P-256, P-384, P-521 or X25519 key (ECDH-ES), its point checked. */
function rsaOnly(k: KeyObject, where: string): KeyObject {
  if (k.asymmetricKeyType === 'rsa') return k;
  if (k.asymmetricKeyType === 'ec' || k.asymmetricKeyType === 'x25519') {
    checkPublic(k, undefined, where);
    return k;
  }
  throw new KeyError(`${where} holds a ${k.asymmetricKeyType ?? 'non-RSA'} key; only RSA, EC (P-256, P-384, P-521) and X25519 keys are supported`, 'ERR_KEY_TYPE');
}

/**
 * Recognise a JWK (`{"kty":…}`) or a PEM key (`-----BEGIN …`). Returns
 * undefined for anything else, which is then read as bare key text.
 *
 * @example
 * ```ts
 * parseStructuredKey(readFileSync('rsa.pem'), 'key file rsa.pem'); // { kind: 'private', key }
 * ```
 */
export function parseStructuredKey(raw: Uint8Array, where: string): StructuredKey | undefined {
  const text = Buffer.from(raw).toString('utf8').replace(/^\uFEFF/, '').trim();
  if (text.startsWith('-----BEGIN')) {
    if (/-----BEGIN (RSA )?PUBLIC KEY-----/.test(text)) {
      try {
        return { kind: 'public', key: rsaOnly(createPublicKey(text), where) };
      } catch (e) {
        if (e instanceof KeyError) throw e;
        throw new KeyError(`${where}: not a readable PEM public key`, 'ERR_KEY_FORMAT');
      }
    }
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text)) {
      throw new KeyError(`${where}: encrypted PEM keys are not supported; decrypt it with openssl pkey first`, 'ERR_KEY_FORMAT');
    }
    try {
      return { kind: 'private', key: rsaOnly(createPrivateKey(text), where) };
    } catch (e) {
      if (e instanceof KeyError) throw e;
      throw new KeyError(`${where}: not a readable PEM private key (PKCS#8, PKCS#1 or SEC 1)`, 'ERR_KEY_FORMAT');
    }
  }
  if (!text.startsWith('{')) return undefined;
  let jwk: Record<string, unknown>;
  try {
    jwk = parseJson(text, 'the JWK') as Record<string, unknown>;
  } catch (e) {
    throw new KeyError(`${where}: ${(e as Error).message} (expected a JWK)`, 'ERR_KEY_FORMAT');
  }
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) throw new KeyError(`${where}: a JWK must be a JSON object`, 'ERR_KEY_FORMAT');
  if (jwk.kty === 'oct') {
    if (typeof jwk.k !== 'string') throw new KeyError(`${where}: an oct JWK needs "k"`, 'ERR_KEY_FORMAT');
    try {
      return { kind: 'secret', key: b64urlDecodeStrict(jwk.k, 'JWK "k"') };
    } catch (e) {
      if (e instanceof FormatError) throw new KeyError(`${where}: JWK "k" is not base64url`, 'ERR_KEY_FORMAT');
      throw e;
    }
  }
  if (jwk.kty === 'RSA') {
    try {
      if (jwk.d !== undefined) return { kind: 'private', key: createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' }) };
      return { kind: 'public', key: createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }) };
    } catch {
      throw new KeyError(`${where}: not a valid RSA JWK`, 'ERR_KEY_FORMAT');
    }
  }
  if (jwk.kty === 'EC' || jwk.kty === 'OKP') {
    let key: KeyObject;
    try {
      key = jwk.d !== undefined ? createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' }) : createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch {
      throw new KeyError(`${where}: not a valid ${jwk.kty} JWK (P-256, P-384, P-521 or X25519)`, 'ERR_KEY_FORMAT');
    }
    rsaOnly(key, where);
    return { kind: key.type === 'private' ? 'private' : 'public', key };
  }
  // kty is shown only when it is a short name (EC, OKP…): a key pasted there is never echoed.
  const kty = typeof jwk.kty === 'string' && /^[A-Za-z0-9-]{1,6}$/.test(jwk.kty) ? ` ${quote(jwk.kty)}` : jwk.kty === undefined ? ' (none)' : '';
  throw new KeyError(`${where}: JWK kty${kty} is not supported (oct, RSA, EC or OKP X25519)`, 'ERR_KEY_TYPE');
}

/**
 * RFC 7638 JWK thumbprint (SHA-256, base64url) of an RSA key (or an EC or
 * X25519 key): the kid that aes-payload writes for public keys.
 *
 * @example
 * ```ts
 * rsaThumbprint(publicKey); // 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
 * ```
 */
export function rsaThumbprint(key: KeyObject): string {
  if (curveOf(key)) {
    // RFC 7638 §3.2: the required members in lexicographic order (EC: crv, kty, x, y; OKP: crv, kty, x).
    const j = publicJwk(key);
    const canonical = j.kty === 'EC' ? JSON.stringify({ crv: j.crv, kty: 'EC', x: j.x, y: j.y }) : JSON.stringify({ crv: j.crv, kty: 'OKP', x: j.x });
    return createHash('sha256').update(canonical).digest('base64url');
  }
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
  const canonical = JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** The public half of an RSA key (itself, for a public key). */
export function publicOf(key: KeyObject): KeyObject {
  return key.type === 'private' ? createPublicKey(key) : key;
}
