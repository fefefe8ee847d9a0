import { open, specOf } from '../../crypto/aead.js';
import type { Alg } from '../../crypto/algs.js';
import { KDF_INPUT_CAP_MS, type KdfBudget } from '../../crypto/kdf.js';
import { AmbiguousKeyError, AuthError, FormatError, KeyError, UsageError, shown } from '../../errors.js';
import { b64urlEncode } from '../common/base64.js';
import * as codec from './codec.js';
import { keyId } from '../../keys/kid.js';
import { rsaThumbprint } from '../../keys/structured.js';
import type { JweEnc, JweWrap } from './algs.js';
import { checkHeader } from './header.js';
import { keyKind, wrapTakes, type JweKeys } from './keys.js';
import { pbes2Cost, unwrapCek } from './unwrap.js';

/** Default cap on the inflated size of a `zip: "DEF"` payload. */
export const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

/** What {@link jweDecrypt} accepts. */
export interface JweDecryptOptions {
  /** When given, every `alg` and `enc` must be in this set. */
  allowAlg?: ReadonlySet<string>;
  /** Cap on the inflated size of `zip: "DEF"` payloads (default 64 MiB). */
  maxInflated?: number;
  /** Overrides the JSON serialization's `aad` member. */
  aad?: Uint8Array;
  /** A run's budget of passphrase work (PBES2), shared with other inputs. */
  kdfBudget?: KdfBudget;
}

/** The plaintext, and the algorithms, kid and serialization it came with. */
export interface JweDecryptResult {
  plaintext: Buffer;
  enc: JweEnc;
  wrap: JweWrap;
  kid: string | undefined;
  serialization: codec.Jwe['serialization'];
}

function inflate(data: Buffer, cap: number): Buffer {
  try {
    // Loaded only here: node:zlib costs start-up time for every other command.
    return process.getBuiltinModule('node:zlib').inflateRawSync(data, { maxOutputLength: cap });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new FormatError(`JWE "zip" payload inflates beyond the cap of ${cap} bytes`, 'ERR_JWE_ZIP');
    }
    throw new FormatError('JWE "zip" payload is not valid DEFLATE data', 'ERR_JWE_ZIP');
  }
}

/**
 * Decrypt a JWE in any serialization. With several recipients, every one
 * the key can take is tried (those whose `kid` matches the key first); two
 * that open the content to different plaintexts are refused
 * ({@link AmbiguousKeyError}). Plaintext is returned only after the content
 * tag verifies.
 *
 * @example
 * ```ts
 * const { plaintext, enc, wrap } = jweDecrypt(text, { rsa: privateKey });
 * ```
 */
