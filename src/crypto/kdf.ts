import { pbkdf2Sync, scryptSync } from 'node:crypto';

/** scrypt parameters as recorded in an envelope's `kdf` member. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * Defaults for new envelopes: N = 2^15, r = 8, p = 1 (32 MiB, about 170 ms
 * on a 2-core EPYC; see README, "Passphrases").
 */
export const SCRYPT_DEFAULTS: Readonly<ScryptParams> = { N: 1 << 15, r: 8, p: 1 };

/** Largest costs decrypt accepts: a hostile envelope must not pin the CPU or memory. */
export const SCRYPT_MAX = { logN: 20, r: 16, p: 4, memory: 1024 * 1024 * 1024 } as const;

/**
 * Whether scrypt parameters are valid and within {@link SCRYPT_MAX}; returns
 * the reason when they are not.
 *
 * @example
 * ```ts
 * scryptParamsProblem({ N: 1 << 30, r: 8, p: 1 }); // 'N is above 2^20'
 * ```
 */
export function scryptParamsProblem(q: ScryptParams): string | undefined {
  const { N, r, p } = q;
  if (!Number.isSafeInteger(N) || N < 2 || (N & (N - 1)) !== 0) return 'N must be a power of 2';
  if (N > 2 ** SCRYPT_MAX.logN) return `N is above 2^${SCRYPT_MAX.logN}`;
  if (!Number.isSafeInteger(r) || r < 1) return 'r must be a positive integer';
  if (r > SCRYPT_MAX.r) return `r is above ${SCRYPT_MAX.r}`;
  if (!Number.isSafeInteger(p) || p < 1) return 'p must be a positive integer';
  if (p > SCRYPT_MAX.p) return `p is above ${SCRYPT_MAX.p}`;
  if (128 * N * r > SCRYPT_MAX.memory) return 'N × r needs more than 1 GiB of memory';
  return undefined;
}

/**
 * Derive a key from a passphrase with scrypt (RFC 7914).
 *
 * @example
 * ```ts
 * const key = scryptKey(Buffer.from('pass'), salt, 32, SCRYPT_DEFAULTS);
 * ```
 */
export function scryptKey(passphrase: Uint8Array, salt: Uint8Array, length: number, q: ScryptParams): Buffer {
  return scryptSync(passphrase, salt, length, { N: q.N, r: q.r, p: q.p, maxmem: 128 * q.N * q.r + 16 * 1024 * 1024 });
}

/**
 * The PBES2 key-encryption key (RFC 7518 §4.8): PBKDF2 over the salt
 * `UTF8(alg) || 0x00 || p2s`.
 *
 * @example
 * ```ts
 * const kek = pbes2Kek('PBES2-HS256+A128KW', pass, p2s, 600000);
 * ```
 */
export function pbes2Kek(alg: 'PBES2-HS256+A128KW' | 'PBES2-HS384+A192KW' | 'PBES2-HS512+A256KW', passphrase: Uint8Array, p2s: Uint8Array, p2c: number): Buffer {
  const bits = Number(alg.slice(8, 11));
  const salt = Buffer.concat([Buffer.from(alg, 'utf8'), Buffer.from([0]), p2s]);
  return pbkdf2Sync(passphrase, salt, p2c, bits / 16, `sha${bits}`);
}
