import { randomBytes } from 'node:crypto';
import { fstatSync } from 'node:fs';
import { STREAM_TAG_LEN, checkHeaderMac, headerMac, processChunks, streamKeys } from '../../crypto/stream.js';
import { AuthError, FormatError, IOError, KeyError, ioError } from '../../errors.js';
import { DEFAULT_CHUNK_LOG2, MAX_CHUNK_LOG2, MIN_CHUNK_LOG2, STREAM_HEADER_LEN, decodeHeader, encodeHeaderBody, type StreamAlg } from './codec.js';
import { signalsFirst } from '../../io/signals.js';
import type { ByteReader } from '../../io/source.js';
import { keyId } from '../../keys/kid.js';
import { GcPacer } from './gc.js';
import { LANE_AUTH, LANE_CHANGED, LANE_IO, WORKER_THRESHOLD, runFileLanes, workerCount } from './lanes.js';
import type { Sink } from './sink.js';

/**
 * How a stream is processed (README, "Performance"). Jobs of about 256 KiB
 * of input (one chunk of the default size, or several small ones; a chunk
 * of 1 MiB is a job of its own) are read, sealed or opened, and written,
 * with synchronous system calls: a read(2)
 * or write(2) on libuv's thread pool costs two context switches, and on
 * pipes those cost more than they save. `update()`'s outputs are written as
 * they are, with writev(2), not copied into an output buffer.
 *
 * - Pipes, stdin, stdout and armor: in order, on the main thread, reading
 *   one job ahead (so as to know which chunk is final).
 * - A named regular file to a regular file: the main thread (and worker
 *   threads, with AES_PAYLOAD_THREADS) take jobs from a shared counter,
 *   each reading and writing at the job's offsets (every chunk but the last
 *   has a fixed size).
 *
 * Memory is a job buffer or two per thread, plus `update()`'s outputs, which
 * {@link GcPacer} collects every MiB, whatever the input size.
 */

/** Input bytes per job. */
const JOB_BYTES = 256 * 1024;

export interface StreamOptions {
  /** Worker threads besides the main thread, for large file-to-file streams (default: env AES_PAYLOAD_THREADS, else none). */
  workers?: number;
  /** Called as output is written, with the input bytes consumed so far. */
  onProgress?: (bytesIn: number) => void;
  /** Plaintext chunk size as a power of 2 (12–20); default 18 (256 KiB). */
  chunkLog2?: number;
}

export interface StreamResult {
  alg: StreamAlg;
  kid: string;
  /** Plaintext bytes. */
  bytes: number;
}

function streamAlgFor(key: Uint8Array): StreamAlg {
  if (key.length === 16) return 'A128GCM';
  if (key.length === 32) return 'A256GCM';
  throw new KeyError(`the stream format needs a 16- or 32-byte key (A128GCM or A256GCM); this key is ${key.length} bytes`, 'ERR_KEY_LENGTH');
}

/**
 * The final chunk on the wire must hold a whole tag, and may be empty only
 * as the only chunk (an empty input): anything else is truncation or
 * tampering.
 */
function checkFinalChunk(wireLen: number, index: number): void {
  if (wireLen < STREAM_TAG_LEN || (wireLen === STREAM_TAG_LEN && index > 0)) throw new AuthError();
}

interface Geometry {
  op: 'seal' | 'open';
  /** Plaintext chunk size. */
  chunkSize: number;
  /** Input bytes per chunk. */
  wire: number;
  /** Chunks per job. */
  perJob: number;
  /** Input bytes per job. */
  inJob: number;
}

function geometry(op: 'seal' | 'open', chunkSize: number): Geometry {
  const wire = op === 'seal' ? chunkSize : chunkSize + STREAM_TAG_LEN;
  const perJob = Math.max(1, Math.floor(JOB_BYTES / chunkSize));
  return { op, chunkSize, wire, perJob, inJob: wire * perJob };
}

/** Yield to the event loop (progress, signals) when the main thread has worked this long. */
const YIELD_MS = 50;

/**
 * In order, for pipes, stdin, stdout and armor, on the main thread: read a
 * job, read the next one (so as to know whether this one holds the final
 * chunk), seal or open it, write its pieces. Only authenticated output is
 * written: a failed chunk stops everything before its job is written.
 */
