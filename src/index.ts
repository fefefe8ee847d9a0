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
export { encrypt, decrypt, verify, generateKey, keyForKid } from './ops/index.js';
export type {
  Keys,
  KeyArg,
  EncryptOptions,
  EncryptResult,
  DecryptOptions,
  DecryptResult,
  VerifyResult,
  EncryptFormat,
  DecryptFormat,
  ValueFormat,
} from './ops/index.js';
export type { RawNonceLength } from './formats/raw/codec.js';
export { keyId } from './keys/kid.js';
export { decodeKey, encodeKey, KEY_ENCODINGS, type KeyEncoding } from './keys/decode.js';
export { resolveKey, resolveKeys } from './keys/resolve.js';
export { DEFAULT_KEY_ENV, DEFAULT_KEYRING_ENV, type KeySource, type KeyContext, type ResolvedKey, type ResolvedKeys } from './keys/source.js';
export { parseKeyring, ringKey, type Keyring } from './keys/keyring.js';
export { parseStructuredKey, rsaThumbprint } from './keys/structured.js';
export { jweEncrypt } from './formats/jwe/jweEncrypt.js';
export { jweDecrypt } from './formats/jwe/jweDecrypt.js';
export { JWE_WRAPS, JWE_ENCS, type JweWrap, type JweEnc } from './formats/jwe/algs.js';
export type { JweKeys } from './formats/jwe/keys.js';
export { encryptFields, type FieldsEncryptOptions } from './formats/fields/encryptFields.js';
export { decryptFields, type FieldsDecryptOptions } from './formats/fields/decryptFields.js';
export { checkFields } from './formats/fields/checkFields.js';
export { rotateFields } from './formats/fields/rotateFields.js';
export type { FieldsKey, KeyForKid } from './formats/fields/jsonDoc.js';
export { parsePaths, type FieldPath } from './formats/fields/paths.js';
export { encryptStream, decryptStream, type StreamOptions, type StreamResult } from './formats/stream/pipeline.js';
export { fileSink, stdoutSink, type Sink } from './formats/stream/sink.js';
export { Source } from './io/source.js';
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
