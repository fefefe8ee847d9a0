import { FormatError } from '../../errors.js';

/**
 * The chunked streaming format (docs/FORMAT.md §9): a 68-byte header, then
 * chunks of `chunkSize` plaintext bytes sealed with AES-GCM.
 */
export const STREAM_MAGIC = Buffer.from('AESPSTRM', 'ascii');
export const STREAM_VERSION = 1;
export const STREAM_HEADER_LEN = 68;
/** Header bytes covered by the header MAC. */
export const STREAM_HEADER_BODY_LEN = 36;
export const DEFAULT_CHUNK_LOG2 = 18;
/** Chunk sizes a reader accepts: 4 KiB to 1 MiB, so that a header cannot ask for unbounded memory. */
export const MIN_CHUNK_LOG2 = 12;
export const MAX_CHUNK_LOG2 = 20;
export const ARMOR_BEGIN = '-----BEGIN AES-PAYLOAD STREAM-----';
export const ARMOR_END = '-----END AES-PAYLOAD STREAM-----';
/** Base64 characters per armor line. */
export const ARMOR_LINE = 64;

export type StreamAlg = 'A128GCM' | 'A256GCM';
const ALG_IDS: Record<StreamAlg, number> = { A128GCM: 1, A256GCM: 3 };

export interface StreamHeader {
  alg: StreamAlg;
  chunkSize: number;
  /** 8 bytes: the key's kid (FORMAT.md §2) as raw bytes. */
  kid: Buffer;
  salt: Buffer;
  /** Bytes 0–35, which the MAC covers. */
  body: Buffer;
  mac: Buffer;
}

/**
 * Build the header body (bytes 0–35); the caller appends the 32-byte MAC.
 *
 * @example
 * ```ts
 * const body = encodeHeaderBody('A256GCM', 16, kidBytes, randomBytes(16));
 * ```
 */
export function encodeHeaderBody(alg: StreamAlg, chunkLog2: number, kid: Uint8Array, salt: Uint8Array): Buffer {
  const b = Buffer.alloc(STREAM_HEADER_BODY_LEN);
  STREAM_MAGIC.copy(b, 0);
  b[8] = STREAM_VERSION;
  b[9] = ALG_IDS[alg];
  b[10] = chunkLog2;
  b[11] = 0;
  Buffer.from(kid).copy(b, 12, 0, 8);
  Buffer.from(salt).copy(b, 20, 0, 16);
  return b;
}

/** Whether bytes start like a binary stream or an armored one. */
export function detect(prefix: Uint8Array): 'binary' | 'armor' | undefined {
  const p = Buffer.from(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (p.length >= 8 && p.subarray(0, 8).equals(STREAM_MAGIC)) return 'binary';
  const text = p.subarray(0, ARMOR_BEGIN.length + 3).toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
  if (text.startsWith(ARMOR_BEGIN)) return 'armor';
  return undefined;
}

/**
 * Parse and check the 68-byte header (not its MAC, which needs the key).
 *
 * @example
 * ```ts
 * const h = decodeHeader(first68Bytes); // { alg: 'A256GCM', chunkSize: 65536, … }
 * ```
 */
export function decodeHeader(h: Uint8Array): StreamHeader {
  const b = Buffer.from(h.buffer, h.byteOffset, h.byteLength);
  if (b.length < STREAM_HEADER_LEN) throw new FormatError('stream is truncated inside its header', 'ERR_STREAM');
  if (!b.subarray(0, 8).equals(STREAM_MAGIC)) throw new FormatError('not an aes-payload stream', 'ERR_STREAM');
  if (b[8] !== STREAM_VERSION) throw new FormatError(`unsupported stream version ${b[8]}`, 'ERR_VERSION');
  const alg = (Object.keys(ALG_IDS) as StreamAlg[]).find((a) => ALG_IDS[a] === b[9]);
  if (!alg) throw new FormatError(`unsupported stream algorithm id ${b[9]}`, 'ERR_ALG');
  const log2 = b[10]!;
  if (log2 < MIN_CHUNK_LOG2 || log2 > MAX_CHUNK_LOG2) {
    throw new FormatError(`unsupported stream chunk size 2^${log2} (it must be 2^${MIN_CHUNK_LOG2} to 2^${MAX_CHUNK_LOG2})`, 'ERR_STREAM');
  }
  if (b[11] !== 0) throw new FormatError('stream header reserved byte is not zero', 'ERR_STREAM');
  return {
    alg,
    chunkSize: 2 ** log2,
    kid: Buffer.from(b.subarray(12, 20)),
    salt: Buffer.from(b.subarray(20, 36)),
    body: Buffer.from(b.subarray(0, STREAM_HEADER_BODY_LEN)),
    mac: Buffer.from(b.subarray(STREAM_HEADER_BODY_LEN, STREAM_HEADER_LEN)),
  };
}
