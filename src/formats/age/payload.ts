import { hkdfSync, randomBytes } from 'node:crypto';
import { chachaOpen, chachaSeal } from './aead.js';
import { AgeAuthError } from './header.js';
import type { SyncReader } from './reader.js';

/**
 * age's payload (C2SP age.md, "Payload"): a 16-byte nonce, then STREAM:
 * 64 KiB chunks sealed with ChaCha20-Poly1305 under
 * HKDF-SHA-256(file key, nonce, "payload"), chunk nonce = 11-byte big-endian
 * counter ‖ 0x01 for the last chunk, 0x00 before. The last chunk may be short
 * and is empty only when the whole payload is.
 *
 * Decryption releases a chunk only once its tag verifies (age's per-chunk
 * guarantee, the same as our own stream format): a truncated or tampered
 * file stops with an error after the chunks that did verify, so consumers
 * must treat output as incomplete until the exit status says success.
 */
export const CHUNK = 64 * 1024;
const TAG = 16;
const ENC_CHUNK = CHUNK + TAG;
export const PAYLOAD_NONCE_BYTES = 16;

export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));
}

function chunkNonce(counter: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  // 2^53 chunks are far beyond any file; the counter's high bytes stay zero.
  n.writeUIntBE(Math.floor(counter / 2 ** 40), 0, 6);
  n.writeUIntBE(counter % 2 ** 40, 6, 5);
  n[11] = last ? 1 : 0;
  return n;
}

/** Where plaintext or ciphertext goes, in order. */
export type Emit = (b: Buffer) => void | Promise<void>;

/**
 * Encrypt everything `src` yields into `emit`: the nonce, then the chunks.
 * Memory: two chunks.
 */
export async function sealPayload(fileKey: Uint8Array, src: SyncReader, emit: Emit, onProgress?: (n: number) => void): Promise<number> {
  const nonce = randomBytes(PAYLOAD_NONCE_BYTES);
  const key = payloadKey(fileKey, nonce);
  await emit(nonce);
  let cur = Buffer.allocUnsafe(CHUNK);
  let next = Buffer.allocUnsafe(CHUNK);
  let n = src.read(cur);
  let counter = 0;
  let total = 0;
  for (;;) {
    // A full chunk is the last one only when nothing follows it.
    const m = n === CHUNK ? src.read(next) : 0;
    const last = m === 0;
    await emit(chachaSeal(key, chunkNonce(counter, last), cur.subarray(0, n)));
    total += n;
    onProgress?.(total);
    if (last) break;
    counter++;
    [cur, next] = [next, cur];
    n = m;
  }
  cur.fill(0);
  next.fill(0);
  key.fill(0);
  return total;
}

/**
 * Decrypt the payload after its nonce from `src` into `emit`, chunk by
 * chunk, each only after its tag verifies. Throws {@link AgeAuthError}
 * (stage "payload") for a bad tag, a missing final chunk, an empty final
 * chunk after data, or bytes after the final chunk. Memory: one chunk.
 */
export async function openPayload(fileKey: Uint8Array, nonce: Uint8Array, src: SyncReader, emit: Emit, onProgress?: (n: number) => void): Promise<number> {
  const key = payloadKey(fileKey, nonce);
  const buf = Buffer.allocUnsafe(ENC_CHUNK);
  let counter = 0;
  let total = 0;
  try {
    for (;;) {
      // As age's reference reader: a short read is the last chunk; a full
      // one is tried as a middle chunk, then as a full-length last chunk.
      const n = src.read(buf);
      if (n === 0) throw new AgeAuthError('payload'); // no final chunk: truncated
      let last = n < ENC_CHUNK;
      if (last && n === TAG && counter > 0) throw new AgeAuthError('payload'); // an empty last chunk after data
      const sealed = buf.subarray(0, n);
      let pt = chachaOpen(key, chunkNonce(counter, last), sealed);
      if (!pt && !last) {
        last = true;
        pt = chachaOpen(key, chunkNonce(counter, true), sealed);
      }
      if (!pt) throw new AgeAuthError('payload');
      await emit(pt);
      total += pt.length;
      onProgress?.(total);
      if (last) {
        if (src.read(Buffer.alloc(1)) !== 0) throw new AgeAuthError('payload'); // data after the last chunk
        return total;
      }
      counter++;
    }
  } finally {
    key.fill(0);
  }
}
