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

/**
 * Seal or open a run of consecutive chunks from `data` into `out`. Chunk `i`
 * of the run has counter `counter + i`; its nonce is the counter as 11
 * big-endian bytes followed by 0x01 for the final chunk of the stream (index
 * `lastIndex`) and 0x00 for the others. Returns the number of bytes written
 * to `out`, or `-(i + 1)` when chunk `i` fails to authenticate (nothing of
 * it, or of later chunks, is then in `out`).
 *
 * node:crypto is a parameter, so that this stays a pure function of its
 * inputs (the stream pipeline calls it on the main thread).
 *
 * @example
 * ```ts
 * const n = processChunks(await import('node:crypto'), 'seal', key, 65536, 0, -1, plaintext, out);
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
  out: Uint8Array,
): number {
  const tagLen = 16;
  const inSize = op === 'seal' ? chunkSize : chunkSize + tagLen;
  const n = Math.max(1, Math.ceil(data.length / inSize));
  const cipher = key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm';
  const nonce = new Uint8Array(12);
  let inOff = 0;
  let outOff = 0;
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
      const ct = e.update(data.subarray(inOff, end));
      e.final();
      out.set(ct, outOff);
      out.set(e.getAuthTag(), outOff + ct.length);
      outOff += ct.length + tagLen;
    } else {
      if (end - inOff < tagLen) return -(i + 1);
      const d = c.createDecipheriv(cipher, key, nonce);
      d.setAuthTag(data.subarray(end - tagLen, end));
      const pt = d.update(data.subarray(inOff, end - tagLen));
      try {
        d.final();
      } catch {
        return -(i + 1);
      }
      out.set(pt, outOff);
      outOff += pt.length;
    }
    inOff = end;
  }
  return outOff;
}
