import { open, seal, specOf } from '../crypto/aead.js';
import { defaultAlgForKeyLength, type Alg } from '../crypto/algs.js';
import { subkey } from '../crypto/derive.js';
import { AuthError, KeyError } from '../errors.js';
import { b64decodeStrict } from '../formats/common/base64.js';
import * as envelope from '../formats/envelope/codec.js';
import * as jweCodec from '../formats/jwe/codec.js';
import * as raw from '../formats/raw/codec.js';
import { ARMOR_BEGIN } from '../formats/stream/codec.js';
import { isFieldFormat } from '../formats/fields/documents.js';
import { loadYamlFor } from '../formats/fields/yamlLoad.js';
import { keyId } from '../keys/kid.js';
import { decrypt, detectFormat, encrypt, type Keys } from '../ops/index.js';
import { decryptArmor } from './armor.js';
import type { Member } from './body.js';
import { HttpError } from './http.js';

// The JSON API's handlers, POST /v1/encrypt and /v1/decrypt (docs/SERVICE.md).

/** A key made ready once at start: its kid, and for the envelope its derived key and AAD head (no hashing or HKDF per request). */
interface ReadyKey {
  alg: Alg;
  kid: string;
  key: Uint8Array;
  envKey: Buffer;
  head: Buffer;
}

function ready(key: Uint8Array): ReadyKey | undefined {
  const alg = defaultAlgForKeyLength(key.length);
  if (!alg || !specOf(alg).authenticated) return undefined;
  const kid = keyId(key);
  return { alg, kid, key, envKey: subkey(key, 'envelope'), head: envelope.envelopeAad(alg, kid, undefined) };
}

/** The server's keys, made ready once at start: the primary (which encrypts) and every key by kid (which decrypt). */
export interface ServerKeys {
  keys: Keys | undefined;
  primary: ReadyKey | undefined;
  byKid: Map<string, ReadyKey>;
}

/** Make the server's keys ready (see {@link ServerKeys}). */
export function serverKeys(keys: Keys | undefined): ServerKeys {
  // The primary key encrypts; every key decrypts, found by kid.
  const primaryKey = keys?.ring ? keys.ring.keys.get(keys.ring.primary) : keys?.secret;
  const primary = primaryKey && !keys?.rsa ? ready(primaryKey) : undefined;
  const byKid = new Map<string, ReadyKey>();
  for (const k of keys?.ring ? keys.ring.keys.values() : keys?.secret ? [keys.secret] : []) {
    const r = ready(k);
    if (r) byKid.set(r.kid, r);
  }
  return { keys, primary, byKid };
}

