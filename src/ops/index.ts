/**
 * The operations: small functions over the format registry
 * (src/formats/index.ts) and the key model (src/keys/model.ts). The CLI,
 * the service and the library call these, never a format's insides.
 */
export { encrypt, generateKey } from './encrypt.js';
export { decrypt } from './decrypt.js';
export { verify } from './verify.js';
export { lineFastPath } from './lineFastPath.js';
export { detectFormat, inputKid } from '../formats/index.js';
export { keyForKid, type KeyArg, type Keys } from '../keys/model.js';
export * from './types.js';

// The names the CLI offers and checks (commander's .choices(), --allow-alg), and the algorithm table.
export { ALGS, algSpec, defaultAlgForKeyLength, type Alg } from '../crypto/algs.js';
export { checkKeyLength } from '../crypto/aead.js';
export { JWE_WRAPS, isJweAlgName, type JweWrap } from '../formats/jwe/jwe.js';
export type { RawNonceLength } from '../formats/raw/codec.js';
