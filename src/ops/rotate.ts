/**
 * `rotate`: one input re-encrypted under a new key. Reading goes through
 * decrypt (src/ops/decrypt.ts) with decrypt's options, so rotate refuses
 * exactly what decrypt refuses; writing through encrypt.
 */
import { specOf } from '../crypto/aead.js';
import { algForKeyLength, type Alg } from '../crypto/algs.js';
import { FormatError, KeyError, UsageError } from '../errors.js';
import * as envelope from '../formats/envelope/codec.js';
import { fieldCodec, isFieldFormat } from '../formats/fields/documents.js';
import * as jweCodec from '../formats/jwe/codec.js';
import { keyId } from '../keys/kid.js';
import { keyForKid, type Keys } from '../keys/model.js';
import { decrypt } from './decrypt.js';
import { encrypt } from './encrypt.js';
import { detectFormat } from '../formats/index.js';
import type { DecryptOptions } from './types.js';

/**
 * The algorithm to re-encrypt with: the old one when the new key fits it,
 * else the default for the new key. Envelopes are never plain CBC (version 2
 * is authenticated only), so a legacy CBC envelope comes out as GCM.
 */
function algFor(old: Alg | undefined, key: Uint8Array, authenticatedOnly: boolean): Alg {
  const a = algForKeyLength(key.length, old && (!authenticatedOnly || specOf(old).authenticated) ? old : undefined);
  if (!a) throw new KeyError(`the new key is ${key.length} bytes; no algorithm takes it`, 'ERR_KEY_LENGTH');
  return a;
}

export interface Rotated {
  text: string;
  format: string;
  from: string;
  /** Said to the person: an algorithm upgraded or kept. */
  note?: string;
}

/**
 * Re-encrypt one file's text under newKey. Reading goes through decrypt's
 * own path with decrypt's options (--alg, --allow-alg, --allow-legacy), so
 * rotate refuses exactly what decrypt refuses and cannot be an oracle.
 */
export function rotateText(text: string, old: Keys, newKey: Buffer, opts: DecryptOptions, file: string): Rotated {
  const newKid = keyId(newKey);
  const format = detectFormat(text, 'auto');
  if (isFieldFormat(format)) {
    const r = fieldCodec(format).rotate(text, keyForKid(old), { newKey, what: file, allowLegacy: Boolean(opts.allowLegacy) });
    return { text: r.text, format, from: r.oldKids.join(',') || newKid };
  }
  if (format === 'json') {
    const env = envelope.decode(text);
    if (env.key) throw new FormatError('the envelope carries its own key; there is nothing to rotate', 'ERR_EMBEDDED_KEY');
    if (env.version === 2 && env.kid === newKid) {
      decrypt(text, old, opts).plaintext.fill(0); // still authenticate it, as decrypt would
      return { text, format, from: newKid };
    }
  }
  const r = decrypt(text, old, { ...opts, format });
  try {
    if (format === 'jwe' || format === 'jwe-json') {
      if (r.wrap!.startsWith('RSA') || r.wrap!.startsWith('PBES2')) {
        throw new UsageError(`${r.wrap} JWEs are not rotated to a symmetric key; decrypt and encrypt them again`);
      }
      let wrap = r.wrap!;
      if (wrap !== 'dir' && Number(wrap.slice(1, 4)) / 8 !== newKey.length) wrap = (`A${newKey.length * 8}${wrap.endsWith('GCMKW') ? 'GCMKW' : 'KW'}` as typeof wrap);
      if (wrap === 'dir' && specOf(r.alg!).keyLen !== newKey.length) throw new KeyError(`the new key does not fit ${r.alg} with "dir"`, 'ERR_KEY_LENGTH');
      const jwe = jweCodec.decode(text);
      const e = encrypt(r.plaintext, newKey, { format, alg: r.alg!, wrap, ...(jwe.aadB64 !== undefined ? { aad: Buffer.from(jwe.aadB64, 'base64url') } : {}) });
      return { text: `${e.text}\n`, format, from: r.kid ?? '-' };
    }
    if (format === 'json') {
      const env = envelope.decode(text);
      const alg = algFor(r.alg, newKey, true);
      const e = encrypt(r.plaintext, newKey, { format: 'json', alg, ...(env.aad ? { aad: env.aad } : {}) });
      const note = r.alg && !specOf(r.alg).authenticated ? `upgraded from ${r.alg} (unauthenticated) to ${alg}` : r.legacy ? `upgraded to a version-2 envelope` : undefined;
      return { text: `${e.text}\n`, format, from: r.kid ?? env.kid ?? '-', ...(note ? { note } : {}) };
    }
    const alg = algFor(r.alg, newKey, false);
    const e = encrypt(r.plaintext, newKey, { format: 'raw', alg, ...(specOf(alg).kind === 'gcm' && opts.nonceBytes ? { nonceBytes: opts.nonceBytes } : {}) });
    const note = specOf(alg).authenticated ? undefined : `kept ${alg}, which is unauthenticated, because raw output is read by old services; prefer an authenticated format`;
    return { text: `${e.text}\n`, format: 'raw', from: r.kid ?? '-', ...(note ? { note } : {}) };
  } finally {
    r.plaintext.fill(0);
  }
}

