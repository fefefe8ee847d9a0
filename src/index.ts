/**
 * aes-payload library API: the same functions the CLI is built on.
 *
 * @example
 * ```ts
 * import { generateKey, encrypt, decrypt } from 'aes-payload';
 * const { key } = generateKey();
 * const { text } = encrypt('{"a":1}', key);
 * decrypt(text, key).plaintext.toString(); // '{"a":1}'
 * ```
 */
export { encrypt, decrypt, verify, generateKey } from './payload.js';
export type {
  EncryptOptions,
  EncryptResult,
  DecryptOptions,
  DecryptResult,
  VerifyResult,
  EncryptFormat,
  DecryptFormat,
} from './payload.js';
export { keyId } from './keys/kid.js';
export { decodeKey, encodeKey, KEY_ENCODINGS, type KeyEncoding } from './keys/decode.js';
export { resolveKey, DEFAULT_KEY_ENV, type KeySource, type KeyContext, type ResolvedKey } from './keys/resolve.js';
export { ALGS, isAlg, algSpec, defaultAlgForKeyLength, type Alg, type AlgSpec } from './crypto/algs.js';
export {
  AesPayloadError,
  AuthError,
  UsageError,
  KeyError,
  FormatError,
  IOError,
  InterruptedError,
  EXIT,
  AUTH_FAILED_MESSAGE,
  type ExitCode,
} from './errors.js';