/** The server's keys, or the error for a server with none. */
export function needKeys(k: ServerKeys): Keys {
  if (!k.keys) throw new KeyError('the server has no key configured', 'ERR_KEY_MISSING');
  return k.keys;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Per-request facts for the log line. */
export interface Meta {
  kid?: string;
}

/** POST /v1/encrypt: the envelope and raw formats under the primary key made ready, anything else through ops' encrypt. */
export function v1Encrypt(k: ServerKeys, m: Map<string, Member>, meta: Meta): string {
  const { primary } = k;
  const plaintext = m.get('plaintext');
  const b64 = m.get('plaintext_b64');
  if ((plaintext === undefined) === (b64 === undefined)) throw new HttpError(400, 'ERR_REQUEST', 'give exactly one of "plaintext" and "plaintext_b64"');
  const format = m.get('format')?.text() ?? 'json';
  if (format !== 'json' && format !== 'raw' && format !== 'jwe') throw new HttpError(400, 'ERR_REQUEST', '"format" must be json, raw or jwe');
  const aadM = m.get('aad');
  if (format === 'jwe' && aadM !== undefined) throw new HttpError(400, 'ERR_REQUEST', 'the compact JWE carries no "aad"');
  const pt = plaintext !== undefined ? plaintext.bytes() : b64decodeStrict(b64!.text(), '"plaintext_b64"');
  const aad = aadM?.bytes();
  let text: string;
  if (primary && format === 'json') {
    const s = seal(primary.alg, primary.envKey, pt, aad && aad.length ? Buffer.concat([primary.head, aad]) : primary.head);
    text = envelope.encode({ version: 2, alg: primary.alg, kid: primary.kid, nonce: s.nonce, data: s.ciphertext, mac: s.tag, ...(aad ? { aad } : {}) });
    meta.kid = primary.kid;
  } else if (primary && format === 'raw') {
    text = raw.encode(seal(primary.alg, primary.key, pt, aad));
    meta.kid = primary.kid;
  } else {
    const r = encrypt(pt, needKeys(k), { format, ...(aad !== undefined ? { aad } : {}) });
    text = r.text;
    if (r.kid) meta.kid = r.kid;
  }
  if (plaintext === undefined) pt.fill(0); // a decoded copy; a slice of the body is the body's
  return `{"ciphertext":${JSON.stringify(text)}}`;
}

/** POST /v1/decrypt: the canonical envelope under a key made ready, a stream's armor, or anything else through ops' decrypt (never a field document). */
export async function v1Decrypt(k: ServerKeys, m: Map<string, Member>, meta: Meta): Promise<string> {
  const { byKid } = k;
  const ct = m.get('ciphertext');
  if (ct === undefined) throw new HttpError(400, 'ERR_REQUEST', '"ciphertext" is missing');
  const text = ct.text();
  const aad = m.get('aad')?.bytes();
  const ks = needKeys(k);
  let plaintext: Buffer;
  const fast = envelope.decodeFast(text);
  const rk = fast ? byKid.get(fast.kid!) : undefined;
  if (fast && rk && rk.alg === fast.alg) {
    // The canonical envelope (no "aad" member) under a key of ours: parsed once, no kid hashing.
    try {
      plaintext = open({ alg: rk.alg, nonce: fast.nonce, ciphertext: fast.data, tag: fast.mac! }, rk.envKey, aad && aad.length ? Buffer.concat([rk.head, aad]) : rk.head);
    } catch (e) {
      if (e instanceof AuthError) throw new AuthError(`kid ${rk.kid} matches, but the data was altered`);
      throw e;
    }
    meta.kid = rk.kid;
  } else if (text.trimStart().startsWith(ARMOR_BEGIN)) {
    if (aad !== undefined) throw new HttpError(400, 'ERR_REQUEST', 'a stream takes no "aad"');
    const r = await decryptArmor(text, ks);
    plaintext = r.plaintext;
    meta.kid = r.kid;
  } else {
    await loadYamlFor(text); // a YAML field document is told apart only by the YAML parser
    const format = detectFormat(text, 'auto');
    if (isFieldFormat(format)) throw new HttpError(400, 'ERR_FIELD_DOCUMENT', 'field documents are not decrypted here (their MAC covers the whole document); decrypt them with the CLI');
    // What was sealed with an aad needs it given again (SERVICE.md), not taken from the ciphertext.
    const sealedAad = format === 'json' ? envelope.decode(text).aad !== undefined : format === 'jwe-json' ? jweCodec.decode(text).aadB64 !== undefined : false;
    if (sealedAad && aad === undefined) throw new HttpError(400, 'ERR_AAD', 'this ciphertext was sealed with additional authenticated data; give it again as "aad"');
    const r = decrypt(text, ks, { format, ...(aad !== undefined ? { aad } : {}) });
    plaintext = r.plaintext;
    if (r.kid) meta.kid = r.kid;
  }
  try {
    return `{"plaintext":${JSON.stringify(utf8.decode(plaintext))}}`;
  } catch {
    return `{"plaintext_b64":"${plaintext.toString('base64')}"}`;
  } finally {
    plaintext.fill(0);
  }
}
