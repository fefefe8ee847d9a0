import type { Worker } from 'node:worker_threads';

/**
 * Line mode's parallel fast path (README, "Performance"): batches of lines
 * go to worker threads that seal or open the one canonical envelope shape
 * aes-payload writes (`{"v":2,"alg":"A…GCM","kid":…,"nonce":…,"data":…,"mac":…}`
 * under one key). Every line a worker does not handle, or cannot open,
 * comes back marked, and the main thread runs it through the full, strict
 * path in order, so errors, messages and line numbers are exactly those of
 * the one-thread path. Output keeps the input order.
 */
export interface FastSpec {
  op: 'seal' | 'open';
  alg: 'A128GCM' | 'A192GCM' | 'A256GCM';
  kid: string;
  /** The envelope key (HKDF-derived from the user key, docs/FORMAT.md §2.1). */
  key: Buffer;
}

/** Worker threads for line mode: env AES_PAYLOAD_THREADS, else one per core. */
export function lineWorkerCount(env: NodeJS.ProcessEnv): number {
  const v = env.AES_PAYLOAD_THREADS;
  if (v !== undefined && v !== '') {
    const n = Number(v);
    if (Number.isInteger(n) && n >= 0 && n <= 16) return n;
  }
  return process.getBuiltinModule('node:os').availableParallelism();
}

/** One batch's result: the outputs in order, and the lines (indexes) the main thread must do itself. */
export interface BatchResult {
  /** Outputs of the handled lines, each followed by "\n"; a line to redo contributes nothing. */
  out: Buffer;
  /** Byte length of each line's output (0 for a line to redo). */
  lens: Uint32Array;
  redo: number[];
}

