import { AesPayloadError, FormatError } from '../errors.js';
import { LineWorkers, type BlockResult, type FastSpec } from './lineWorkers.js';
import type { ByteReader } from './source.js';

/** Longest line accepted in line mode; longer lines fail alone. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;
/** Lines handled on the main thread before the worker threads start (small inputs never pay for them). */
export const WORKERS_AFTER_LINES = 4096;
/** Bytes asked of one read(2): a pipe gives at most what it holds (64 KiB by default), a file this much. */
const READ_BYTES = 128 * 1024;
/** Output is written once this much is waiting, and whenever the input has nothing more ready. */
const WRITE_BYTES = 64 * 1024;
const NL = Buffer.from('\n');

/** What to do with a line that fails: report it and go on, stop there, or write an error record in its place. */
export type OnError = 'skip' | 'stop' | 'record';

export interface LineReport {
  lines: number;
  failed: number;
  /** Exit status of the first failure (0 if none). */
  firstExit: number;
  /** A read of the input was still waiting when processing stopped (a failure with `stop`, or a closed output). */
  inputPending: boolean;
}

/** The parallel fast path for line mode, when the operation has one (lineWorkers.ts). */
export interface LineFastPath {
  spec: FastSpec;
  workers: number;
}

export interface LineOptions {
  /** Default 'skip'. */
  onError?: OnError;
  fast?: LineFastPath;
}

/** The error record written in place of a failed line with `--on-error record` (never any of the line itself). */
export function errorRecord(n: number, code: string): string {
  return `{"aesp_error":{"line":${n},"code":${JSON.stringify(code)}}}`;
}

/** Whole lines waiting for their turn to be written: done here, or by a worker, or a line too long. */
type Slot =
  | { kind: 'here'; buf: Buffer; start: number; end: number }
  | { kind: 'worker'; r?: BlockResult; done: Promise<void> }
  | { kind: 'long' };

/**
 * Run `fn` on every line of `src` (LF or CRLF), in order, in bounded memory,
 * as a live filter: each read(2) takes whatever the input has ready (on
 * libuv's thread pool, so that results keep flowing meanwhile), and output
 * is written, synchronously, whenever the input has nothing more ready, so a
 * line written into a pipe that stays open comes out at once; with fast
 * input, reads and writes are large. Empty lines are copied through. A line
 * whose `fn` throws an expected error is reported through `report`, and
 * then skipped, or stops the run (`stop`), or is replaced by an error record
 * (`record`). With `fast`, after the first {@link WORKERS_AFTER_LINES}
 * lines, blocks of whole lines (cut at the last newline of a read, not
 * split or copied here) go to worker threads; lines they do not handle come
 * back and are run through `fn` here, in order.
 *
 * @example
 * ```ts
 * await processLines(Source.open('-'), (line) => encrypt(line, key).text, writeStdout, (n, e) => ui.error(`line ${n}: ${e.message}`));
 * ```
 */
