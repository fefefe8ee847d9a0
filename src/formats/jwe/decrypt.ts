import { FormatError, UsageError } from '../../errors.js';
import { ringKey } from '../../keys/keyring.js';
import type { Keys } from '../../keys/model.js';
import type { DecryptOptions, DecryptResult } from '../../ops/types.js';
import { eachCandidate, toBytes } from '../common/open.js';
import * as jweCodec from './codec.js';
import { jweDecrypt } from './jweDecrypt.js';

export function decryptJwe(text: string, keys: Keys, opts: DecryptOptions, format: 'jwe' | 'jwe-json'): DecryptResult {
  const kind = jweCodec.detect(text);
  if ((format === 'jwe' && kind !== 'compact') || (format === 'jwe-json' && kind !== 'json')) {
    throw new FormatError(`input is not a ${format === 'jwe' ? 'compact' : 'JSON'} JWE`, 'ERR_JWE');
  }
  if (opts.embeddedKey) throw new UsageError('--embedded-key needs a JSON envelope');
  if (opts.alg) throw new UsageError('--alg does not apply to JWE input, which names its algorithms; use --allow-alg');
  const jweOpts = {
    ...(opts.allowAlg ? { allowAlg: opts.allowAlg } : {}),
    ...(opts.maxInflated !== undefined ? { maxInflated: opts.maxInflated } : {}),
    ...(opts.aad !== undefined ? { aad: toBytes(opts.aad)! } : {}),
    ...(opts.kdfBudget ? { kdfBudget: opts.kdfBudget } : {}),
  };
  let r: ReturnType<typeof jweDecrypt>;
  if (keys.ring) {
    // Pick the keyring's key by the kid the JWE names (any recipient). A JWE that names no kid is
    // tried under every key of the keyring, and refused when more than one opens it.
    const ring = keys.ring;
    const parsed = jweCodec.decode(text);
    const kids = parsed.recipients.map((r) => r.header?.kid ?? parsed.unprotected?.kid ?? parsed.protectedHeader.kid).filter((k): k is string => typeof k === 'string');
    const known = kids.find((k) => ring.keys.has(k));
    if (known !== undefined || kids.length) r = jweDecrypt(text, { ...keys, secret: ringKey(ring, known ?? kids[0]) }, jweOpts);
    else {
      const cands = [ring.keys.get(ring.primary)!, ...[...ring.keys.values()].filter((k) => k !== ring.keys.get(ring.primary))];
      r = eachCandidate(cands, (k) => jweDecrypt(text, { ...keys, secret: k }, jweOpts), 'the JWE names no kid');
    }
  } else r = jweDecrypt(text, keys, jweOpts);
  return { plaintext: r.plaintext, alg: r.enc, ...(r.kid !== undefined ? { kid: r.kid } : {}), format, wrap: r.wrap };
}
