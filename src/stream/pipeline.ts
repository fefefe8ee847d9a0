import { randomBytes } from 'node:crypto';
import { STREAM_TAG_LEN, checkHeaderMac, headerMac, streamKeys } from '../crypto/stream.js';
import { AuthError, FormatError, KeyError } from '../errors.js';
import { DEFAULT_CHUNK_LOG2, MAX_CHUNK_LOG2, MIN_CHUNK_LOG2, STREAM_HEADER_LEN, decodeHeader, encodeHeaderBody, type StreamAlg } from '../formats/stream.js';
import type { ByteReader } from '../io/source.js';
import { keyId } from '../keys/kid.js';
import { fstatSync } from 'node:fs';
import { IOError } from '../errors.js';
import { Pool, SHORT_READ, inline, type Executor } from './pool.js';
import type { Sink } from './sink.js';

/** Plaintext bytes per job sent to a worker: memory in flight is a few of these, whatever the chunk size. */
const JOB_BYTES = 1024 * 1024;
const chunksPerJob = (chunkSize: number): number => Math.max(1, Math.floor(JOB_BYTES / chunkSize));
/** Below this many bytes the stream is processed on the main thread only. */
export const PARALLEL_THRESHOLD = 4 * 1024 * 1024;

export interface StreamOptions {
  /** Worker threads: 0 for the single-thread path; default one per core once the input passes 4 MiB. */
  threads?: number;
  /** Called after each write with the input bytes consumed so far. */
  onProgress?: (bytesIn: number) => void;
  /** Plaintext chunk size as a power of 2 (12–24); default 16 (64 KiB). */
  chunkLog2?: number;
}

export interface StreamResult {
  alg: StreamAlg;
  kid: string;
  /** Plaintext bytes. */
  bytes: number;
  /** Worker threads used (0: main thread only). */
  threads: number;
}

function streamAlgFor(key: Uint8Array): StreamAlg {
  if (key.length === 16) return 'A128GCM';
  if (key.length === 32) return 'A256GCM';
  throw new KeyError(`the stream format needs a 16- or 32-byte key (A128GCM or A256GCM); this key is ${key.length} bytes`, 'ERR_KEY_LENGTH');
}

/** Lazily starts the pool once enough input has gone through the main thread. */
class Exec {
  private pool: Pool | undefined;
  private bytes = 0;
  constructor(private readonly threads: number | undefined) {}
  pick(n: number): Executor {
    this.bytes += n;
    if (this.threads === 0) return inline;
    if (!this.pool && (this.threads !== undefined || this.bytes > PARALLEL_THRESHOLD)) this.pool = new Pool(this.threads);
    return this.pool ?? inline;
  }
  get inFlightLimit(): number {
    return this.pool ? this.pool.threads * 2 : 1;
  }
  get used(): number {
    return this.pool?.threads ?? 0;
  }
  close(): Promise<void> {
    return this.pool?.close() ?? Promise.resolve();
  }
}

/**
 * The final chunk on the wire must hold a whole tag, and may be empty only
 * as the only chunk (an empty input): anything else is truncation or
 * tampering.
 */
function checkFinalChunk(wireLen: number, index: number): void {
  if (wireLen < STREAM_TAG_LEN || (wireLen === STREAM_TAG_LEN && index > 0)) throw new AuthError();
}

interface Slot {
  inp: Buffer;
  out: Buffer;
}

/**
 * Run the chunk pipeline: read batches with one batch of look-ahead (to know
 * which chunk is final), seal or open them in order, write results in order.
 * Batches live in a few reused SharedArrayBuffer slots, so memory stays
 * constant and no batch pays for fresh pages. A failed chunk throws AuthError
 * before anything of its batch is written.
 */
