import { defaultAlgForKeyLength, type Alg } from '../crypto/algs.js';
import { subkey } from '../crypto/derive.js';
import type { FastSpec } from '../io/lineWorkers.js';
import { keyId } from '../keys/kid.js';
import { toKeys, type KeyArg } from '../keys/model.js';

/**
 * The parallel fast path line mode can take (src/io/lineWorkers.ts), when
 * the operation is the plain keyed envelope under one key: no fields, AAD,
 * passphrase, keyring, embedded key or JWE. Undefined otherwise, and then
 * every line takes the full path.
 *
 * @example
 * ```ts
 * lineFastPath('seal', key, {}); // { op: 'seal', alg: 'A256GCM', kid, key: <envelope key> }
 * ```
 */
export function lineFastPath(
  op: 'seal' | 'open',
  keyArg: KeyArg,
  opts: { alg?: Alg; aad?: unknown; format?: string; fields?: unknown; embedKey?: boolean; embeddedKey?: boolean; wrap?: unknown; kid?: string; nonceBytes?: number },
): FastSpec | undefined {
  const keys = toKeys(keyArg);
  const secret = keys.secret;
  if (!secret || keys.ring || keys.rsa || keys.passphrase || keys.recipients) return undefined;
  const alg = defaultAlgForKeyLength(secret.length);
  if (alg !== 'A128GCM' && alg !== 'A192GCM' && alg !== 'A256GCM') return undefined;
  if (opts.alg !== undefined && opts.alg !== alg) return undefined;
  if (opts.fields || opts.aad !== undefined || opts.embedKey || opts.embeddedKey || opts.wrap || opts.kid !== undefined || opts.nonceBytes !== undefined) return undefined;
  if (op === 'seal' ? (opts.format ?? 'json') !== 'json' : !['auto', 'json', undefined].includes(opts.format)) return undefined;
  return { op, alg, kid: keyId(secret), key: subkey(secret, 'envelope') };
}