export function jweDecrypt(text: string, keys: JweKeys, opts: JweDecryptOptions = {}): JweDecryptResult {
  const jwe = codec.decode(text);
  const myKids = new Set<string>();
  if (keys.secret) myKids.add(keyId(keys.secret));
  if (keys.rsa) myKids.add(rsaThumbprint(keys.rsa));
  const checked = jwe.recipients.map((r) => ({ r, c: checkHeader(jwe, r, opts) }));
  // Only recipients whose key management takes the kind of key given are tried, those naming its kid first.
  const fits = checked.filter((x) => wrapTakes(x.c.wrap, keys));
  if (!fits.length) {
    if (checked.length === 1) unwrapCek(checked[0]!.c, checked[0]!.r, keys); // throws the precise key error
    throw new KeyError(`none of this JWE's ${checked.length} recipients takes ${keyKind(keys)}`, 'ERR_KEY_TYPE');
  }
  const order = [...fits.filter((x) => x.c.kid && myKids.has(x.c.kid)), ...fits.filter((x) => !(x.c.kid && myKids.has(x.c.kid)))];
  const pbes2 = order.reduce((ms, x) => ms + pbes2Cost(x.c), 0);
  if (pbes2 > KDF_INPUT_CAP_MS) {
    throw new FormatError(`refusing the JWE's PBES2 work: its recipients ask for about ${(pbes2 / 1000).toFixed(1)} s of key derivation, over the ${KDF_INPUT_CAP_MS / 1000} s an input may cost`, 'ERR_KDF_COST');
  }
  const aad = opts.aad ? Buffer.from(opts.aad) : undefined;
  const aadB64 = aad ? b64urlEncode(aad) : jwe.aadB64;
  if (jwe.serialization === 'compact' && aad) throw new UsageError('a compact JWE carries no AAD; drop --aad');
  let keyProblem: KeyError | undefined;
  let sawAuthFailure = false;
  // Every recipient the key takes is tried, not only the first that works: with AES-GCM content, two
  // recipients' content keys can both open one ciphertext to different plaintexts, and that is refused.
  let found: { pt: Buffer; c: (typeof order)[number]['c'] } | undefined;
  for (const { r, c } of order) {
    let cek: Buffer;
    try {
      if (c.wrap.startsWith('PBES2')) opts.kdfBudget?.charge(pbes2Cost(c));
      cek = unwrapCek(c, r, keys);
    } catch (e) {
      if (e instanceof KeyError && order.length > 1) {
        keyProblem ??= e;
        continue;
      }
      if (e instanceof AuthError && order.length > 1) {
        sawAuthFailure = true;
        continue;
      }
      if (e instanceof AuthError) throw new AuthError(kidStory(order.map((x) => x.c.kid), myKids));
      throw e;
    }
    const sealed = { alg: c.enc as Alg, nonce: jwe.iv, ciphertext: jwe.ciphertext, tag: jwe.tag };
    const spec = specOf(c.enc);
    if (jwe.iv.length !== spec.nonceLen) {
      cek.fill(0);
      throw new FormatError(`JWE iv must be ${spec.nonceLen} bytes for ${c.enc}`, 'ERR_JWE');
    }
    let pt: Buffer;
    try {
      pt = open(sealed, cek, codec.contentAad(jwe.protectedB64, aadB64));
    } catch (e) {
      if (e instanceof AuthError && order.length > 1) {
        sawAuthFailure = true;
        continue;
      }
      if (e instanceof AuthError) throw new AuthError(kidStory(order.map((x) => x.c.kid), myKids));
      throw e;
    } finally {
      cek.fill(0);
    }
    if (!found) {
      found = { pt, c };
      continue;
    }
    const same = pt.equals(found.pt);
    pt.fill(0);
    if (!same) {
      found.pt.fill(0);
      throw new AmbiguousKeyError([found.c.kid, c.kid].filter((k): k is string => k !== undefined).map((k) => shown(k)), 'recipients');
    }
  }
  if (found) {
    let pt = found.pt;
    const c = found.c;
    if (c.zip) {
      const inflated = inflate(pt, opts.maxInflated ?? MAX_INFLATED_BYTES);
      pt.fill(0);
      pt = inflated;
    }
    return { plaintext: pt, enc: c.enc, wrap: c.wrap, kid: c.kid, serialization: jwe.serialization };
  }
  if (keyProblem && !sawAuthFailure) throw keyProblem;
  throw new AuthError(kidStory(order.map((x) => x.c.kid), myKids));
}

/** The kids part of an authentication failure (kids are public; nothing here depends on which check failed). */
function kidStory(named: (string | undefined)[], mine: Set<string>): string | undefined {
  const kids = [...new Set(named.filter((k): k is string => k !== undefined))];
  if (!mine.size || !kids.length) return undefined;
  const match = kids.find((k) => mine.has(k));
  if (match) return `kid ${shown(match)} matches, but the data was altered`;
  return `the input names kid ${kids.slice(0, 3).map((k) => shown(k)).join(', ')}${kids.length > 3 ? ', …' : ''}; the key given is kid ${[...mine][0]}`;
}
