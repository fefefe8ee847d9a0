import { checkKeyLength, specOf } from '../../crypto/aead.js';
import { KeyError, UsageError } from '../../errors.js';
import { secretFor, type Keys } from '../../keys/model.js';
import type { DecryptOptions, DecryptResult } from '../../ops/types.js';
import { checkNonceBytes, pickAlg } from '../common/open.js';
import { checkOriginAlg, decryptOriginFields } from './origin.js';

/** `--fields PATHS --value-format origin`: the FX peers' values, chosen by the user, never detected. */
export function decryptOrigin(text: string, keys: Keys, opts: DecryptOptions): DecryptResult {
  if (!opts.fields) throw new UsageError('--value-format origin needs --fields: the values carry no marker, so the paths say where they are');
  if (opts.format !== undefined && opts.format !== 'auto' && opts.format !== 'json' && opts.format !== 'fields') {
    throw new UsageError('--value-format origin reads JSON documents');
  }
  if (opts.aad !== undefined || opts.embeddedKey || opts.allowLegacy) throw new UsageError('--value-format origin takes none of --aad, --embedded-key, --allow-legacy');
  if (keys.rsa || keys.passphrase || keys.kek) {
    if (!keys.secret && !keys.ring) throw new KeyError('--value-format origin needs a symmetric key or a keyring', 'ERR_KEY_TYPE');
  }
  const primary = secretFor(keys, undefined);
  if (!primary) throw new KeyError('no key given', 'ERR_KEY_MISSING');
  const alg = pickAlg(primary, opts.alg);
  checkOriginAlg(alg);
  checkKeyLength(alg, primary);
  const spec = specOf(alg);
  checkNonceBytes(opts.nonceBytes, spec.kind === 'gcm' ? undefined : alg);
  // Values name no kid: a keyring's keys are all tried for GCM; plain CBC uses the primary only (padding is no proof).
  const candidates = keys.ring && spec.kind === 'gcm' ? [primary, ...[...keys.ring.keys.values()].filter((k) => k !== primary && k.length === spec.keyLen)] : [primary];
  const r = decryptOriginFields(text, candidates, {
    paths: opts.fields,
    alg,
    allowMissing: Boolean(opts.allowMissing),
    allowPlaintext: Boolean(opts.allowPlaintext),
    ...(opts.nonceBytes ? { nonceBytes: opts.nonceBytes } : {}),
    ...(!opts.alg && spec.kind === 'gcm' ? { cbcHint: `A${spec.keyLen * 8}CBC` } : {}),
  });
  return { plaintext: Buffer.from(r.text, 'utf8'), alg, format: 'fields', fields: r.decrypted };
}
