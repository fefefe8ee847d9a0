import * as nodeCrypto from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { processChunks } from '../crypto/stream.js';
import { GC_EVERY_BYTES, GcPacer, enableGc } from './gc.js';

/** One job: seal or open `len` bytes of `inp` into `out`, as processChunks does. */
export interface Job {
  op: 'seal' | 'open';
  key: Buffer;
  chunkSize: number;
  counter: number;
  lastIndex: number;
  inp: Buffer;
  len: number;
  out: Buffer;
}

// The worker runs the very same processChunks, from its source text, so it
// works from the npm bundle, from tsc output and from a single executable
// alike (no worker file to find). Buffers are views of SharedArrayBuffers:
// nothing is copied between the threads.
const WORKER_SOURCE = `
const c = require('node:crypto');
const { parentPort } = require('node:worker_threads');
const processChunks = ${processChunks.toString()};
const collect = typeof gc === 'function' ? gc : undefined;
let since = 0;
parentPort.on('message', (m) => {
  try {
    const n = processChunks(c, m.op, m.key, m.chunkSize, m.counter, m.lastIndex, m.inp.subarray(0, m.len), m.out);
    since += n > 0 ? n : 0;
    if (collect && since >= ${GC_EVERY_BYTES}) { since = 0; collect({ type: 'minor' }); }
    parentPort.postMessage({ id: m.id, n });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String(e && e.message) });
  }
});
`;

/** Worker threads for streams besides the main thread: env AES_PAYLOAD_THREADS (default 1 with 2 cores or more). */
export function workerCount(env: NodeJS.ProcessEnv): number {
  const v = env.AES_PAYLOAD_THREADS;
  if (v !== undefined && v !== '') {
    const n = Number(v);
    if (Number.isInteger(n) && n >= 0 && n <= 16) return n;
  }
  return process.getBuiltinModule('node:os').availableParallelism() > 1 ? 1 : 0;
}

/** Below this many bytes a stream stays on the main thread: starting a worker costs more than it saves. */
export const WORKER_THRESHOLD = 4 * 1024 * 1024;

/**
 * Where jobs run: on the main thread, and (for large streams) on worker
 * threads too, whichever is free. Each worker costs about 11 MiB, so there
 * is one by default (README, "Performance").
 *
 * @example
 * ```ts
 * const lanes = new Lanes(1); const n = await lanes.run(job); await lanes.close();
 * ```
 */
export class Lanes {
  private readonly gc = new GcPacer();
  private workers: { w: Worker; busy: boolean }[] | undefined;
  private readonly waiting = new Map<number, (r: { n?: number; error?: string }) => void>();
  private nextId = 0;
  private mainBusy = false;
  private seen = 0;
  private queue: (() => void)[] = [];

  constructor(private readonly extra: number) {}

  private start(): void {
    if (this.workers || this.extra === 0 || this.seen < WORKER_THRESHOLD) return;
    enableGc(); // before the worker exists, so that it gets gc() too
    const { Worker: W } = process.getBuiltinModule('node:worker_threads');
    this.workers = Array.from({ length: this.extra }, () => {
      const w: Worker = new W(WORKER_SOURCE, { eval: true, env: {} });
      w.on('message', (m: { id: number; n?: number; error?: string }) => {
        const done = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        done?.(m);
      });
      w.unref();
      return { w, busy: false };
    });
  }

  private release(): void {
    const next = this.queue.shift();
    next?.();
  }

  /** Resolves to the bytes written to `out`, or `-(i + 1)` when chunk i failed to authenticate. */
  async run(j: Job): Promise<number> {
    this.seen += j.len;
    this.start();
    // A free worker first; the main thread when the workers are busy (it then works meanwhile).
    for (;;) {
      const slot = this.workers?.find((s) => !s.busy);
      if (slot) {
        slot.busy = true;
        slot.w.ref();
        const id = this.nextId++;
        try {
          const r = await new Promise<{ n?: number; error?: string }>((resolve) => {
            this.waiting.set(id, resolve);
            slot.w.postMessage({ id, op: j.op, key: j.key, chunkSize: j.chunkSize, counter: j.counter, lastIndex: j.lastIndex, inp: j.inp, len: j.len, out: j.out });
          });
          if (r.error !== undefined) throw new Error(r.error);
          return r.n!;
        } finally {
          slot.busy = false;
          slot.w.unref();
          this.release();
        }
      }
      if (!this.mainBusy) {
        this.mainBusy = true;
        try {
          const n = processChunks(nodeCrypto, j.op, j.key, j.chunkSize, j.counter, j.lastIndex, j.inp.subarray(0, j.len), j.out);
          if (n > 0) this.gc.produced(n);
          return n;
        } finally {
          this.mainBusy = false;
          this.release();
        }
      }
      await new Promise<void>((r) => this.queue.push(r));
    }
  }

  async close(): Promise<void> {
    await Promise.all((this.workers ?? []).map((s) => s.w.terminate()));
  }
}
