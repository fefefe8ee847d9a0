import type { Worker } from 'node:worker_threads';
import { processChunks } from '../../crypto/stream.js';
import { GC_EVERY_BYTES, GcPacer, enableGc } from './gc.js';

/** What every lane of one file-to-file stream shares. */
export interface FileWork {
  op: 'seal' | 'open';
  key: Uint8Array;
  chunkSize: number;
  /** Chunks per job. */
  perJob: number;
  /** Chunks in the whole stream. */
  chunks: number;
  inFd: number;
  /** File offsets of the first input byte and of the end of the input. */
  inStart: number;
  inEnd: number;
  outFd: number;
  /** File offset of the first output byte. */
  outStart: number;
}

/** What a lane returns, and stores in the shared failure slot for the others (0 there: none). */
export const LANE_DONE = 0;
export const LANE_AGAIN = -1;
export const LANE_AUTH = 1;
export const LANE_CHANGED = 2;
export const LANE_IO = 3;

/**
 * One lane of a file-to-file stream: takes the next job from the shared
 * counter `ctl[0]`, reads its input at its offset, seals or opens it, and
 * writes `update()`'s outputs at their offset with one writev (no copy).
 * Returns LANE_DONE (0) when no job is left or another lane failed,
 * LANE_AGAIN (-1) when `budgetMs` ran out first, or a failure, LANE_AUTH (1)
 * or LANE_CHANGED (2), which it also stores in `ctl[1]` so that the other
 * lanes stop; I/O errors set LANE_IO (3) there and are thrown. `ctl[2]`
 * counts jobs done.
 *
 * Self-contained, as processChunks: worker threads run it from its source.
 */
export function fileLane(
  c: typeof import('node:crypto'),
  fs: typeof import('node:fs'),
  chunks: typeof processChunks,
  w: FileWork,
  ctl: Int32Array,
  buf: Buffer,
  budgetMs: number,
  produced: (bytes: number) => void,
): number {
  const wire = w.op === 'seal' ? w.chunkSize : w.chunkSize + 16;
  const outChunk = w.op === 'seal' ? w.chunkSize + 16 : w.chunkSize;
  const jobs = Math.ceil(w.chunks / w.perJob);
  const start = Date.now();
  for (;;) {
    if (Atomics.load(ctl, 1) !== 0) return 0;
    const j = Atomics.add(ctl, 0, 1);
    if (j >= jobs) return 0;
    const first = j * w.perJob;
    const pos = w.inStart + first * wire;
    const want = Math.min(wire * w.perJob, w.inEnd - pos);
    let got = 0;
    try {
      while (got < want) {
        const n = fs.readSync(w.inFd, buf, got, want - got, pos + got);
        if (n === 0) break;
        got += n;
      }
    } catch (e) {
      Atomics.store(ctl, 1, 3);
      throw e;
    }
    if (got !== want) {
      Atomics.store(ctl, 1, 2);
      return 2;
    }
    const parts: Uint8Array[] = [];
    const n = chunks(c, w.op, w.key, w.chunkSize, first, w.chunks - 1 - first, buf.subarray(0, got), parts);
    if (n < 0) {
      Atomics.store(ctl, 1, 1);
      return 1;
    }
    try {
      let at = w.outStart + first * outChunk;
      let left = parts;
      let todo = n;
      while (todo > 0) {
        let k = fs.writevSync(w.outFd, left, at);
        at += k;
        todo -= k;
        if (todo > 0) {
          // A partial write: resume inside the part it stopped in.
          let i = 0;
          while (k >= left[i]!.length) k -= left[i++]!.length;
          left = [left[i]!.subarray(k), ...left.slice(i + 1)];
        }
      }
    } catch (e) {
      Atomics.store(ctl, 1, 3);
      throw e;
    }
    produced(n);
    Atomics.add(ctl, 2, 1);
    if (Date.now() - start >= budgetMs) return -1;
  }
}

// The worker runs the very same fileLane and processChunks, from their
// source text, so it works from the npm bundle, from tsc output and from a
// single executable alike (no worker file to find).
const WORKER_SOURCE = `
const c = require('node:crypto');
const fs = require('node:fs');
const { parentPort, workerData: d } = require('node:worker_threads');
const processChunks = ${processChunks.toString()};
const fileLane = ${fileLane.toString()};
const collect = typeof gc === 'function' ? gc : undefined;
let since = 0;
const produced = (n) => { since += n; if (collect && since >= ${GC_EVERY_BYTES}) { since = 0; collect({ type: 'minor' }); } };
const ctl = new Int32Array(d.ctl);
try {
  const wire = d.w.op === 'seal' ? d.w.chunkSize : d.w.chunkSize + 16;
  fileLane(c, fs, processChunks, d.w, ctl, Buffer.allocUnsafeSlow(wire * d.w.perJob), Infinity, produced);
  parentPort.postMessage({});
} catch (e) {
  Atomics.store(ctl, 1, 3);
  parentPort.postMessage({ error: { message: String(e && e.message), code: e && e.code, syscall: e && e.syscall } });
}
`;

