/**
 * age v1 files (C2SP age.md): detect, open and seal, streaming in constant
 * memory; the stanza layer (`wrapFileKey`/`unwrapFileKey`) and key
 * encodings for other formats that carry age stanzas.
 */
import { randomBytes } from 'node:crypto';
import type { KdfBudget } from '../../crypto/kdf.js';
import { FILE_KEY_BYTES } from './aead.js';
import { ArmorDecoder, ArmorEncoder, ARMOR_BEGIN } from './armor.js';
import { headerError } from './b64.js';
import { checkHeaderMac, MAGIC, parseHeader, serializeHeader, type Header } from './header.js';
import type { AgeIdentity, AgeRecipient } from './keys.js';
import { openPayload, PAYLOAD_NONCE_BYTES, sealPayload, type Emit } from './payload.js';
import { bufferReader, LineReader, type SyncReader } from './reader.js';
import { unwrapFileKey, wrapFileKey } from './stanzas.js';

export { wrapFileKey, unwrapFileKey, NoIdentityMatchedError } from './stanzas.js';
export { parseHeader, serializeHeader, serializeHeaderWithoutMac, headerMac, checkHeaderMac, AgeAuthError, AGE_LIMITS, type Stanza, type Header } from './header.js';
export {
  parseRecipient,
  parseIdentity,
  formatRecipient,
  formatIdentity,
  recipientOf,
  generateIdentity,
  parseIdentityFile,
  parseRecipientsFile,
  type AgeRecipient,
  type AgeIdentity,
} from './keys.js';
export { pqAvailable, pqUnavailableMessage, PQ_NODE } from './mlkem768x25519.js';
export { AGE_SCRYPT_LOG_N, AGE_SCRYPT_MAX_LOG_N } from './scrypt.js';
export { bufferReader, type SyncReader } from './reader.js';
export type { Emit } from './payload.js';

/** How many bytes {@link detect} wants to see. */
export const DETECT_BYTES = 1024 + ARMOR_BEGIN.length + 2;

/**
 * Whether bytes start an age file: binary (`age-encryption.org/`) or armored
 * (white space, then the BEGIN line).
 */
export function detect(head: Uint8Array): 'binary' | 'armor' | undefined {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.subarray(0, MAGIC.length).toString('latin1') === MAGIC) return 'binary';
  let i = 0;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d)) i++;
  if (b.subarray(i, i + ARMOR_BEGIN.length).toString('latin1') === ARMOR_BEGIN) return 'armor';
  return undefined;
}

/** An age file whose header has been read; the reader is at the payload. */
export interface AgeInput {
  header: Header;
  armored: boolean;
  /** Whether the header holds an scrypt (passphrase) stanza. */
  passphrase: boolean;
  readonly rest: LineReader;
}

/** Read the header of an age file (binary or armored, by its first bytes). */
export function readAgeHeader(src: SyncReader, kind?: 'binary' | 'armor'): AgeInput {
  let r = src instanceof LineReader ? src : new LineReader(src);
  const k = kind ?? detect(r.peek(DETECT_BYTES)) ?? 'binary';
  if (k === 'armor') r = new LineReader(new ArmorDecoder(r), 64 * 1024);
  const header = parseHeader(r);
  return { header, armored: k === 'armor', passphrase: header.stanzas.some((s) => s.type === 'scrypt'), rest: r };
}

/**
 * Unwrap the file key with `identities` and check the header MAC.
 * Errors: a header error (exit 4), {@link NoIdentityMatchedError} (exit 1),
 * an AgeAuthError stage "mac" (exit 1).
 */
export function openHeader(input: AgeInput, identities: readonly AgeIdentity[], budget?: KdfBudget): Buffer {
  const fileKey = unwrapFileKey(input.header.stanzas, identities, budget);
  checkHeaderMac(input.header, fileKey);
  return fileKey;
}

/** Decrypt the rest of `input` into `emit` with a file key from {@link openHeader}. */
export async function openBody(input: AgeInput, fileKey: Uint8Array, emit: Emit, onProgress?: (n: number) => void): Promise<number> {
  const nonce = Buffer.alloc(PAYLOAD_NONCE_BYTES);
  if (input.rest.read(nonce) !== PAYLOAD_NONCE_BYTES) throw headerError('the payload nonce is missing or short');
  return openPayload(fileKey, nonce, input.rest, emit, onProgress);
}

/**
 * Decrypt an age file from `src` into `emit`, releasing each 64 KiB chunk
 * only after it authenticates.
 *
 * @example
 * ```ts
 * const out: Buffer[] = [];
 * await openAge(bufferReader(file), [parseIdentity(key)], (b) => { out.push(b); });
 * ```
 */
export async function openAge(src: SyncReader, identities: readonly AgeIdentity[], emit: Emit, opts: { budget?: KdfBudget; onProgress?: (n: number) => void } = {}): Promise<number> {
  const input = readAgeHeader(src);
  const fileKey = openHeader(input, identities, opts.budget);
  try {
    return await openBody(input, fileKey, emit, opts.onProgress);
  } finally {
    fileKey.fill(0);
  }
}

/**
 * Encrypt everything `src` yields to `recipients` as an age v1 file
 * (armored with `armor`), into `emit`.
 */
export async function sealAge(src: SyncReader, recipients: readonly AgeRecipient[], emit: Emit, opts: { armor?: boolean; onProgress?: (n: number) => void } = {}): Promise<number> {
  const fileKey = randomBytes(FILE_KEY_BYTES);
  try {
    const header = serializeHeader(wrapFileKey(fileKey, recipients), fileKey);
    if (!opts.armor) {
      await emit(header);
      return await sealPayload(fileKey, src, emit, opts.onProgress);
    }
    const enc = new ArmorEncoder(emit);
    await enc.begin();
    await enc.write(header);
    const n = await sealPayload(fileKey, src, (b) => enc.write(b), opts.onProgress);
    await enc.end();
    return n;
  } finally {
    fileKey.fill(0);
  }
}

/** In memory: encrypt `plaintext` to `recipients`. */
export async function encryptAge(plaintext: Uint8Array, recipients: readonly AgeRecipient[], opts: { armor?: boolean } = {}): Promise<Buffer> {
  const out: Buffer[] = [];
  await sealAge(bufferReader(plaintext), recipients, (b) => void out.push(b), opts);
  return Buffer.concat(out);
}

/** In memory: decrypt an age file (binary or armored). */
export async function decryptAge(file: Uint8Array, identities: readonly AgeIdentity[], budget?: KdfBudget): Promise<Buffer> {
  const out: Buffer[] = [];
  await openAge(bufferReader(file), identities, (b) => void out.push(b), { ...(budget ? { budget } : {}) });
  return Buffer.concat(out);
}
