import { hkdfSync } from 'node:crypto';

/**
 * The purpose labels of the keys that the native formats derive from the
 * user's key (docs/FORMAT.md §2.1). Each format uses only its own derived
 * key, so no ciphertext of one native format opens as another.
 */
export const LABELS = {
  envelope: 'aes-payload v2 envelope',
  token: 'aes-payload v2 field token',
  documentMac: 'aes-payload v2 document mac',
} as const;
export type Label = keyof typeof LABELS;

// Line mode derives the same subkey for every record: keep the last few
// (keyed by the key's bytes and the label). The cache holds copies.
const cache = new Map<string, Buffer>();

/**
 * HKDF-SHA-256 (RFC 5869) of `key` with an empty salt and the label's ASCII
 * bytes as info, `length` bytes long (default: the key's length).
 *
 * @example
 * ```ts
 * const ke = subkey(userKey, 'envelope'); // 32 bytes for a 32-byte key
 * ```
 */
export function subkey(key: Uint8Array, label: Label, length = key.length): Buffer {
  const id = `${label}:${length}:${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64')}`;
  let k = cache.get(id);
  if (!k) {
    k = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), Buffer.from(LABELS[label], 'ascii'), length));
    if (cache.size >= 8) cache.delete(cache.keys().next().value!);
    cache.set(id, k);
  }
  return Buffer.from(k); // a copy: callers may wipe what they get
}