async function pumpInOrder(g: Geometry, src: ByteReader, sink: Sink, key: Buffer, opts: StreamOptions): Promise<number> {
  const nodeCrypto = process.getBuiltinModule('node:crypto');
  const gc = new GcPacer();
  let cur = Buffer.allocUnsafeSlow(g.inJob);
  let next = Buffer.allocUnsafeSlow(g.inJob);
  let curLen = src.read(cur);
  let counter = 0;
  let consumed = 0;
  let produced = 0;
  let lastYield = Date.now();
  for (;;) {
    // A short read is the end of the input; a full one needs a look at what follows.
    const nextLen = curLen < g.inJob ? 0 : src.read(next);
    const last = nextLen === 0;
    const n = Math.max(1, Math.ceil(curLen / g.wire));
    if (g.op === 'open' && last) checkFinalChunk(curLen - (n - 1) * g.wire, counter + n - 1);
    const parts: Uint8Array[] = [];
    const out = processChunks(nodeCrypto, g.op, key, g.chunkSize, counter, last ? n - 1 : -1, cur.subarray(0, curLen), parts);
    if (out < 0) throw new AuthError();
    if (sink.writev) sink.writev(parts);
    else await sink.write(Buffer.concat(parts, out));
    gc.produced(out);
    produced += out;
    consumed += curLen;
    counter += n;
    if (opts.onProgress) {
      opts.onProgress(consumed);
      if (Date.now() - lastYield >= YIELD_MS) {
        await new Promise<void>((r) => setImmediate(r));
        lastYield = Date.now();
      }
    }
    if (last) return produced;
    [cur, next] = [next, cur];
    curLen = nextLen;
  }
}

/**
 * A named regular file to a regular file: the main thread (and any worker
 * threads) take jobs from a shared counter, reading and writing at the jobs'
 * offsets (README, "Performance"). Output offsets are known in advance
 * because every chunk but the last has a fixed size.
 */
async function pumpFiles(
  g: Geometry,
  input: { fd: number; offset: number; size: number },
  out: { fd: number; at: number; what: string; wrote(bytes: number): void },
  key: Buffer,
  opts: StreamOptions,
): Promise<number> {
  const total = input.size - input.offset;
  const chunks = Math.max(1, Math.ceil(total / g.wire));
  if (g.op === 'open') checkFinalChunk(total - (chunks - 1) * g.wire, chunks - 1);
  const extra = total >= WORKER_THRESHOLD ? (opts.workers ?? workerCount(process.env)) : 0;
  const r = await runFileLanes(
    { op: g.op, key, chunkSize: g.chunkSize, perJob: g.perJob, chunks, inFd: input.fd, inStart: input.offset, inEnd: input.size, outFd: out.fd, outStart: out.at },
    extra,
    opts.onProgress ? (jobs) => opts.onProgress!(Math.min(total, jobs * g.inJob)) : undefined,
  );
  if (r.failed === LANE_AUTH) throw new AuthError();
  if (r.failed === LANE_CHANGED) throw new IOError('the input got shorter while it was being read', 'ERR_INPUT_CHANGED');
  if (r.failed === LANE_IO) throw ioError(r.error, r.error.syscall === 'read' ? 'cannot read the input' : `cannot write ${out.what}`);
  if (fstatSync(input.fd).size !== input.size) throw new IOError('the input changed size while it was being read', 'ERR_INPUT_CHANGED');
  const produced = g.op === 'seal' ? total + chunks * STREAM_TAG_LEN : total - chunks * STREAM_TAG_LEN;
  out.wrote(produced);
  return produced;
}

/** At offsets when both ends are regular files; else in order. */
async function run(op: 'seal' | 'open', src: ByteReader, sink: Sink, key: Buffer, chunkSize: number, opts: StreamOptions): Promise<number> {
  const g = geometry(op, chunkSize);
  const input = src.positional?.();
  const output = input ? sink.positional?.() : undefined;
  if (input && output) return pumpFiles(g, input, output, key, opts);
  return pumpInOrder(g, src, sink, key, opts);
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
export async function encryptStream(src: ByteReader, sink: Sink & { finish?(): Promise<void> }, key: Buffer, opts: StreamOptions = {}): Promise<StreamResult> {
  const alg = streamAlgFor(key);
  const log2 = opts.chunkLog2 ?? DEFAULT_CHUNK_LOG2;
  if (!Number.isInteger(log2) || log2 < MIN_CHUNK_LOG2 || log2 > MAX_CHUNK_LOG2) throw new RangeError(`chunkLog2 must be ${MIN_CHUNK_LOG2} to ${MAX_CHUNK_LOG2}`);
  const kid = keyId(key);
  const salt = randomBytes(16);
  const body = encodeHeaderBody(alg, log2, Buffer.from(kid, 'hex'), salt);
  const keys = streamKeys(key, salt, body);
  try {
    await sink.write(Buffer.concat([body, headerMac(keys.mac, body)]));
    const bytes = await run('seal', src, sink, keys.payload, 2 ** log2, opts);
    await sink.finish?.();
    await signalsFirst();
    sink.commit();
    return { alg, kid, bytes };
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
export async function decryptStream(src: ByteReader, sink: Sink, keyOrLookup: Buffer | ((kid: string) => Buffer), opts: StreamOptions = {}): Promise<StreamResult> {
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
      const bytes = await run('open', src, sink, keys.payload, h.chunkSize, opts);
      await signalsFirst();
      sink.commit();
      return { alg: h.alg, kid: given, bytes };
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