async function pump(
  op: 'seal' | 'open',
  src: ByteReader,
  sink: Sink,
  key: Buffer,
  chunkSize: number,
  opts: StreamOptions,
): Promise<{ bytes: number; threads: number }> {
  const wire = op === 'seal' ? chunkSize : chunkSize + STREAM_TAG_LEN;
  const perJob = chunksPerJob(chunkSize);
  const batchSize = wire * perJob;
  const outSize = op === 'seal' ? batchSize + perJob * STREAM_TAG_LEN : batchSize;
  const exec = new Exec(opts.threads);
  const free: Slot[] = [];
  const slot = (): Slot =>
    free.pop() ?? { inp: Buffer.from(new SharedArrayBuffer(batchSize)), out: Buffer.from(new SharedArrayBuffer(outSize)) };
  const queue: { p: Promise<number>; s: Slot; inBytes: number }[] = [];
  let consumed = 0;
  let outBytes = 0;
  const drainOne = async (): Promise<void> => {
    const { p, s, inBytes } = queue.shift()!;
    const n = await p;
    if (n < 0) throw new AuthError();
    sink.write(s.out.subarray(0, n));
    free.push(s);
    outBytes += n;
    consumed += inBytes;
    opts.onProgress?.(consumed);
  };
  try {
    let counter = 0;
    let cur = slot();
    let curLen = src.read(cur.inp);
    for (;;) {
      let next: Slot | undefined;
      let nextLen = 0;
      if (curLen === batchSize) {
        next = slot();
        nextLen = src.read(next.inp);
      }
      const last = nextLen === 0;
      const n = Math.max(1, Math.ceil(curLen / wire));
      if (op === 'open' && last) checkFinalChunk(curLen - (n - 1) * wire, counter + n - 1);
      const executor = exec.pick(curLen);
      queue.push({
        p: executor.run({ op, key, chunkSize, counter, lastIndex: last ? n - 1 : -1, data: cur.inp.subarray(0, curLen), out: cur.out }),
        s: cur,
        inBytes: curLen,
      });
      counter += n;
      while (queue.length >= exec.inFlightLimit) await drainOne();
      if (last) break;
      cur = next!;
      curLen = nextLen;
    }
    while (queue.length) await drainOne();
    return { bytes: outBytes, threads: exec.used };
  } finally {
    // Settle what is still in flight before closing the pool.
    await Promise.allSettled(queue.map((q) => q.p));
    await exec.close();
  }
}

/**
 * The parallel path for a named regular file to a regular file: each worker
 * reads its run of chunks with pread, seals or opens it, and writes it with
 * pwrite at its place, so the main thread only hands out work. Output offsets
 * are known in advance because every chunk but the last has a fixed size.
 */
async function pumpPositional(
  op: 'seal' | 'open',
  input: { fd: number; offset: number; size: number },
  sink: Sink,
  outFd: number,
  key: Buffer,
  chunkSize: number,
  opts: StreamOptions,
  pool: Pool,
): Promise<{ bytes: number; threads: number }> {
  const wire = op === 'seal' ? chunkSize : chunkSize + STREAM_TAG_LEN;
  const outChunk = op === 'seal' ? chunkSize + STREAM_TAG_LEN : chunkSize;
  const total = input.size - input.offset;
  const n = Math.max(1, Math.ceil(total / wire));
  if (op === 'open') checkFinalChunk(total - (n - 1) * wire, n - 1);
  const outStart = sink.written;
  const perJob = chunksPerJob(chunkSize);
  const jobs = Math.ceil(n / perJob);
  const limit = pool.threads * 2;
  let next = 0;
  let consumed = 0;
  let outBytes = 0;
  let failure: Error | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < jobs) {
      const j = next++;
      const counter = j * perJob;
      const count = Math.min(perJob, n - counter);
      const inPos = input.offset + counter * wire;
      const inLen = Math.min(count * wire, input.size - inPos);
      try {
        const r = await pool.run({
          op,
          key,
          chunkSize,
          counter,
          lastIndex: j === jobs - 1 ? count - 1 : -1,
          inFd: input.fd,
          inPos,
          inLen,
          outFd,
          outPos: outStart + counter * outChunk,
        });
        if (r === SHORT_READ) throw new IOError('the input got shorter while it was being read', 'ERR_INPUT_CHANGED');
        if (r < 0) throw new AuthError();
        outBytes += r;
        consumed += inLen;
        opts.onProgress?.(consumed);
      } catch (e) {
        failure ??= e as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs) }, worker));
  if (failure) throw failure;
  if (fstatSync(input.fd).size !== input.size) throw new IOError('the input changed size while it was being read', 'ERR_INPUT_CHANGED');
  sink.advance?.(outBytes);
  return { bytes: outBytes, threads: pool.threads };
}

