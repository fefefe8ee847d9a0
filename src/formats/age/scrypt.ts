import { randomBytes } from 'node:crypto';
import { b64encode, b64field, headerError } from './b64.js';
import { chachaOpen, chachaSeal, WRAPPED_BYTES, ZERO_NONCE } from './aead.js';
import type { Stanza } from './header.js';
import { KdfBudget, scryptCostMs, scryptKey, scryptParamsProblem } from '../../crypto/kdf.js';

const LABEL = 'age-encryption.org/v1/scrypt';
/** What we write: 2^18, as age does (256 MiB, about 1 s on the reference machine). */
export const AGE_SCRYPT_LOG_N = 18;
/**
 * The largest work factor we read: 2^18 with r = 8, the most our scrypt caps
 * allow (N·r·p ≤ 2^22 and 256 MiB, src/crypto/kdf.ts). age itself writes 18.
 */
export const AGE_SCRYPT_MAX_LOG_N = 18;

function derive(passphrase: Uint8Array, salt: Uint8Array, logN: number): Buffer {
  return scryptKey(passphrase, Buffer.concat([Buffer.from(LABEL), salt]), 32, { N: 2 ** logN, r: 8, p: 1 });
}

/** An scrypt stanza wrapping `fileKey` under a passphrase. */
export function scryptWrap(fileKey: Uint8Array, passphrase: Uint8Array, logN = AGE_SCRYPT_LOG_N): Stanza {
  const salt = randomBytes(16);
  const key = derive(passphrase, salt, logN);
  const body = chachaSeal(key, ZERO_NONCE, fileKey);
  key.fill(0);
  return { type: 'scrypt', args: [b64encode(salt), String(logN)], body };
}

/**
 * Unwrap an scrypt stanza with a passphrase: the file key, undefined for
 * another type or a wrong passphrase, a header error when malformed or
 * above our work-factor cap. The run's KDF budget is charged before any work.
 */
export function scryptUnwrap(s: Stanza, passphrase: Uint8Array, budget?: KdfBudget): Buffer | undefined {
  if (s.type !== 'scrypt') return undefined;
  if (s.args.length !== 2) throw headerError('an scrypt stanza must have exactly two arguments');
  const salt = b64field(s.args[0]!, 'the scrypt salt');
  if (salt.length !== 16) throw headerError('the scrypt salt is not 16 bytes');
  const w = s.args[1]!;
  if (!/^[1-9][0-9]*$/.test(w) || w.length > 2) throw headerError('the scrypt work factor is not a decimal number');
  const logN = Number(w);
  if (logN > AGE_SCRYPT_MAX_LOG_N) throw headerError(`the scrypt work factor 2^${logN} is above our limit of 2^${AGE_SCRYPT_MAX_LOG_N}`);
  const q = { N: 2 ** logN, r: 8, p: 1 };
  const problem = scryptParamsProblem(q);
  if (problem) throw headerError(`scrypt: ${problem}`);
  if (s.body.length !== WRAPPED_BYTES) throw headerError('an scrypt stanza body must be 32 bytes');
  budget?.charge(scryptCostMs(q));
  const key = derive(passphrase, salt, logN);
  const fk = chachaOpen(key, ZERO_NONCE, s.body);
  key.fill(0);
  return fk;
}
