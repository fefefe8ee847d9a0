import * as nodeCrypto from 'node:crypto';
import { fstatSync } from 'node:fs';
import { STREAM_TAG_LEN, checkHeaderMac, headerMac, streamKeys } from '../crypto/stream.js';
import { AuthError, FormatError, IOError, KeyError } from '../errors.js';
import { DEFAULT_CHUNK_LOG2, MAX_CHUNK_LOG2, MIN_CHUNK_LOG2, STREAM_HEADER_LEN, decodeHeader, encodeHeaderBody, type StreamAlg } from '../formats/stream.js';
import { readFull } from '../io/async.js';
import type { ByteReader } from '../io/source.js';
import { keyId } from '../keys/kid.js';
import { Lanes, workerCount } from './lanes.js';
import type { Sink } from './sink.js';

/**
 * How a stream is processed (README, "Performance"): the chunks are sealed
 * or opened on the main thread (one core does about 1.2 GB/s of AES-GCM
 * here, more than a pipe or tmpfs delivers), while reads and writes run on
 * libuv's thread pool, so that I/O and crypto overlap. Files at known sizes
 * are read and written at their offsets by several jobs at once; pipes and
 * stdout are read ahead in order and written in order. Memory is a few
 * fixed buffers plus the chunk output garbage that {@link GcPacer} bounds,
 * whatever the input size or chunk size.
 */

/** Plaintext bytes per job: memory in flight is a few of these, whatever the chunk size. */
const JOB_BYTES = 256 * 1024;
/** Jobs in flight at once (buffers: this many inputs and outputs). */
const SLOTS = 6;
const chunksPerJob = (chunkSize: number): number => Math.max(1, Math.floor(JOB_BYTES / chunkSize));

export interface StreamOptions {
  /** Worker threads besides the main thread, for large file-to-file streams (default: env AES_PAYLOAD_THREADS, else 1 on 2 cores or more). */
  workers?: number;
  /** Called as output is written, with the input bytes consumed so far. */
  onProgress?: (bytesIn: number) => void;
  /** Plaintext chunk size as a power of 2 (12–20); default 16 (64 KiB). */
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
  /** Output bytes per job at most. */
  outJob: number;
}

function geometry(op: 'seal' | 'open', chunkSize: number): Geometry {
  const wire = op === 'seal' ? chunkSize : chunkSize + STREAM_TAG_LEN;
  const perJob = chunksPerJob(chunkSize);
  return { op, chunkSize, wire, perJob, inJob: wire * perJob, outJob: (op === 'seal' ? chunkSize + STREAM_TAG_LEN : chunkSize) * perJob };
}

interface Slot {
  inp: Buffer;
  out: Buffer;
}
// Shared memory, so that a worker thread seals or opens a slot in place.
const newSlot = (g: Geometry): Slot => ({ inp: Buffer.from(new SharedArrayBuffer(g.inJob)), out: Buffer.from(new SharedArrayBuffer(g.outJob)) });

/** Seal or open one job's chunks into its slot's output; the one AuthError for a failed chunk. */
async function crunch(g: Geometry, key: Buffer, s: Slot, len: number, counter: number, last: boolean, lanes: Lanes): Promise<number> {
  const n = Math.max(1, Math.ceil(len / g.wire));
  if (g.op === 'open' && last) checkFinalChunk(len - (n - 1) * g.wire, counter + n - 1);
  const out = await lanes.run({ op: g.op, key, chunkSize: g.chunkSize, counter, lastIndex: last ? n - 1 : -1, inp: s.inp, len, out: s.out });
  if (out < 0) throw new AuthError();
  return out;
}

/**
 * In order, for pipes, stdin, stdout and armor: a reader task fills slots
 * ahead (one read at a time, as a pipe requires), the main thread processes
 * each once the next one is known (so that it knows which chunk is final),
 * and a writer task writes results in order. Only authenticated output is
 * written; a failure stops everything before its job is written.
 */