/** Positional parallel path when both ends are regular files and the input is large; else the ordered pump. */
async function run(op: 'seal' | 'open', src: ByteReader, sink: Sink, key: Buffer, chunkSize: number, opts: StreamOptions): Promise<{ bytes: number; threads: number }> {
  const input = src.positional?.();
  const outFd = sink.fd?.();
  if (input && outFd !== undefined && opts.threads !== 0 && (opts.threads !== undefined || input.size - input.offset > PARALLEL_THRESHOLD)) {
    const pool = new Pool(opts.threads);
    try {
      return await pumpPositional(op, input, sink, outFd, key, chunkSize, opts, pool);
    } finally {
      await pool.close();
    }
  }
  return pump(op, src, sink, key, chunkSize, opts);
}

/**
 * Encrypt a byte stream of any size in constant memory (docs/FORMAT.md §9).
 * The sink is committed only when everything has been written.
 *
 * @example
 * ```ts
 * await encryptStream(Source.open('dump.sql'), fileSink('dump.sql.aesp', { mode: 0o666, overwrite: false }), key);
 * ```
 */
export async function encryptStream(src: ByteReader, sink: Sink, key: Buffer, opts: StreamOptions = {}): Promise<StreamResult> {
  const alg = streamAlgFor(key);
  const log2 = opts.chunkLog2 ?? DEFAULT_CHUNK_LOG2;
  if (!Number.isInteger(log2) || log2 < MIN_CHUNK_LOG2 || log2 > MAX_CHUNK_LOG2) throw new RangeError(`chunkLog2 must be ${MIN_CHUNK_LOG2} to ${MAX_CHUNK_LOG2}`);
  const kid = keyId(key);
  const salt = randomBytes(16);
  const body = encodeHeaderBody(alg, log2, Buffer.from(kid, 'hex'), salt);
  const keys = streamKeys(key, salt, body);
  try {
    sink.write(Buffer.concat([body, headerMac(keys.mac, body)]));
    const r = await run('seal', src, sink, keys.payload, 2 ** log2, opts);
    sink.commit();
    return { alg, kid, bytes: r.bytes, threads: r.threads };
  } catch (e) {
    sink.abort();
    throw e;
  } finally {
    keys.payload.fill(0);
    keys.mac.fill(0);
  }
}

/**
 * Decrypt a stream. Only authenticated chunks reach the sink; a file sink is
 * committed only after the final chunk verifies, and removed on any failure.
 * On stdout, a failure after some output leaves partial plaintext (the error
 * says so).
 *
 * @example
 * ```ts
 * await decryptStream(Source.open('dump.sql.aesp'), stdoutSink(), key);
 * ```
 */
export async function decryptStream(
  src: ByteReader,
  sink: Sink,
  keyOrLookup: Buffer | ((kid: string) => Buffer),
  opts: StreamOptions = {},
): Promise<StreamResult> {
  try {
    const head = Buffer.alloc(STREAM_HEADER_LEN);
    const got = src.read(head);
    if (got < STREAM_HEADER_LEN) throw new FormatError('stream is truncated inside its header', 'ERR_STREAM');
    const h = decodeHeader(head);
    const key = typeof keyOrLookup === 'function' ? keyOrLookup(h.kid.toString('hex')) : keyOrLookup;
    const need = h.alg === 'A128GCM' ? 16 : 32;
    if (key.length !== need) throw new KeyError(`key is ${key.length} bytes but this ${h.alg} stream needs ${need} bytes`, 'ERR_KEY_LENGTH');
    const keys = streamKeys(key, h.salt, h.body);
    const named = h.kid.toString('hex');
    const given = keyId(key);
    try {
      checkHeaderMac(keys.mac, h.body, h.mac);
      const r = await run('open', src, sink, keys.payload, h.chunkSize, opts);
      sink.commit();
      return { alg: h.alg, kid: given, bytes: r.bytes, threads: r.threads };
    } catch (e) {
      // The same message for a bad header MAC and a bad chunk; only the (public) kids differ.
      if (e instanceof AuthError) throw new AuthError(named === given ? `kid ${given} matches, but the data was altered` : `the input names kid ${named}; the key given is kid ${given}`);
      throw e;
    } finally {
      keys.payload.fill(0);
      keys.mac.fill(0);
    }
  } catch (e) {
    sink.abort();
    throw e;
  }
}
