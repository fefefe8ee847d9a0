import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto';
import { b64encode, b64field, headerError } from './b64.js';
import { chachaOpen, chachaSeal, WRAPPED_BYTES, ZERO_NONCE } from './aead.js';
import type { Stanza } from './header.js';

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const LABEL = 'age-encryption.org/v1/X25519';

export function x25519Private(secret: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' });
}

export function x25519Public(pub: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
}

/** The raw 32-byte public key of a private key. */
export function x25519PublicOf(secret: Uint8Array): Buffer {
  const der = createPublicKey(x25519Private(secret)).export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - 32));
}

/** A fresh key pair as raw bytes. */
export function x25519Generate(): { secret: Buffer; pub: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const s = privateKey.export({ format: 'der', type: 'pkcs8' });
  const p = publicKey.export({ format: 'der', type: 'spki' });
  return { secret: Buffer.from(s.subarray(s.length - 32)), pub: Buffer.from(p.subarray(p.length - 32)) };
}

/**
 * X25519(secret, pub), or undefined when the result is all zeros (a
 * low-order or identity point, which age.md says to abort on).
 */
export function x25519Shared(secret: Uint8Array, pub: Uint8Array): Buffer | undefined {
  let ss: Buffer;
  try {
    ss = diffieHellman({ privateKey: x25519Private(secret), publicKey: x25519Public(pub) });
  } catch {
    return undefined; // OpenSSL refuses the all-zero output itself
  }
  return ss.every((b) => b === 0) ? undefined : ss;
}

function wrapKey(shared: Uint8Array, share: Uint8Array, recipient: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([share, recipient]), LABEL, 32));
}

/** An X25519 stanza wrapping `fileKey` to the 32-byte public key `recipient`. */
export function x25519Wrap(fileKey: Uint8Array, recipient: Uint8Array): Stanza {
  const eph = x25519Generate();
  const shared = x25519Shared(eph.secret, recipient);
  eph.secret.fill(0);
  if (!shared) throw headerError('the recipient is a low-order point');
  const body = chachaSeal(wrapKey(shared, eph.pub, recipient), ZERO_NONCE, fileKey);
  return { type: 'X25519', args: [b64encode(eph.pub)], body };
}

/**
 * Unwrap an X25519 stanza with identity `secret`: the file key, `undefined`
 * when the stanza is not ours (another type, or a tag that does not verify),
 * and a header error when it is malformed (age.md: argument count, a
 * canonical 32-byte share, a 32-byte body, a non-zero shared secret).
 */
export function x25519Unwrap(s: Stanza, secret: Uint8Array, pub: Uint8Array): Buffer | undefined {
  if (s.type !== 'X25519') return undefined;
  if (s.args.length !== 1) throw headerError('an X25519 stanza must have exactly one argument');
  const share = b64field(s.args[0]!, 'the X25519 share');
  if (share.length !== 32) throw headerError('the X25519 share is not 32 bytes');
  if (s.body.length !== WRAPPED_BYTES) throw headerError('an X25519 stanza body must be 32 bytes');
  const shared = x25519Shared(secret, share);
  if (!shared) throw headerError('the X25519 share is a low-order point');
  return chachaOpen(wrapKey(shared, share, pub), ZERO_NONCE, s.body);
}
