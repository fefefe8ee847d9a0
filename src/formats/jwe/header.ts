import { FormatError, quote } from '../../errors.js';
import type * as codec from './codec.js';
import { isEnc, isWrap, type JweEnc, type JweWrap } from './algs.js';
import type { JweDecryptOptions } from './jweDecrypt.js';

/** The merged header of one recipient, checked (RFC 7516 §5.2 steps 3–5). */
export interface Checked {
  wrap: JweWrap;
  enc: JweEnc;
  kid: string | undefined;
  header: codec.Header;
  zip: boolean;
}

/** Merge and check one recipient's header: known `alg` and `enc`, `--allow-alg`, no `crit`, `zip` only DEF and protected. */
export function checkHeader(jwe: codec.Jwe, r: codec.JweRecipient, opts: JweDecryptOptions): Checked {
  const header: codec.Header = { ...jwe.protectedHeader };
  for (const part of [jwe.unprotected, r.header]) {
    if (!part) continue;
    for (const [k, v] of Object.entries(part)) {
      if (k in header) throw new FormatError(`JWE header parameter ${quote(k)} appears twice`, 'ERR_JWE');
      header[k] = v;
    }
  }
  const alg = header.alg;
  const enc = header.enc;
  if (typeof alg !== 'string') throw new FormatError('JWE header has no "alg"', 'ERR_JWE');
  if (typeof enc !== 'string') throw new FormatError('JWE header has no "enc"', 'ERR_JWE');
  if (alg === 'none') throw new FormatError('JWE "alg": "none" is refused', 'ERR_JWE_ALG');
  if (alg === 'RSA1_5') {
    throw new FormatError('JWE "alg": "RSA1_5" is refused: RSAES-PKCS1-v1_5 is open to padding-oracle attacks; use RSA-OAEP-256', 'ERR_JWE_ALG');
  }
  if (!isWrap(alg)) throw new FormatError(`unsupported JWE "alg": ${quote(alg)}`, 'ERR_JWE_ALG');
  if (!isEnc(enc)) throw new FormatError(`unsupported JWE "enc": ${quote(enc)}`, 'ERR_JWE_ALG');
  if (opts.allowAlg) {
    for (const a of [alg, enc]) {
      if (!opts.allowAlg.has(a)) throw new FormatError(`JWE algorithm ${a} is not in --allow-alg`, 'ERR_JWE_ALG');
    }
  }
  if (header.crit !== undefined) {
    const crit = header.crit;
    if (!Array.isArray(crit) || crit.length === 0 || crit.some((c) => typeof c !== 'string')) {
      throw new FormatError('JWE "crit" must be a non-empty array of names', 'ERR_JWE');
    }
    // aes-payload understands no extension parameters, so every crit entry is unknown.
    throw new FormatError(`JWE "crit" names parameters aes-payload does not understand: ${crit.slice(0, 4).map((c) => quote(c, 30)).join(', ')}${crit.length > 4 ? ', …' : ''}`, 'ERR_JWE_CRIT');
  }
  let zip = false;
  if (header.zip !== undefined) {
    if (header.zip !== 'DEF') throw new FormatError(`unsupported JWE "zip": ${quote(header.zip, 20)}`, 'ERR_JWE');
    if (jwe.protectedHeader.zip === undefined) throw new FormatError('JWE "zip" must be in the protected header', 'ERR_JWE');
    zip = true;
  }
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  return { wrap: alg, enc, kid, header, zip };
}
