/** Armored streams in a request body: small, so decrypted whole. */
import { KeyError } from '../errors.js';
import type { Keys } from '../ops/index.js';
import { ArmorReader } from '../formats/stream/armor.js';
import { decryptStream } from '../formats/stream/pipeline.js';

/** Armored streams fit in a JSON string: decrypt them whole (bodies are small). */
export async function decryptArmor(text: string, keys: Keys): Promise<{ plaintext: Buffer; kid: string }> {
  const data = Buffer.from(text, 'utf8');
  let at = 0;
  const src = { read: (b: Buffer) => { const n = data.copy(b, 0, at); at += n; return n; } };
  const parts: Buffer[] = [];
  let written = 0;
  const sink = { write: async (b: Uint8Array) => { parts.push(Buffer.from(b)); written += b.length; }, commit() {}, abort() {}, get written() { return written; } };
  const key = (kid: string) => {
    const k = keys.ring ? keys.ring.keys.get(kid) : keys.secret;
    if (!k) throw new KeyError(keys.ring ? `kid ${kid} is not in the keyring` : 'the server has no symmetric key', 'ERR_KID_UNKNOWN');
    return Buffer.from(k);
  };
  const r = await decryptStream(new ArmorReader(src), sink, key);
  return { plaintext: Buffer.concat(parts), kid: r.kid };
}

