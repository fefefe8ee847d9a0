import { constants, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';

/** The OAEP hash for JOSE's RSA-OAEP (SHA-1) and RSA-OAEP-256 (SHA-256). */
export type OaepHash = 'sha1' | 'sha256';

/**
 * RSAES-OAEP encryption (MGF1 with the same hash).
 *
 * @example
 * ```ts
 * const wrapped = rsaOaepEncrypt(publicKey, 'sha256', cek);
 * ```
 */
export function rsaOaepEncrypt(key: KeyObject, hash: OaepHash, data: Uint8Array, label?: Uint8Array): Buffer {
  return publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash, ...(label ? { oaepLabel: label } : {}) }, data);
}

/**
 * RSAES-OAEP decryption. Returns undefined on any failure, so that callers
 * can follow RFC 7516 §11.5 (go on with a random CEK and fail later, at the
 * content tag, exactly like any other authentication failure).
 *
 * @example
 * ```ts
 * const cek = rsaOaepDecrypt(privateKey, 'sha256', wrapped) ?? randomBytes(32);
 * ```
 */
export function rsaOaepDecrypt(key: KeyObject, hash: OaepHash, data: Uint8Array, label?: Uint8Array): Buffer | undefined {
  try {
    return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash, ...(label ? { oaepLabel: label } : {}) }, data);
  } catch {
    return undefined;
  }
}