// Self-contained: the worker runs this text. Nonces come from a per-worker
// CSPRNG pool (randomBytes), never shared between threads.
const WORKER_SOURCE = `
const c = require('node:crypto');
const { parentPort, workerData } = require('node:worker_threads');
const spec = workerData;
const key = c.createSecretKey(Buffer.from(spec.key));
const cipher = 'aes-' + spec.alg.slice(1, 4) + '-gcm';
const aad = Buffer.from('aes-payload v2 envelope:' + spec.alg + ':' + spec.kid + ':', 'ascii');
const head = '{"v":2,"alg":"' + spec.alg + '","kid":"' + spec.kid + '","nonce":"';
const PRE = Buffer.from(head, 'latin1');
const P = PRE.length;
const MID = Buffer.from('","data":"', 'latin1');
const MACK = Buffer.from('","mac":"', 'latin1');
const TAIL_LEN = MACK.length + 24 + 2;
// Standard base64 (canonical, padded): the alphabet, "=" only at the end, length a multiple of 4,
// and no stray bits before the padding, as the strict parser requires.
const B64 = new Uint8Array(256);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') B64[ch.charCodeAt(0)] = 1;
function b64ok(b, start, end, padded) {
  if ((end - start) % 4 !== 0) return false;
  let e = end;
  if (padded && e > start && b[e - 1] === 61) { e--; if (e > start && b[e - 1] === 61) e--; }
  for (let i = start; i < e; i++) if (!B64[b[i]]) return false;
  const pads = end - e;
  if (pads === 2) return 'AQgw'.includes(String.fromCharCode(b[e - 1]));
  if (pads === 1) return 'AEIMQUYcgkosw048'.includes(String.fromCharCode(b[e - 1]));
  return true;
}
let pool = Buffer.alloc(0), at = 0;
function nonce() {
  if (at + 12 > pool.length) { pool = c.randomBytes(65536); at = 0; }
  const n = pool.subarray(at, at + 12); at += 12; return n;
}
parentPort.on('message', ({ id, buf, offs }) => {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = offs.length / 2;
  const parts = [];
  const lens = new Uint32Array(n);
  const redo = [];
  const NL = Buffer.from([10]);
  for (let i = 0; i < n; i++) {
    const line = b.subarray(offs[2 * i], offs[2 * i + 1]);
    let out;
    try {
      if (line.length === 0) out = NL;
      else if (spec.op === 'seal') {
        const iv = nonce();
        const e = c.createCipheriv(cipher, key, iv, { authTagLength: 16 });
        e.setAAD(aad);
        const ct = e.update(line); e.final();
        out = Buffer.from(head + iv.toString('base64') + '","data":"' + ct.toString('base64') + '","mac":"' + e.getAuthTag().toString('base64') + '"}\\n', 'latin1');
      } else {
        // The exact layout we write: prefix (alg and kid known), a 16-character
        // nonce, the data, a 24-character mac. Anything else is redone strictly.
        const L = line.length;
        const dataStart = P + 16 + MID.length;
        const dataEnd = L - TAIL_LEN;
        if (L >= dataStart + TAIL_LEN && line.compare(PRE, 0, P, 0, P) === 0 && line.compare(MID, 0, MID.length, P + 16, dataStart) === 0 &&
            line.compare(MACK, 0, MACK.length, dataEnd, dataEnd + MACK.length) === 0 && line[L - 2] === 34 && line[L - 1] === 125 &&
            b64ok(line, P, P + 16, false) && b64ok(line, dataStart, dataEnd, true) && b64ok(line, dataEnd + MACK.length, L - 2, true) &&
            'AQgw'.includes(String.fromCharCode(line[L - 5])) && line[L - 4] === 61 && line[L - 3] === 61) {
          const d = c.createDecipheriv(cipher, key, Buffer.from(line.toString('latin1', P, P + 16), 'base64'), { authTagLength: 16 });
          d.setAAD(aad);
          d.setAuthTag(Buffer.from(line.toString('latin1', dataEnd + MACK.length, L - 2), 'base64'));
          const pt = d.update(Buffer.from(line.toString('latin1', dataStart, dataEnd), 'base64'));
          d.final();
          if (!pt.includes(10)) { parts.push(pt); lens[i] = pt.length + 1; out = NL; }
        }
      }
    } catch {}
    if (out) { parts.push(out); if (!lens[i]) lens[i] = out.length; } else redo.push(i);
  }
  // Its own ArrayBuffer: Buffer.concat may return a slice of the shared pool, which
  // Node 22+ refuses to transfer (DataCloneError).
  let total = 0;
  for (const p of parts) total += p.length;
  const out = Buffer.allocUnsafeSlow(total);
  let o = 0;
  for (const p of parts) { p.copy(out, o); o += p.length; }
  parentPort.postMessage({ id, out, lens, redo }, [out.buffer]);
});
`;

/**
 * A few worker threads taking batches of lines, results in any order (the
 * caller restores it).
 *
 * @example
 * ```ts
 * const w = new LineWorkers(spec, 2); const r = await w.run(batchBytes, offsets); await w.close();
 * ```
 */
export class LineWorkers {
  private readonly workers: { w: Worker; busy: number }[] = [];
  private readonly waiting = new Map<number, (r: BatchResult) => void>();
  private nextId = 0;

  constructor(spec: FastSpec, count: number) {
    const { Worker: W } = process.getBuiltinModule('node:worker_threads');
    for (let i = 0; i < count; i++) {
      const w: Worker = new W(WORKER_SOURCE, { eval: true, env: {}, workerData: { ...spec, key: new Uint8Array(spec.key) } });
      const slot = { w, busy: 0 };
      w.on('message', (m: { id: number; out: Uint8Array; lens: Uint32Array; redo: number[] }) => {
        slot.busy--;
        const done = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        done?.({ out: Buffer.from(m.out.buffer, m.out.byteOffset, m.out.byteLength), lens: m.lens, redo: m.redo });
      });
      this.workers.push(slot);
    }
  }

  /** `buf` holds the batch's bytes; `offs` holds [start, end) of each line in it. */
  run(buf: Buffer, offs: Uint32Array): Promise<BatchResult> {
    const slot = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    slot.busy++;
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      slot.w.postMessage({ id, buf, offs }, [buf.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((s) => s.w.terminate()));
  }
}
