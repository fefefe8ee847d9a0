import { isAlg } from '../../crypto/algs.js';
import { ECDH_WRAPS } from './ecdhes.js';

// The JWE algorithm names aes-payload reads and writes, and the PBES2 counts.

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

/** Whether a string is a key management algorithm aes-payload knows. */
export const isWrap = (s: string): s is JweWrap => (JWE_WRAPS as readonly string[]).includes(s);
/** Whether a string is a content encryption algorithm aes-payload knows. */
export const isEnc = (s: string): s is JweEnc => (JWE_ENCS as readonly string[]).includes(s);

/** Whether a string names a JWE algorithm (alg or enc) aes-payload knows. */
export function isJweAlgName(s: string): boolean {
  return isWrap(s) || isEnc(s) || isAlg(s);
}