export async function processLines(
  src: ByteReader,
  fn: (line: Buffer, n: number) => string | Buffer,
  write: (chunk: Buffer) => void,
  report: (n: number, e: AesPayloadError) => void,
  opts: LineOptions = {},
): Promise<LineReport> {
  const onError = opts.onError ?? 'skip';
  const fast = opts.fast;
  const rep: LineReport = { lines: 0, failed: 0, firstExit: 0, inputPending: false };
  let stop = false;
  /** An unexpected error from a write or from `fn` while draining: thrown by the read loop. */
  let fatal: { e: unknown } | undefined;
  /** Wakes the read loop when a drain stopped the run (it may be waiting on a read that never comes). */
  let wake: (() => void) | undefined;
  const woken = new Promise<void>((r) => (wake = r));

  let out: Buffer[] = [];
  let outLen = 0;
  const flushOut = () => {
    if (!outLen) return;
    const b = out.length === 1 ? out[0]! : Buffer.concat(out, outLen);
    out = [];
    outLen = 0;
    write(b);
  };
  const emit = (b: Buffer) => {
    out.push(b);
    outLen += b.length;
    if (outLen >= WRITE_BYTES) flushOut();
  };
  const fail = (n: number, e: AesPayloadError) => {
    rep.failed++;
    if (!rep.firstExit) rep.firstExit = e.exitCode;
    report(n, e);
    if (onError === 'record') emit(Buffer.from(`${errorRecord(n, e.code)}\n`));
    // A spent KDF budget fails every later line too: stop, as with `stop`.
    if (onError === 'stop' || e.code === 'ERR_KDF_BUDGET') stop = true;
  };
  /** One line (without its end), here. */
  const here = (bytes: Buffer, n: number) => {
    if (bytes.length === 0) return emit(NL);
    try {
      const r = fn(bytes, n);
      emit(typeof r === 'string' ? Buffer.from(r, 'utf8') : r);
      emit(NL);
    } catch (e) {
      if (!(e instanceof AesPayloadError)) throw e;
      fail(n, e);
    }
  };
  /** The lines of buf[start, end), here; the last one may lack its newline. */
  const hereAll = (buf: Buffer, start: number, end: number) => {
    for (let s = start; s < end && !stop; ) {
      let nl = buf.indexOf(0x0a, s);
      if (nl < 0 || nl >= end) nl = end;
      let e = nl;
      if (e > s && buf[e - 1] === 0x0d) e--;
      here(buf.subarray(s, e), ++rep.lines);
      s = nl + 1;
    }
  };
  /** A worker's block, in order: its output, with the lines it left redone here. */
  const settle = (r: BlockResult) => {
    if (!r.redo.length) {
      emit(r.out);
      rep.lines += r.count;
      return;
    }
    let off = 0;
    let k = 0;
    for (let i = 0; i < r.count && !stop; i++) {
      const n = ++rep.lines;
      if (k < r.redo.length && r.redo[k] === i) {
        here(r.buf.subarray(r.redo[k + 1], r.redo[k + 2]), n);
        k += 3;
      } else {
        const len = r.lens![i]!;
        emit(r.out.subarray(off, off + len));
        off += len;
      }
    }
  };

  const queue: Slot[] = [];
  /** Write out, in order, every slot that is ready. */
  const drain = () => {
    if (fatal) return;
    try {
      while (queue.length && !stop) {
        const s = queue[0]!;
        if (s.kind === 'worker') {
          if (!s.r) break;
          settle(s.r);
        } else if (s.kind === 'here') hereAll(s.buf, s.start, s.end);
        else fail(++rep.lines, new FormatError(`longer than ${MAX_LINE_BYTES} bytes`, 'ERR_LINE_TOO_LONG'));
        queue.shift();
      }
      flushOut();
    } catch (e) {
      fatal = { e };
    }
    if (stop || fatal) wake!();
  };

  let workers: LineWorkers | undefined;
  const maxInFlight = () => 2 * (fast?.workers ?? 1) + 1;
  /** Whole lines buf[start, end): to a worker once they run, else here. */
  const dispatch = (buf: Buffer, start: number, end: number) => {
    if (start >= end) return;
    if (!workers && fast && fast.workers > 0 && rep.lines >= WORKERS_AFTER_LINES) workers = new LineWorkers(fast.spec, fast.workers);
    if (!workers) {
      queue.push({ kind: 'here', buf, start, end });
      drain();
      return;
    }
    const slot: Slot & { kind: 'worker' } = {
      kind: 'worker',
      done: workers.run(buf, start, end).then(
        (r) => {
          slot.r = r;
          drain();
        },
        (e: unknown) => {
          fatal ??= { e };
          wake!();
        },
      ),
    };
    queue.push(slot);
  };

  const readSome = src.readSome ? (b: Buffer) => src.readSome!(b) : (b: Buffer) => Promise.resolve(src.read(b));
  try {
    let buf = Buffer.allocUnsafeSlow(READ_BYTES);
    let len = 0;
    /** Bytes of a line over MAX_LINE_BYTES are being dropped until its newline. */
    let skipping = false;
    for (;;) {
      // Back-pressure: at most a few blocks in flight.
      while (queue.length > maxInFlight() && !stop && !fatal) {
        const head = queue[0]!;
        if (head.kind !== 'worker') break;
        await Promise.race([head.done, woken]);
      }
      if (stop || fatal) break;
      if (len === buf.length) {
        // No newline in a full buffer: a long line.
        if (len > MAX_LINE_BYTES) {
          skipping = true;
          len = 0;
        } else {
          const bigger = Buffer.allocUnsafeSlow(Math.min(buf.length * 2, MAX_LINE_BYTES + 1));
          buf.copy(bigger, 0, 0, len);
          buf = bigger;
        }
      }
      const reading = readSome(buf.subarray(len));
      rep.inputPending = true;
      const got = await Promise.race([reading, woken.then(() => -1)]);
      if (got < 0) break; // stopped while the input had nothing to say
      rep.inputPending = false;
      if (got === 0) break;
      const from = len;
      len += got;
      let start = 0;
      if (skipping) {
        const nl = buf.indexOf(0x0a, from);
        if (nl < 0 || nl >= len) {
          len = 0;
          continue;
        }
        skipping = false;
        queue.push({ kind: 'long' });
        drain();
        start = nl + 1;
      }
      const last = buf.lastIndexOf(0x0a, len - 1);
      if (last < Math.max(from, start)) {
        // No newline in what arrived: keep it, and read on.
        if (start) {
          buf.copy(buf, 0, start, len);
          len -= start;
        }
        continue;
      }
      // The partial line after the last newline moves to a new buffer; this one goes whole.
      const rest = len - (last + 1);
      const next = Buffer.allocUnsafeSlow(Math.max(READ_BYTES, 2 * rest));
      buf.copy(next, 0, last + 1, len);
      dispatch(buf, start, last + 1);
      buf = next;
      len = rest;
    }
    if (!stop && !fatal && !rep.inputPending) {
      if (skipping) queue.push({ kind: 'long' });
      else if (len) dispatch(buf, 0, len); // the last line, without a newline
      drain();
      while (queue.length && !stop && !fatal) {
        const head = queue[0]!;
        if (head.kind === 'worker') await head.done;
        drain();
      }
    }
    if (fatal) throw fatal.e;
    flushOut();
    return rep;
  } finally {
    await workers?.close();
  }
}
