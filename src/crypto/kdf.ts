import { pbkdf2Sync, scryptSync } from 'node:crypto';
import { FormatError, UsageError } from '../errors.js';

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

/**
 * What passphrase work costs, in estimated milliseconds on the reference
 * machine (a 2-core AMD EPYC, measured: scrypt about 125 ms per 2^18 of
 * N·r·p; PBKDF2 about 0.45 µs per iteration with SHA-256 and 1.1 µs with
 * SHA-384 or SHA-512). Limits are checked on these estimates before any
 * work is done, so they are deterministic.
 */
export const KDF_COST = { scryptMsPer2p18: 125, pbkdf2MsPerIteration: { sha256: 0.00045, sha384: 0.0011, sha512: 0.0011 } } as const;

/** The most passphrase work one input may ask for: about 2 s. */
export const KDF_INPUT_CAP_MS = 2000;

/** Largest scrypt costs accepted: N·r·p up to 2^22 (about 2 s here) and 256 MiB of memory. */
export const SCRYPT_MAX = { nrp: 2 ** 22, memory: 256 * 1024 * 1024 } as const;

/** Estimated milliseconds of one scrypt derivation. */
export function scryptCostMs(q: ScryptParams): number {
  return ((q.N * q.r * q.p) / 2 ** 18) * KDF_COST.scryptMsPer2p18;
}

/** Estimated milliseconds of one PBKDF2 derivation. */
export function pbkdf2CostMs(hash: 'sha256' | 'sha384' | 'sha512', iterations: number): number {
  return iterations * KDF_COST.pbkdf2MsPerIteration[hash];
}

/**
 * Whether scrypt parameters are valid and within {@link SCRYPT_MAX}; returns
 * the reason when they are not.
 *
 * @example
 * ```ts
 * scryptParamsProblem({ N: 1 << 20, r: 8, p: 4 }); // 'N·r·p is 2^25, above 2^22 (about 2 s)'
 * ```
 */
export function scryptParamsProblem(q: ScryptParams): string | undefined {
  const { N, r, p } = q;
  if (!Number.isSafeInteger(N) || N < 2 || N > 2 ** 40 || (N & (N - 1)) !== 0) return 'N must be a power of 2';
  if (!Number.isSafeInteger(r) || r < 1) return 'r must be a positive integer';
  if (!Number.isSafeInteger(p) || p < 1) return 'p must be a positive integer';
  const nrp = N * r * p;
  if (nrp > SCRYPT_MAX.nrp) return `N·r·p is ${Number.isSafeInteger(nrp) ? `about 2^${Math.round(Math.log2(nrp))}` : 'huge'}, above 2^22 (about 2 s)`;
  if (128 * N * r > SCRYPT_MAX.memory) return 'N × r needs more than 256 MiB of memory';
  return undefined;
}

/** The environment variable that sets a run's budget of passphrase work, in seconds. */
export const KDF_BUDGET_ENV = 'AES_PAYLOAD_KDF_BUDGET';
export const KDF_BUDGET_DEFAULT_S = 60;

/**
 * A run's total budget of passphrase work (line mode and multi-file verify
 * add up many inputs). {@link KdfBudget.charge} throws before work that
 * would go over it.
 *
 * @example
 * ```ts
 * const budget = KdfBudget.fromEnv(process.env);
 * budget.charge(scryptCostMs(params)); // throws ERR_KDF_BUDGET when over
 * ```
 */
export class KdfBudget {
  private spent = 0;
  constructor(readonly totalMs: number) {}

  static fromEnv(env: NodeJS.ProcessEnv): KdfBudget {
    const v = env[KDF_BUDGET_ENV];
    if (v === undefined || v === '') return new KdfBudget(KDF_BUDGET_DEFAULT_S * 1000);
    const s = Number(v);
    if (!Number.isFinite(s) || s < 0) throw new UsageError(`${KDF_BUDGET_ENV} must be a number of seconds`);
    return new KdfBudget(s * 1000);
  }

  charge(ms: number): void {
    if (this.spent + ms > this.totalMs) {
      throw new FormatError(
        `refusing more passphrase work: this run is over its budget of ${this.totalMs / 1000} s of key derivation (set ${KDF_BUDGET_ENV}=SECONDS to allow more)`,
        'ERR_KDF_BUDGET',
      );
    }
    this.spent += ms;
  }
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
