import { AesPayloadError, FormatError } from '../errors.js';
import { LineWorkers, type FastSpec } from './lineWorkers.js';
import type { ByteReader } from './source.js';

/** Longest line accepted in line mode; longer lines fail alone. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;
/** Lines handled on the main thread before the worker threads start (small inputs never pay for them). */
export const WORKERS_AFTER_LINES = 4096;
const BATCH_LINES = 512;
const BATCH_BYTES = 256 * 1024;
const EMPTY = Buffer.alloc(0);

export interface LineReport {
  lines: number;
  failed: number;
  /** Exit status of the first failure (0 if none). */
  firstExit: number;
}

/** The parallel fast path for line mode, when the operation has one (lineWorkers.ts). */
export interface LineFastPath {
  spec: FastSpec;
  workers: number;
}

type Entry = { n: number; kind: 'empty' } | { n: number; kind: 'long' } | { n: number; kind: 'line'; bytes: Buffer };

/** Lines on their way to a worker: their bytes in one buffer, [start, end) offsets, and the first line's number. */
interface Batch {
  first: number;
  /** Line numbers (relative to `first`) of lines over MAX_LINE_BYTES, which are not sent. */
  long: number[];
  bytes: Buffer;
  offs: Uint32Array;
  count: number;
  result?: Promise<import('./lineWorkers.js').BatchResult>;
}

/**
 * Run `fn` on every line of `src` (LF or CRLF), in order, in bounded memory:
 * input is read 64 KiB at a time, and output is handed to `write` in
 * batches of about 64 KiB (a synchronous write, which is the back-pressure).
 * Empty lines are copied through. A line whose `fn` throws an expected
 * error is reported through `onError` and skipped; with `failFast`
 * processing stops there. With `fast`, after the first
 * {@link WORKERS_AFTER_LINES} lines, batches go to worker threads; lines
 * they do not handle come back and are run through `fn` here, in order.
 *
 * @example
 * ```ts
 * await processLines(Source.open('-'), (line) => encrypt(line, key).text, writeStdout, (n, e) => ui.error(`line ${n}: ${e.message}`), false);
 * ```
 */