/**
 * Worker threads for file-to-file streams besides the main thread: env
 * AES_PAYLOAD_THREADS (0 to 16), else none. A worker costs a third more CPU
 * time in all (a second heap and allocator) and 13 to 19 MiB, and was
 * slower than the main thread alone whenever the machine had other work
 * (measured at load averages of 3 to 8 on 2 cores; README, "Performance").
 */
export function workerCount(env: NodeJS.ProcessEnv): number {
  const v = env.AES_PAYLOAD_THREADS;
  if (v !== undefined && v !== '') {
    const n = Number(v);
    if (Number.isInteger(n) && n >= 0 && n <= 16) return n;
  }
  return 0;
}

/** Below this many input bytes a stream stays on the main thread: starting a worker costs more than it saves. */
export const WORKER_THRESHOLD = 8 * 1024 * 1024;

/** How a run of file lanes ended: fine, or which failure (an I/O error comes with its errno fields). */
export type LanesOutcome = { failed: 0 } | { failed: typeof LANE_AUTH | typeof LANE_CHANGED } | { failed: typeof LANE_IO; error: NodeJS.ErrnoException };

/**
 * Run a file-to-file stream on the main thread and `extra` worker threads,
 * all taking jobs from one shared counter. The main thread yields to the
 * event loop every 50 ms (progress, signals).
 *
 * @example
 * ```ts
 * const r = await runFileLanes(work, 1, (jobsDone) => {});
 * ```
 */
export async function runFileLanes(w: FileWork, extra: number, onJobs?: (jobsDone: number) => void): Promise<LanesOutcome> {
  const ctl = new Int32Array(new SharedArrayBuffer(12));
  const done: Promise<{ error?: { message: string; code?: string; syscall?: string } }>[] = [];
  const workers: Worker[] = [];
  if (extra > 0) {
    enableGc(); // before the workers exist, so that they get gc() too
    const { Worker: W } = process.getBuiltinModule('node:worker_threads');
    for (let i = 0; i < extra; i++) {
      const wk: Worker = new W(WORKER_SOURCE, { eval: true, env: {}, workerData: { w, ctl: ctl.buffer } });
      workers.push(wk);
      done.push(
        new Promise((resolve) => {
          wk.once('message', resolve);
          wk.once('error', (e) => resolve({ error: { message: e.message } }));
          wk.once('exit', () => resolve({ error: { message: 'a stream worker thread stopped' } }));
        }),
      );
    }
  }
  const nodeCrypto = process.getBuiltinModule('node:crypto');
  const nodeFs = process.getBuiltinModule('node:fs');
  const gc = new GcPacer();
  const wire = w.op === 'seal' ? w.chunkSize : w.chunkSize + 16;
  const buf = Buffer.allocUnsafeSlow(wire * w.perJob);
  let mainError: NodeJS.ErrnoException | undefined;
  try {
    for (;;) {
      let r: number;
      try {
        r = fileLane(nodeCrypto, nodeFs, processChunks, w, ctl, buf, 50, (n) => gc.produced(n));
      } catch (e) {
        mainError = e as NodeJS.ErrnoException;
        break;
      }
      onJobs?.(Atomics.load(ctl, 2));
      if (r !== LANE_AGAIN) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const results = await Promise.all(done);
    onJobs?.(Atomics.load(ctl, 2));
    const failed = Atomics.load(ctl, 1);
    if (failed === LANE_AUTH || failed === LANE_CHANGED) return { failed };
    if (failed === LANE_IO) {
      const we = results.find((x) => x.error)?.error;
      const error: NodeJS.ErrnoException = mainError ?? Object.assign(new Error(we?.message ?? 'I/O error'), { code: we?.code, syscall: we?.syscall });
      return { failed: LANE_IO, error };
    }
    const lost = results.find((x) => x.error);
    if (lost) return { failed: LANE_IO, error: new Error(lost.error!.message) };
    return { failed: 0 };
  } finally {
    await Promise.all(workers.map((wk) => wk.terminate()));
  }
}
