import { createHmac } from 'node:crypto';

/**
 * The parts of HPKE (RFC 9180) base mode that age's mlkem768x25519 stanza
 * uses: the key schedule with HKDF-SHA256 and ChaCha20-Poly1305, for a KEM
 * whose shared secret is used as is (draft-ietf-hpke-pq).
 */
const KEM_MLKEM768_X25519 = 0x647a;
const KDF_HKDF_SHA256 = 0x0001;
const AEAD_CHACHA20POLY1305 = 0x0003;

function i2osp2(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

const SUITE = Buffer.concat([Buffer.from('HPKE'), i2osp2(KEM_MLKEM768_X25519), i2osp2(KDF_HKDF_SHA256), i2osp2(AEAD_CHACHA20POLY1305)]);
const V1 = Buffer.from('HPKE-v1');

function extract(salt: Uint8Array, ikm: Uint8Array): Buffer {
  return createHmac('sha256', salt).update(ikm).digest();
}

function expand(prk: Uint8Array, info: Uint8Array, length: number): Buffer {
  // length ≤ 32: one HMAC block.
  return createHmac('sha256', prk).update(info).update(Buffer.from([1])).digest().subarray(0, length);
}

function labeledExtract(salt: Uint8Array, label: string, ikm: Uint8Array): Buffer {
  return extract(salt, Buffer.concat([V1, SUITE, Buffer.from(label), ikm]));
}

function labeledExpand(prk: Uint8Array, label: string, info: Uint8Array, length: number): Buffer {
  return expand(prk, Buffer.concat([i2osp2(length), V1, SUITE, Buffer.from(label), info]), length);
}

/** The AEAD key and base nonce of the base-mode key schedule (RFC 9180 §5.1). */
export function hpkeKeySchedule(sharedSecret: Uint8Array, info: Uint8Array): { key: Buffer; nonce: Buffer } {
  const empty = Buffer.alloc(0);
  const pskIdHash = labeledExtract(empty, 'psk_id_hash', empty);
  const infoHash = labeledExtract(empty, 'info_hash', info);
  const context = Buffer.concat([Buffer.from([0]), pskIdHash, infoHash]);
  const secret = labeledExtract(sharedSecret, 'secret', empty);
  return { key: labeledExpand(secret, 'key', context, 32), nonce: labeledExpand(secret, 'base_nonce', context, 12) };
}
