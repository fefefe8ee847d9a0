import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { AuthError } from '../errors.js';

/** Bytes of a GCM tag after each chunk. */
export const STREAM_TAG_LEN = 16;

/** The two keys of one stream, derived from the user's key and the header. */
export interface StreamKeys {
  payload: Buffer;
  mac: Buffer;
}

/**
 * Derive the per-file keys (docs/FORMAT.md §9.2): HKDF-SHA-256 with the
 * header's salt; the payload key's info also binds the header body.
 *
 * @example
 * ```ts
 * const { payload, mac } = streamKeys(key, salt, headerBody);
 * ```
 */
export function streamKeys(key: Uint8Array, salt: Uint8Array, headerBody: Uint8Array): StreamKeys {
  const payloadInfo = Buffer.concat([Buffer.from('aes-payload stream v1 payload', 'ascii'), headerBody]);
  return {
    payload: Buffer.from(hkdfSync('sha256', key, salt, payloadInfo, key.length)),
    mac: Buffer.from(hkdfSync('sha256', key, salt, Buffer.from('aes-payload stream v1 header', 'ascii'), 32)),
  };
}

/** HMAC-SHA-256 of the header body under the header key. */
export function headerMac(macKey: Uint8Array, headerBody: Uint8Array): Buffer {
  return createHmac('sha256', macKey).update(headerBody).digest();
}

/** Check a header MAC in constant time; any mismatch is the one {@link AuthError}. */
export function checkHeaderMac(macKey: Uint8Array, headerBody: Uint8Array, mac: Uint8Array): void {
  const want = headerMac(macKey, headerBody);
  if (mac.length !== want.length || !timingSafeEqual(want, mac)) throw new AuthError();
}

/** Plaintext bytes per `update()` call (see {@link processChunks}). */
export const UPDATE_BYTES = 16384;

/**
 * Seal or open a run of consecutive chunks of `data`, appending the output
 * to `parts`. Chunk `i` of the run has counter `counter + i`; its nonce is
 * the counter as 11 big-endian bytes followed by 0x01 for the final chunk of
 * the stream (index `lastIndex` of the run) and 0x00 for the others.
 * Returns the number of bytes appended, or `-(i + 1)` when chunk `i` fails
 * to authenticate (the opened bytes of chunk `i` are then removed from
 * `parts`; the caller drops the run).
 *
 * Each chunk goes through `update()` in pieces of {@link UPDATE_BYTES}, and
 * the pieces `update()` returns are the output (no copy): node:crypto
 * allocates every output, and outputs of 64 KiB, freed in bulk by a garbage
 * collection, made glibc give the memory back to the kernel and fault it in
 * again (94k page faults a GiB, against 16k with pieces of 16 KiB; README,
 * "Performance").
 *
 * node:crypto is a parameter and nothing outside is referenced, so that
 * worker threads run this very function from its source text.
 *
 * @example
 * ```ts
 * const parts: Uint8Array[] = [];
 * const n = processChunks(await import('node:crypto'), 'seal', key, 1 << 20, 0, 0, plaintext, parts);
 * ```
 */
export function processChunks(
  c: typeof import('node:crypto'),
  op: 'seal' | 'open',
  key: Uint8Array,
  chunkSize: number,
  counter: number,
  lastIndex: number,
  data: Uint8Array,
  parts: Uint8Array[],
): number {
  const tagLen = 16;
  const piece = 16384;
  const inSize = op === 'seal' ? chunkSize : chunkSize + tagLen;
  const n = Math.max(1, Math.ceil(data.length / inSize));
  const cipher = key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm';
  const nonce = new Uint8Array(12);
  let inOff = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    // 11-byte big-endian counter (at most 2^53 here) and the final flag.
    let v = counter + i;
    for (let b = 10; b >= 0; b--) {
      nonce[b] = v % 256;
      v = Math.floor(v / 256);
    }
    nonce[11] = i === lastIndex ? 1 : 0;
    const end = Math.min(inOff + inSize, data.length);
    if (op === 'seal') {
      const e = c.createCipheriv(cipher, key, nonce);
      for (let p = inOff; p < end; p += piece) parts.push(e.update(data.subarray(p, Math.min(p + piece, end))));
      e.final();
      parts.push(e.getAuthTag());
      total += end - inOff + tagLen;
    } else {
      if (end - inOff < tagLen) return -(i + 1);
      const mark = parts.length;
      const d = c.createDecipheriv(cipher, key, nonce);
      d.setAuthTag(data.subarray(end - tagLen, end));
      for (let p = inOff; p < end - tagLen; p += piece) parts.push(d.update(data.subarray(p, Math.min(p + piece, end - tagLen))));
      try {
        d.final();
      } catch {
        for (let k = mark; k < parts.length; k++) parts[k]!.fill(0);
        parts.length = mark;
        return -(i + 1);
      }
      total += end - inOff - tagLen;
    }
    inOff = end;
  }
  return total;
}
