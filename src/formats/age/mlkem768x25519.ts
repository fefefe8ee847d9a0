import { createHash, createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { KeyError } from '../../errors.js';
import { b64encode, b64field, headerError } from './b64.js';
import { chachaOpen, chachaSeal, WRAPPED_BYTES } from './aead.js';
import type { Stanza } from './header.js';
import { hpkeKeySchedule } from './hpke.js';
import { x25519Generate, x25519LowOrder, x25519PublicOf, x25519Shared } from './x25519.js';

/**
 * age's hybrid post-quantum type: HPKE with the MLKEM768-X25519 KEM
 * (X-Wing, draft-ietf-hpke-pq), HKDF-SHA256 and ChaCha20-Poly1305. ML-KEM
 * comes from node:crypto, which has it from Node 24.7.
 */
export const PQ_NODE = '24.7';
const INFO = Buffer.from('age-encryption.org/mlkem768x25519');
const XWING_LABEL = Buffer.from('5c2e2f2f5e5c', 'hex'); // "\.//^\"
const MLKEM_PK = 1184;
const MLKEM_CT = 1088;
export const PQ_PUBLIC_BYTES = MLKEM_PK + 32;
export const PQ_ENC_BYTES = MLKEM_CT + 32;
const PKCS8_SEED_PREFIX = Buffer.from('3054020100300b060960864801650304040204428040', 'hex');
const SPKI_PREFIX = Buffer.from('308204b2300b0609608648016503040402038204a100', 'hex');

type Kem = {
  encapsulate(key: KeyObject): { sharedKey: Buffer; ciphertext: Buffer };
  decapsulate(key: KeyObject, ct: Uint8Array): Buffer;
};

function atLeast(v: string, want: string): boolean {
  const a = v.split('.').map(Number);
  const b = want.split('.').map(Number);
  for (let i = 0; i < b.length; i++) if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > b[i]!;
  return true;
}

/** Whether this Node has ML-KEM (node:crypto encapsulate/decapsulate, Node ≥ 24.7). */
export function pqAvailable(): boolean {
  return atLeast(process.versions.node, PQ_NODE) && typeof (process.getBuiltinModule('node:crypto') as unknown as Partial<Kem>).encapsulate === 'function';
}

/** The one-line refusal on an older Node. */
export function pqUnavailableMessage(): string {
  return `post-quantum age keys (mlkem768x25519) need Node ${PQ_NODE} or later for ML-KEM; this is Node ${process.versions.node}`;
}

function kem(): Kem {
  if (!pqAvailable()) throw new KeyError(pqUnavailableMessage(), 'ERR_NODE_VERSION');
  return process.getBuiltinModule('node:crypto') as unknown as Kem;
}

/** The expanded identity: ML-KEM-768 private key (from d‖z) and the X25519 secret. */
interface Expanded {
  mlkem: KeyObject;
  x25519: Buffer;
  pub: Buffer;
}

const cache = new WeakMap<Uint8Array, Expanded>();

function expand(seed: Uint8Array): Expanded {
  const hit = cache.get(seed);
  if (hit) return hit;
  kem();
  if (seed.length !== 32) throw new KeyError('a post-quantum age identity is 32 bytes', 'ERR_KEY_LENGTH');
  const x = createHash('shake256', { outputLength: 96 }).update(seed).digest();
  const mlkem = createPrivateKey({ key: Buffer.concat([PKCS8_SEED_PREFIX, x.subarray(0, 64)]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(mlkem).export({ format: 'der', type: 'spki' });
  const xs = Buffer.from(x.subarray(64));
  const pub = Buffer.concat([spki.subarray(spki.length - MLKEM_PK), x25519PublicOf(xs)]);
  x.fill(0);
  const e = { mlkem, x25519: xs, pub };
  cache.set(seed, e);
  return e;
}

/** The 1216-byte recipient of a 32-byte identity seed. */
export function pqPublicOf(seed: Uint8Array): Buffer {
  return expand(seed).pub;
}

/** A fresh identity seed. */
export function pqGenerate(): { seed: Buffer; pub: Buffer } {
  kem();
  const seed = randomBytes(32);
  return { seed, pub: pqPublicOf(seed) };
}

/** Check a recipient's ML-KEM half (node:crypto refuses an invalid encapsulation key). */
export function pqCheckPublic(pub: Uint8Array): void {
  if (pub.length !== PQ_PUBLIC_BYTES) throw new KeyError(`a post-quantum age recipient is ${PQ_PUBLIC_BYTES} bytes`, 'ERR_KEY');
  kem();
  try {
    createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub.subarray(0, MLKEM_PK)]), format: 'der', type: 'spki' });
  } catch {
    throw new KeyError('invalid MLKEM768-X25519 public key', 'ERR_KEY');
  }
}