async function pumpInOrder(g: Geometry, src: ByteReader, sink: Sink, key: Buffer, opts: StreamOptions, lanes: Lanes): Promise<number> {
  const read = src.readAsync ? (b: Buffer) => src.readAsync!(b) : (b: Buffer) => Promise.resolve(src.read(b));
  const free: Slot[] = Array.from({ length: SLOTS }, () => newSlot(g));
  const filled: { s: Slot; len: number }[] = [];
  let eof = false;
  let stop: unknown;
  // The reader and the processor may both be waiting: wake every waiter, each re-checks.
  let waiters: (() => void)[] = [];
  const signal = () => {
    const w = waiters;
    waiters = [];
    for (const r of w) r();
  };
  const until = async (ready: () => boolean) => {
    while (!ready() && stop === undefined) await new Promise<void>((r) => waiters.push(r));
    if (stop !== undefined) throw stop;
  };
  // Reader: keeps free slots filled, in order, until the input ends.
  const reader = (async () => {
    try {
      let first = true;
      while (!eof) {
        await until(() => free.length > 0);
        const s = free.pop()!;
        const len = await read(s.inp);
        if (len < g.inJob) eof = true;
        if (len > 0 || first) filled.push({ s, len });
        else free.push(s);
        first = false;
        signal();
      }
    } catch (e) {
      stop ??= e;
      signal();
    }
  })();
  // Writer: one write at a time, in order; each written slot goes back to the reader.
  let writes = Promise.resolve();
  let consumed = 0;
  let produced = 0;
  let counter = 0;
  try {
    for (;;) {
      await until(() => filled.length >= 2 || (eof && filled.length >= 1));
      const { s, len } = filled.shift()!;
      const last = eof && filled.length === 0;
      // Processing may overlap with the next job's (another lane); writing keeps the order.
      const job = crunch(g, key, s, len, counter, last, lanes);
      job.catch((e: unknown) => {
        stop ??= e;
        signal();
      });
      counter += Math.max(1, Math.ceil(len / g.wire));
      writes = writes.then(async () => {
        if (stop !== undefined) return;
        try {
          const n = await job;
          if (stop !== undefined) return;
          await sink.write(s.out.subarray(0, n));
          produced += n;
          consumed += len;
          opts.onProgress?.(consumed);
        } catch (e) {
          stop ??= e;
        }
        free.push(s);
        signal();
      });
      if (last) break;
    }
    await writes;
    if (stop !== undefined) throw stop;
    return produced;
  } catch (e) {
    stop ??= e;
    signal();
    throw e;
  } finally {
    await writes.catch(() => {});
    await reader;
  }
}

/**
 * A named regular file to a regular file: {@link SLOTS} lanes each read a
 * job at its offset, process it, and write it at its place, so that reads
 * and writes of different jobs run at once on the thread pool. Output
 * offsets are known in advance because every chunk but the last has a fixed
 * size.
 */
async function pumpAtOffsets(g: Geometry, input: { fd: number; offset: number; size: number }, sink: Sink & { writeAt: NonNullable<Sink['writeAt']> }, key: Buffer, opts: StreamOptions, lanes: Lanes): Promise<number> {
  const total = input.size - input.offset;
  const n = Math.max(1, Math.ceil(total / g.wire));
  if (g.op === 'open') checkFinalChunk(total - (n - 1) * g.wire, n - 1);
  const outChunk = g.op === 'seal' ? g.chunkSize + STREAM_TAG_LEN : g.chunkSize;
  const outStart = sink.written;
  const jobs = Math.ceil(n / g.perJob);
  let next = 0;
  let consumed = 0;
  let produced = 0;
  let failure: unknown;
  const lane = async (): Promise<void> => {
    const s = newSlot(g);
    while (failure === undefined && next < jobs) {
      const j = next++;
      const counter = j * g.perJob;
      const inPos = input.offset + counter * g.wire;
      const want = Math.min(g.inJob, input.size - inPos);
      try {
        const got = await readFull(input.fd, s.inp.subarray(0, want), inPos, 'the input');
        if (got !== want) throw new IOError('the input got shorter while it was being read', 'ERR_INPUT_CHANGED');
        const out = await crunch(g, key, s, got, counter, j === jobs - 1, lanes);
        await sink.writeAt(s.out.subarray(0, out), outStart + counter * outChunk);
        produced += out;
        consumed += got;
        opts.onProgress?.(consumed);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SLOTS, jobs) }, lane));
  if (failure !== undefined) throw failure;
  if (fstatSync(input.fd).size !== input.size) throw new IOError('the input changed size while it was being read', 'ERR_INPUT_CHANGED');
  return produced;
}

/** At offsets when both ends are regular files; else in order. */
async function run(op: 'seal' | 'open', src: ByteReader, sink: Sink, key: Buffer, chunkSize: number, opts: StreamOptions): Promise<number> {
  const g = geometry(op, chunkSize);
  const input = src.positional?.();
  const atOffsets = Boolean(input && sink.writeAt);
  // Measured on 2 cores (README, "Performance"): a worker thread speeds up
  // file to file, but slows pipes down, where the processes at the other
  // ends need the cores too. So pipes stay on the main thread.
  const lanes = new Lanes(atOffsets ? (opts.workers ?? workerCount(process.env)) : 0);
  try {
    if (atOffsets) return await pumpAtOffsets(g, input!, sink as Sink & { writeAt: NonNullable<Sink['writeAt']> }, key, opts, lanes);
    return await pumpInOrder(g, src, sink, key, opts, lanes);
  } finally {
    await lanes.close();
  }
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
  const salt = nodeCrypto.randomBytes(16);
  const body = encodeHeaderBody(alg, log2, Buffer.from(kid, 'hex'), salt);
  const keys = streamKeys(key, salt, body);
  try {
    await sink.write(Buffer.concat([body, headerMac(keys.mac, body)]));
    const bytes = await run('seal', src, sink, keys.payload, 2 ** log2, opts);
    await sink.finish?.();
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
    const got = src.readAsync ? await src.readAsync(head) : src.read(head);
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
