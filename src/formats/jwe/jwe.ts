/**
 * JWE (RFC 7516, 7518): the names other modules import from here, each
 * defined in a file of its own, as in panva/jose:
 *
 * - `algs.ts`: the `alg` and `enc` values and the PBES2 counts;
 * - `keys.ts`: the keys an operation takes, and which each algorithm needs;
 * - `jweEncrypt.ts`: encrypt (one recipient, or several in the general JSON serialization);
 * - `header.ts`, `unwrap.ts`, `jweDecrypt.ts`: decrypt's header checks, key management, and decrypt;
 * - `codec.ts`: the serializations; `ecdhes.ts`: ECDH-ES.
 */
export { JWE_ENCS, JWE_WRAPS, P2C_DEFAULT, P2C_MAX, P2C_MIN, isJweAlgName, type JweEnc, type JweWrap } from './algs.js';
export type { JweKeys } from './keys.js';
export { jweEncrypt, type JweEncryptOptions } from './jweEncrypt.js';
export { MAX_INFLATED_BYTES, jweDecrypt, type JweDecryptOptions, type JweDecryptResult } from './jweDecrypt.js';