export async function processLines(
  src: ByteReader,
  fn: (line: Buffer, n: number) => string | Buffer,
  write: (chunk: Buffer) => void,
  onError: (n: number, e: AesPayloadError) => void,
  failFast: boolean,
  fast?: LineFastPath,
): Promise<LineReport> {
  const rep: LineReport = { lines: 0, failed: 0, firstExit: 0 };
  let stop = false;
  let out: Buffer[] = [];
  let outLen = 0;
  const emit = (b: Buffer) => {
    out.push(b);
    outLen += b.length;
    if (outLen >= 65536) flushOut();
  };
  const flushOut = () => {
    if (!outLen) return;
    write(out.length === 1 ? out[0]! : Buffer.concat(out, outLen));
    out = [];
    outLen = 0;
  };
  const NL = Buffer.from('\n');
  const fail = (n: number, e: AesPayloadError) => {
    rep.failed++;
    if (!rep.firstExit) rep.firstExit = e.exitCode;
    onError(n, e);
    // A spent KDF budget fails every later line too: stop, as with failFast.
    if (failFast || e.code === 'ERR_KDF_BUDGET') stop = true;
  };
  const runFn = (bytes: Buffer, n: number) => {
    try {
      const r = fn(bytes, n);
      emit(typeof r === 'string' ? Buffer.from(r, 'utf8') : r);
      emit(NL);
    } catch (e) {
      if (!(e instanceof AesPayloadError)) throw e;
      fail(n, e);
    }
  };
  /** One entry, on this thread. */
  const handle = (e: Entry) => {
    rep.lines = e.n; // lines finished (read-ahead lines in flight do not count)
    if (e.kind === 'empty') emit(NL);
    else if (e.kind === 'long') fail(e.n, new FormatError(`longer than ${MAX_LINE_BYTES} bytes`, 'ERR_LINE_TOO_LONG'));
    else runFn(e.bytes, e.n);
  };

  let workers: LineWorkers | undefined;
  const inflight: Batch[] = [];
  let batch: Batch | undefined;
  const newBatch = (first: number): Batch => ({ first, long: [], bytes: Buffer.allocUnsafeSlow(BATCH_BYTES + 64 * 1024), offs: new Uint32Array(2 * BATCH_LINES), count: 0 });
  let used = 0;
  const send = () => {
    if (!batch || (!batch.count && !batch.long.length)) return;
    const b = batch;
    batch = undefined;
    // The worker gets its own copy of just the used bytes (transferred, not cloned).
    const bytes = Buffer.allocUnsafeSlow(used);
    b.bytes.copy(bytes, 0, 0, used);
    b.result = workers!.run(bytes, b.offs.slice(0, 2 * b.count));
    inflight.push(b);
    used = 0;
  };
  /** Reassemble the oldest batch in order: the worker's output, with the lines it left redone through fn. */
  const settle = async () => {
    const b = inflight.shift()!;
    const r = await b.result!;
    if (!r.redo.length && !b.long.length) {
      emit(r.out);
      rep.lines = b.first + b.count - 1;
      return;
    }
    const redo = new Set(r.redo);
    const long = new Set(b.long);
    let off = 0;
    let li = 0;
    for (let k = 0; li < b.count || long.has(k); k++) {
      if (stop) return;
      const n = b.first + k;
      if (long.has(k)) {
        handle({ n, kind: 'long' });
        continue;
      }
      const i = li++;
      rep.lines = n;
      if (redo.has(i)) runFn(b.bytes.subarray(b.offs[2 * i], b.offs[2 * i + 1]), n);
      else {
        emit(r.out.subarray(off, off + r.lens[i]!));
        off += r.lens[i]!;
      }
    }
  };
  const take = async (e: Entry) => {
    if (!workers) {
      handle(e);
      if (fast && fast.workers > 0 && e.n >= WORKERS_AFTER_LINES) workers = new LineWorkers(fast.spec, fast.workers);
      return;
    }
    batch ??= newBatch(e.n);
    if (e.kind === 'long') batch.long.push(e.n - batch.first);
    else {
      const bytes = e.kind === 'line' ? e.bytes : EMPTY;
      if (used + bytes.length > batch.bytes.length) {
        // A line larger than a batch: send what there is, and this line in a batch of its own.
        send();
        batch = newBatch(e.n);
        if (bytes.length > batch.bytes.length) batch.bytes = Buffer.allocUnsafeSlow(bytes.length);
      }
      batch.offs[2 * batch.count] = used;
      used += bytes.copy(batch.bytes, used);
      batch.offs[2 * batch.count + 1] = used;
      batch.count++;
    }
    if (batch.count >= BATCH_LINES || used >= BATCH_BYTES) {
      send();
      while (inflight.length > 2 * fast!.workers && !stop) await settle();
    }
  };

  try {
    const buf = Buffer.allocUnsafe(64 * 1024);
    let carry: Buffer[] = [];
    let carryLen = 0;
    let skipping = false;
    let n = 0;
    const line = async (bytes: Buffer) => {
      n++;
      if (skipping) {
        skipping = false;
        return take({ n, kind: 'long' });
      }
      let end = bytes.length;
      if (end && bytes[end - 1] === 0x0d) end--;
      // Copied: `buf` is reused for the next read, and batches outlive it.
      return take(end === 0 ? { n, kind: 'empty' } : { n, kind: 'line', bytes: bytes.subarray(0, end) });
    };
    for (;;) {
      const got = src.read(buf);
      let start = 0;
      for (let i = buf.indexOf(0x0a, 0); i !== -1 && i < got && !stop; i = buf.indexOf(0x0a, start)) {
        const piece = buf.subarray(start, i);
        if (carryLen) {
          carry.push(piece);
          await line(Buffer.concat(carry, carryLen + piece.length));
          carry = [];
          carryLen = 0;
        } else {
          await line(piece);
        }
        start = i + 1;
      }
      if (stop) break;
      if (start < got && !skipping) {
        carry.push(Buffer.from(buf.subarray(start, got)));
        carryLen += got - start;
        if (carryLen > MAX_LINE_BYTES) {
          skipping = true;
          carry = [];
          carryLen = 0;
        }
      }
      if (got < buf.length) break;
    }
    if (!stop && (carryLen || skipping)) await line(Buffer.concat(carry, carryLen)); // last line without a newline
    send();
    while (inflight.length && !stop) await settle();
    flushOut();
    return rep;
  } finally {
    await workers?.close();
  }
}