function combine(ssM: Uint8Array, ssX: Uint8Array, ctX: Uint8Array, pkX: Uint8Array): Buffer {
  return createHash('sha3-256').update(ssM).update(ssX).update(ctX).update(pkX).update(XWING_LABEL).digest();
}

/** An mlkem768x25519 stanza wrapping `fileKey` to recipient `pub` (1216 bytes). */
export function pqWrap(fileKey: Uint8Array, pub: Uint8Array): Stanza {
  const k = kem();
  pqCheckPublic(pub);
  const pkM = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub.subarray(0, MLKEM_PK)]), format: 'der', type: 'spki' });
  const pkX = pub.subarray(MLKEM_PK);
  const { sharedKey: ssM, ciphertext: ctM } = k.encapsulate(pkM);
  const eph = x25519Generate();
  const ssX = x25519Shared(eph.secret, pkX);
  eph.secret.fill(0);
  if (!ssX) throw new KeyError('invalid MLKEM768-X25519 public key', 'ERR_KEY');
  const ss = combine(ssM, ssX, eph.pub, pkX);
  const { key, nonce } = hpkeKeySchedule(ss, INFO);
  const body = chachaSeal(key, nonce, fileKey);
  return { type: 'mlkem768x25519', args: [b64encode(Buffer.concat([ctM, eph.pub]))], body };
}

/**
 * Unwrap an mlkem768x25519 stanza with identity `seed`: the file key,
 * undefined for another type or a tag that does not verify (ML-KEM rejects
 * implicitly), a header error when malformed.
 */
export function pqUnwrap(s: Stanza, seed: Uint8Array): Buffer | undefined {
  if (s.type !== 'mlkem768x25519') return undefined;
  const enc = pqStanzaEnc(s);
  const k = kem();
  const e = expand(seed);
  const ctX = enc.subarray(MLKEM_CT);
  const ssX = x25519Shared(e.x25519, ctX);
  if (!ssX) throw headerError('the X25519 part of the mlkem768x25519 enc is a low-order point');
  const ssM = k.decapsulate(e.mlkem, enc.subarray(0, MLKEM_CT));
  const ss = combine(ssM, ssX, ctX, e.pub.subarray(MLKEM_PK));
  const { key, nonce } = hpkeKeySchedule(ss, INFO);
  return chachaOpen(key, nonce, s.body);
}

/** The enc of an mlkem768x25519 stanza, after the checks that need no key (argument count, lengths); a header error otherwise. */
export function pqStanzaEnc(s: Stanza): Buffer {
  if (s.args.length !== 1) throw headerError('an mlkem768x25519 stanza must have exactly one argument');
  const enc = b64field(s.args[0]!, 'the mlkem768x25519 enc');
  if (enc.length !== PQ_ENC_BYTES) throw headerError(`the mlkem768x25519 enc is not ${PQ_ENC_BYTES} bytes`);
  if (s.body.length !== WRAPPED_BYTES) throw headerError('an mlkem768x25519 stanza body must be 32 bytes');
  return enc;
}

/** The checks of an mlkem768x25519 stanza that need no key (verify --no-key). */
export function pqCheckStanza(s: Stanza): void {
  if (x25519LowOrder(pqStanzaEnc(s).subarray(MLKEM_CT))) throw headerError('the X25519 part of the mlkem768x25519 enc is a low-order point');
}
