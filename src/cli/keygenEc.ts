import { existsSync } from 'node:fs';
import { IOError } from '../errors.js';
import { checkUsage, KEYGEN } from './usage.js';
import { writeFileAtomic } from '../io/output.js';
import { ECDH_CURVES, ECDH_WRAPS, ecKeyPair, isEcdhWrap, type EcdhCurve, type EcdhWrap } from '../ops/keygen.js';
import type { Ui } from './ui.js';

export { ECDH_WRAPS, ECDH_CURVES, isEcdhWrap };

export interface EcKeygenFlags {
  alg: EcdhWrap;
  crv?: string;
  format?: 'pem' | 'jwk';
  output?: string;
  force?: boolean;
  bits?: string;
  encoding?: string;
  json?: boolean;
  env?: string;
  ini?: string;
}

/**
 * `keygen --alg ECDH-ES[+A*KW] --crv CRV -o FILE`: a key pair for JWE key
 * agreement. The private key goes to FILE (mode 0600, O_EXCL unless
 * --force), the public key to FILE.pub; PKCS#8/SPKI PEM by default, or JWKs
 * with `kid` (RFC 7638 thumbprint), `alg` and `use: "enc"`.
 */
export function keygenEc(o: EcKeygenFlags, ui: Ui): void {
  checkUsage(KEYGEN, 'ec', o);
  const output = o.output as string; // checked: needsOutput
  const crv = (o.crv ?? 'P-256') as EcdhCurve;
  const pubPath = `${output}.pub`;
  for (const p of [output, pubPath]) {
    if (existsSync(p) && !o.force) throw new IOError(`${p} already exists; use --force to replace it`, 'ERR_EXISTS');
  }
  const { priv, pub, kid } = ecKeyPair(o.alg, crv, o.format === 'jwk' ? 'jwk' : 'pem');
  writeFileAtomic(output, priv, { mode: 0o600, overwrite: Boolean(o.force) });
  writeFileAtomic(pubPath, pub, { mode: 0o644, overwrite: Boolean(o.force) });
  ui.line(`wrote ${o.alg} ${crv} private key to ${output} (mode 0600) and public key to ${pubPath}, kid ${kid}`);
  // ECDH-ES+A256KW is the default with an EC --recipient (README); other algs are named.
  ui.hint(`encrypt with: aes-payload encrypt --format jwe ${o.alg === 'ECDH-ES+A256KW' || o.alg === 'ECDH-ES' ? '' : `--wrap ${o.alg} `}--recipient ${pubPath}; decrypt with --key-file ${output}`);
}

