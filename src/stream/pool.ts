import * as nodeCrypto from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { processChunks } from '../crypto/stream.js';

/** One run of chunks to seal or open, from `data` into `out`. */
export interface Job {
  op: 'seal' | 'open';
  key: Buffer;
  chunkSize: number;
  counter: number;
  lastIndex: number;
  data: Uint8Array;
  out: Uint8Array;
}

/**
 * A run of chunks that the worker reads and writes itself, with pread and
 * pwrite on descriptors of regular files (both files must stay open).
 * Resolves like {@link Job}, or to -(2^31) when the input was shorter than
 * expected (it changed while being read).
 */
export interface IoJob {
  op: 'seal' | 'open';
  key: Buffer;
  chunkSize: number;
  counter: number;
  lastIndex: number;
  inFd: number;
  inPos: number;
  inLen: number;
  outFd: number;
  outPos: number;
}

/** What an {@link IoJob} resolves to when the input file was shorter than its size said. */
export const SHORT_READ = -(2 ** 31);

/** Runs jobs: inline on this thread, or on a pool of worker threads. */
export interface Executor {
  /** Resolves to the bytes written to `out`, or `-(i + 1)` if chunk i failed. */
  run(job: Job): Promise<number>;
  close(): Promise<void>;
  readonly threads: number;
}

/** The plain single-thread path, for small inputs. */
export const inline: Executor = {
  threads: 0,
  run: (j) => Promise.resolve(processChunks(nodeCrypto, j.op, j.key, j.chunkSize, j.counter, j.lastIndex, j.data, j.out)),
  close: () => Promise.resolve(),
};

// The worker runs the very same processChunks, from its source text, so the
// pool works from the npm bundle, from tsc output and from a single
// executable alike (no worker file to find on disk). Input and output are
// views of SharedArrayBuffers that the main thread reuses, so no batch
// allocates fresh memory.
const WORKER_SOURCE = `
const c = require('node:crypto');
const fs = require('node:fs');
const { parentPort } = require('node:worker_threads');
const processChunks = ${processChunks.toString()};
let inBuf = Buffer.alloc(0);
let outBuf = Buffer.alloc(0);
function io(m) {
  if (inBuf.length < m.inLen) inBuf = Buffer.allocUnsafeSlow(m.inLen);
  if (outBuf.length < m.inLen + 65536) outBuf = Buffer.allocUnsafeSlow(m.inLen + 65536);
  let got = 0;
  while (got < m.inLen) {
    const r = fs.readSync(m.inFd, inBuf, got, m.inLen - got, m.inPos + got);
    if (r === 0) return ${SHORT_READ};
    got += r;
  }
  const n = processChunks(c, m.op, m.key, m.chunkSize, m.counter, m.lastIndex, inBuf.subarray(0, m.inLen), outBuf);
  if (n < 0) return n;
  let off = 0;
  while (off < n) off += fs.writeSync(m.outFd, outBuf, off, n - off, m.outPos + off);
  return n;
}
parentPort.on('message', (m) => {
  try {
    const n = m.inFd !== undefined ? io(m) : processChunks(c, m.op, m.key, m.chunkSize, m.counter, m.lastIndex, m.data, m.out);
    parentPort.postMessage({ id: m.id, n });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: { code: e.code, message: e.message } });
  }
});
`;

/**
 * A pool of `size` worker threads (default: one per core). Jobs go to the
 * worker with the fewest jobs in flight; results resolve per job, so the
 * caller keeps the output order.
 *
 * @example
 * ```ts
 * const pool = new Pool();
 * const n = await pool.run({ op: 'seal', key, chunkSize: 65536, counter: 0, lastIndex: -1, data, out });
 * await pool.close();
 * ```
 */
export class Pool implements Executor {
  readonly threads: number;
  private readonly workers: { w: Worker; busy: number }[] = [];
  private readonly waiting = new Map<number, { resolve: (n: number) => void; reject: (e: Error) => void }>();
  private nextId = 0;

  constructor(size = Math.max(1, process.getBuiltinModule('node:os').availableParallelism())) {
    // node:worker_threads and node:os load only when a pool is made (start-up time).
    const { Worker: W } = process.getBuiltinModule('node:worker_threads');
    this.threads = size;
    for (let i = 0; i < size; i++) {
      const w: Worker = new W(WORKER_SOURCE, { eval: true });
      const slot = { w, busy: 0 };
      w.on('message', (m: { id: number; n?: number; error?: { code?: string; message: string } }) => {
        slot.busy--;
        const p = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (m.error) p?.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
        else p?.resolve(m.n!);
      });
      w.on('error', (e) => {
        for (const p of this.waiting.values()) p.reject(e);
        this.waiting.clear();
      });
      this.workers.push(slot);
    }
  }

  run(j: Job | IoJob): Promise<number> {
    const slot = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    slot.busy++;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      slot.w.postMessage({ id, ...j });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((s) => s.w.terminate()));
  }
}
