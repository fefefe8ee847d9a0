import { createCipheriv, createDecipheriv } from 'node:crypto';

const TAG = 16;

/** ChaCha20-Poly1305 (RFC 8439) seal: ciphertext ‖ tag. */
export function chachaSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
  const ct = c.update(plaintext);
  c.final();
  return Buffer.concat([ct, c.getAuthTag()]);
}

/** ChaCha20-Poly1305 open, or undefined when the tag does not verify (nothing is released). */
export function chachaOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < TAG) return undefined;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  const pt = d.update(sealed.subarray(0, sealed.length - TAG));
  try {
    d.final();
  } catch {
    pt.fill(0);
    return undefined;
  }
  return pt;
}

export const ZERO_NONCE = Buffer.alloc(12);
/** File keys are 16 bytes; a wrapped one is 32 (key ‖ tag). */
export const FILE_KEY_BYTES = 16;
export const WRAPPED_BYTES = FILE_KEY_BYTES + TAG;
