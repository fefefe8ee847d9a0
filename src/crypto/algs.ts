/**
 * The content-encryption algorithms aes-payload supports, named as in JOSE
 * (RFC 7518). Plain `A*CBC` is not a JOSE name: it is unauthenticated CBC with
 * PKCS#7 padding, kept for compatibility with existing services.
 *
 * @example
 * ```ts
 * import { ALGS } from 'aes-payload';
 * ALGS.includes('A256GCM'); // true
 * ```
 */
export const ALGS = [
  'A128GCM',
  'A192GCM',
  'A256GCM',
  'A128CBC',
  'A192CBC',
  'A256CBC',
  'A128CBC-HS256',
  'A192CBC-HS384',
  'A256CBC-HS512',
] as const;

export type Alg = (typeof ALGS)[number];

export type AlgKind = 'gcm' | 'cbc' | 'cbc-hs';

export interface AlgSpec {
  readonly name: Alg;
  readonly kind: AlgKind;
  /** Total key length in bytes (for CBC-HS: MAC key plus encryption key). */
  readonly keyLen: number;
  /** Nonce or IV length in bytes that encryption writes. */
  readonly nonceLen: number;
  /** Authentication tag length in bytes (0 for plain CBC). */
  readonly tagLen: number;
  /** Whether the algorithm authenticates the ciphertext. */
  readonly authenticated: boolean;
  /** The HMAC hash for CBC-HS. */
  readonly hash?: 'sha256' | 'sha384' | 'sha512';
}

function spec(name: Alg): AlgSpec {
  const bits = Number(name.slice(1, 4));
  if (name.endsWith('GCM')) {
    return { name, kind: 'gcm', keyLen: bits / 8, nonceLen: 12, tagLen: 16, authenticated: true };
  }
  if (name.includes('-HS')) {
    const hash = `sha${name.slice(-3)}` as 'sha256' | 'sha384' | 'sha512';
    return { name, kind: 'cbc-hs', keyLen: bits / 4, nonceLen: 16, tagLen: bits / 8, authenticated: true, hash };
  }
  return { name, kind: 'cbc', keyLen: bits / 8, nonceLen: 16, tagLen: 0, authenticated: false };
}

const SPECS: ReadonlyMap<string, AlgSpec> = new Map(ALGS.map((a) => [a, spec(a)]));

/**
 * Look up an algorithm by its exact name; undefined when unknown.
 *
 * @example
 * ```ts
 * algSpec('A128CBC-HS256'); // { kind: 'cbc-hs', keyLen: 32, nonceLen: 16, tagLen: 16, … }
 * ```
 */
export function algSpec(name: string): AlgSpec | undefined {
  return SPECS.get(name);
}

/**
 * Whether a string names a supported algorithm.
 *
 * @example
 * ```ts
 * isAlg('A256GCM'); // true
 * isAlg('RSA1_5'); // false
 * ```
 */
export function isAlg(name: string): name is Alg {
  return SPECS.has(name);
}

const DEFAULTS: Readonly<Record<number, Alg>> = { 16: 'A128GCM', 24: 'A192GCM', 32: 'A256GCM', 48: 'A192CBC-HS384', 64: 'A256CBC-HS512' };

/**
 * The default algorithm for a key of `len` bytes: the AES-GCM variant of that
 * key size, or for 48- and 64-byte keys (which no GCM variant takes) the
 * CBC-HMAC variant of that size.
 *
 * @example
 * ```ts
 * defaultAlgForKeyLength(16); // 'A128GCM'
 * defaultAlgForKeyLength(64); // 'A256CBC-HS512'
 * ```
 */
export function defaultAlgForKeyLength(len: number): Alg | undefined {
  return DEFAULTS[len];
}

/**
 * `prefer` when it takes a key of `len` bytes, else the default for that
 * length (re-encryption under a new key keeps the algorithm when it can).
 *
 * @example
 * ```ts
 * algForKeyLength(32, 'A256CBC'); // 'A256CBC'
 * algForKeyLength(16, 'A256GCM'); // 'A128GCM'
 * ```
 */
export function algForKeyLength(len: number, prefer?: Alg): Alg | undefined {
  if (prefer && algSpec(prefer)?.keyLen === len) return prefer;
  return defaultAlgForKeyLength(len);
}
