import { open, specOf, type Sealed } from '../../crypto/aead.js';
import { defaultAlgForKeyLength, type Alg } from '../../crypto/algs.js';
import { scryptCostMs, scryptKey, scryptParamsProblem, type KdfBudget } from '../../crypto/kdf.js';
import { AmbiguousKeyError, AuthError, FormatError, KeyError, UsageError } from '../../errors.js';
import { keyId } from '../../keys/kid.js';
import type { Kdf } from '../envelope/codec.js';
import * as raw from '../raw/codec.js';

/** What every format's open and seal share: option checks, passphrase keys, trying a keyring's keys. */

export function toBytes(x: Uint8Array | string | undefined): Buffer | undefined {
  if (x === undefined) return undefined;
  return typeof x === 'string' ? Buffer.from(x, 'utf8') : Buffer.from(x);
}

export function pickAlg(key: Uint8Array, alg: Alg | undefined): Alg {
  if (alg) return alg;
  const a = defaultAlgForKeyLength(key.length);
  if (!a) throw new KeyError(`the key is ${key.length} bytes; no algorithm takes a key of that length`, 'ERR_KEY_LENGTH');
  return a;
}

/**
 * `--nonce-bytes` is for raw AES-GCM only: `wrong` names what it was given
 * with instead (an algorithm with a fixed IV, or another format), if any.
 */
export function checkNonceBytes(n: number | undefined, wrong: Alg | 'input' | 'output' | undefined, detected?: string): void {
  if (n === undefined) return;
  if (!(raw.RAW_GCM_NONCE_LENGTHS as readonly number[]).includes(n)) throw new UsageError(`--nonce-bytes takes 12 or 16, not ${n}`);
  if (wrong === 'input' || wrong === 'output') {
    const what = detected === 'json' ? 'an envelope, which records its own nonce' : detected === 'jwe' || detected === 'jwe-json' ? 'a JWE, whose "iv" is 12 bytes' : detected ? `a ${detected} document, whose tokens record their nonces` : undefined;
    throw new UsageError(`--nonce-bytes applies to raw AES-GCM ${wrong} (--format raw) and origin field values (--value-format origin)${what ? `; this input is ${what}: drop --nonce-bytes` : ''}`);
  }
  if (wrong) throw new UsageError(`--nonce-bytes sets an AES-GCM nonce; ${wrong} always uses a 16-byte IV`);
}

export function needAuthenticated(alg: Alg, what: string): void {
  if (!specOf(alg).authenticated) {
    throw new UsageError(`${alg} is unauthenticated and exists only for old services' raw base64(iv + ct); ${what} needs an authenticated algorithm (use --format raw for ${alg})`);
  }
}

/** Derive a passphrase key with scrypt, after the cost checks (per input, then the run's budget). */
export function kdfKey(passphrase: Uint8Array | undefined, kdf: Kdf, alg: Alg, budget: KdfBudget | undefined): Buffer {
  if (!passphrase) {
    throw new KeyError('this input is protected by a passphrase: pass --passphrase, --passphrase-env NAME or --passphrase-file FILE', 'ERR_KEY_MISSING');
  }
  const problem = scryptParamsProblem(kdf);
  if (problem) throw new FormatError(`refusing the input's scrypt cost: ${problem}`, 'ERR_KDF_COST');
  budget?.charge(scryptCostMs(kdf));
  return scryptKey(passphrase, kdf.salt, specOf(alg).keyLen, kdf);
}

export function kidsDiffer(named: string, given: string): string {
  return `the input names kid ${named}; the key given is kid ${given}`;
}

/** Open, turning a failure into the one AuthError with the kids' story. */
export function openWithKids(s: Sealed, key: Uint8Array, aad: Uint8Array | undefined, kid: string | undefined): Buffer {
  try {
    return open(s, key, aad);
  } catch (e) {
    if (e instanceof AuthError && kid !== undefined) throw new AuthError(`kid ${kid} matches, but the data was altered`);
    throw e;
  }
}

export interface Opened {
  plaintext: Buffer;
  alg: Alg;
  /** kid of the key that authenticated; none for passphrases and embedded keys. */
  kid: string | undefined;
  legacy?: boolean;
}

/**
 * Open an input that names no key under each candidate key in turn (a
 * keyring's, primary first), and return what exactly one of them opened:
 * none is the authentication error, two or more are refused (AES-GCM does
 * not commit to its key: SECURITY.md, "One key per ciphertext"). A
 * candidate that does not fit (a key error: wrong length for the algorithm)
 * is skipped; if none fits, the first one's error is thrown.
 */
export function eachCandidate<T extends { plaintext: Buffer }>(cands: Uint8Array[], open1: (k: Uint8Array) => T, why: string): T {
  const opened: { r: T; key: Uint8Array }[] = [];
  let firstKeyError: unknown;
  let tried = 0;
  for (const k of cands) {
    try {
      opened.push({ r: open1(k), key: k });
      tried++;
    } catch (e) {
      if (e instanceof AuthError) tried++;
      else if (e instanceof KeyError) firstKeyError ??= e;
      else throw e;
    }
  }
  if (opened.length > 1) {
    for (const o of opened) o.r.plaintext.fill(0);
    throw new AmbiguousKeyError(opened.map((o) => keyId(o.key)), 'kids');
  }
  if (opened.length === 1) return opened[0]!.r;
  if (tried === 0 && firstKeyError) throw firstKeyError;
  throw new AuthError(`${why}, and none of the keyring's ${tried} key${tried === 1 ? '' : 's'} that fit authenticated it`);
}
