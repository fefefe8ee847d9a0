import type { Worker } from 'node:worker_threads';

/**
 * Line mode's parallel fast path (README, "Performance"): blocks of whole
 * lines go to worker threads that seal or open the one canonical envelope shape
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

/** One block's result: the outputs in order, and the lines the main thread must do itself. */
export interface BlockResult {
  /** Outputs of the handled lines, each followed by "\n"; a line to redo contributes nothing. */
  out: Buffer;
  /** Lines in the block. */
  count: number;
  /** The block's buffer, back from the worker. */
  buf: Buffer;
  /** For each line to redo: its index in the block, and its [start, end) in `buf` (without "\n" or "\r"). */
  redo: Int32Array;
  /** Byte length of each line's output (0 for a line to redo); only when there is something to redo. */
  lens?: Uint32Array;
}

// Self-contained: the worker runs this text. Nonces come from a per-worker
// CSPRNG pool (randomBytes), never shared between threads. A block is whole
// lines cut at newlines by the main thread, which neither splits nor copies
// them (README, "Performance").
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
// Decoding a range that b64ok accepted, into a scratch buffer (no strings, no allocation).
const DEC = new Uint8Array(256);
for (let i = 0; i < 64; i++) DEC['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;
function b64dec(b, start, end, out) {
  let e = end;
  while (e > start && b[e - 1] === 61) e--;
  let o = 0, i = start;
  for (; i + 4 <= e; i += 4) {
    const v = (DEC[b[i]] << 18) | (DEC[b[i + 1]] << 12) | (DEC[b[i + 2]] << 6) | DEC[b[i + 3]];
    out[o++] = v >> 16; out[o++] = (v >> 8) & 255; out[o++] = v & 255;
  }
  if (e - i === 3) { const v = (DEC[b[i]] << 18) | (DEC[b[i + 1]] << 12) | (DEC[b[i + 2]] << 6); out[o++] = v >> 16; out[o++] = (v >> 8) & 255; }
  else if (e - i === 2) { const v = (DEC[b[i]] << 18) | (DEC[b[i + 1]] << 12); out[o++] = v >> 16; }
  return o;
}
const IV = Buffer.alloc(12), TAG = Buffer.alloc(16);
let scratch = Buffer.alloc(65536);
const OPTS = { authTagLength: 16 };
let pool = Buffer.alloc(0), at = 0;
/** The next 12 random bytes of the pool, into IV (a fixed buffer: no allocation per line). */
function nonce() {
  if (at + 12 > pool.length) { pool = c.randomBytes(65536); at = 0; }
  pool.copy(IV, 0, at, at + 12); at += 12; return IV;
}
/** One line's output (with its newline) as a latin1 string or bytes, or undefined to redo it. */
function one(line) {
  if (line.length === 0) return '\\n';
  if (spec.op === 'seal') {
    const iv = nonce();
    const e = c.createCipheriv(cipher, key, iv, OPTS);
    e.setAAD(aad);
    const ct = e.update(line); e.final();
    return head + iv.toString('base64') + '","data":"' + ct.toString('base64') + '","mac":"' + e.getAuthTag().toString('base64') + '"}\\n';
  }
  // The exact layout we write: prefix (alg and kid known), a 16-character
  // nonce, the data, a 24-character mac. Anything else is redone strictly.
  const L = line.length;
  const dataStart = P + 16 + MID.length;
  const dataEnd = L - TAIL_LEN;
  if (L >= dataStart + TAIL_LEN && line.compare(PRE, 0, P, 0, P) === 0 && line.compare(MID, 0, MID.length, P + 16, dataStart) === 0 &&
      line.compare(MACK, 0, MACK.length, dataEnd, dataEnd + MACK.length) === 0 && line[L - 2] === 34 && line[L - 1] === 125 &&
      b64ok(line, P, P + 16, false) && b64ok(line, dataStart, dataEnd, true) && b64ok(line, dataEnd + MACK.length, L - 2, true) &&
      'AQgw'.includes(String.fromCharCode(line[L - 5])) && line[L - 4] === 61 && line[L - 3] === 61) {
    b64dec(line, P, P + 16, IV);
    b64dec(line, dataEnd + MACK.length, L - 2, TAG);
    if (scratch.length < dataEnd - dataStart) scratch = Buffer.alloc(dataEnd - dataStart);
    const n = b64dec(line, dataStart, dataEnd, scratch);
    const d = c.createDecipheriv(cipher, key, IV, OPTS);
    d.setAAD(aad);
    d.setAuthTag(TAG);
    const pt = d.update(scratch.subarray(0, n));
    d.final();
    if (!pt.includes(10)) return pt;
  }
  return undefined;
}
const NL = Buffer.from([10]);
parentPort.on('message', ({ id, buf, start, end }) => {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const parts = [];
  const sizes = [];
  const redo = [];
  let total = 0;
  let count = 0;
  let strs = '';
  for (let s = start; s < end; count++) {
    let nl = b.indexOf(10, s);
    if (nl < 0 || nl >= end) nl = end;
    let e = nl;
    if (e > s && b[e - 1] === 13) e--;
    let out;
    try { out = one(b.subarray(s, e)); } catch {}
    if (out === undefined) { redo.push(count, s, e); sizes.push(0); }
    else if (typeof out === 'string') {
      strs += out; sizes.push(out.length); total += out.length;
      // Small flat strings: one of 128 KiB or more would be a large object (a fresh mapping, faulted in).
      if (strs.length >= 16384) { parts.push(Buffer.from(strs, 'latin1')); strs = ''; }
    }
    else {
      // bytes (a plaintext): flush the strings before it, then it and its newline
      if (strs) { parts.push(Buffer.from(strs, 'latin1')); strs = ''; }
      parts.push(out, NL); sizes.push(out.length + 1); total += out.length + 1;
    }
    s = nl + 1;
  }
  if (strs) parts.push(Buffer.from(strs, 'latin1'));
  // Its own ArrayBuffer: Buffer.concat may return a slice of the shared pool, which
  // Node 22+ refuses to transfer (DataCloneError).
  const out = Buffer.allocUnsafeSlow(total);
  let o = 0;
  for (const p of parts) { p.copy(out, o); o += p.length; }
  const r = { id, out, count, buf, redo: Int32Array.from(redo) };
  if (redo.length) r.lens = Uint32Array.from(sizes);
  parentPort.postMessage(r, [out.buffer, buf.buffer]);
});
`;

/**
 * A few worker threads taking blocks of whole lines, results in any order
 * (the caller restores it).
 *
 * @example
 * ```ts
 * const w = new LineWorkers(spec, 2); const r = await w.run(buf, 0, end); await w.close();
 * ```
 */
export class LineWorkers {
  private readonly workers: { w: Worker; busy: number }[] = [];
  private readonly waiting = new Map<number, (r: BlockResult) => void>();
  private readonly rejects = new Map<number, (e: Error) => void>();
  private readonly owner = new Map<number, { w: Worker; busy: number }>();
  private nextId = 0;
  private closing = false;

  constructor(spec: FastSpec, count: number) {
    const { Worker: W } = process.getBuiltinModule('node:worker_threads');
    for (let i = 0; i < count; i++) {
      const w: Worker = new W(WORKER_SOURCE, { eval: true, env: {}, workerData: { ...spec, key: new Uint8Array(spec.key) } });
      const slot = { w, busy: 0 };
      w.on('message', (m: { id: number; out: Uint8Array; count: number; buf: Uint8Array; redo: Int32Array; lens?: Uint32Array }) => {
        slot.busy--;
        const done = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        this.rejects.delete(m.id);
        this.owner.delete(m.id);
        done?.({ out: Buffer.from(m.out.buffer, m.out.byteOffset, m.out.byteLength), count: m.count, buf: Buffer.from(m.buf.buffer, m.buf.byteOffset, m.buf.byteLength), redo: m.redo, ...(m.lens ? { lens: m.lens } : {}) });
      });
      // A worker that dies fails every block it held (and the run), rather than leaving them waiting.
      const lost = (e: Error) => {
        if (this.closing) return;
        for (const [id, r] of this.rejects) {
          if (this.owner.get(id) === slot) {
            this.waiting.delete(id);
            this.rejects.delete(id);
            r(e);
          }
        }
      };
      w.on('error', lost);
      w.on('exit', () => lost(new Error('a line worker thread stopped')));
      this.workers.push(slot);
    }
  }

  /**
   * Hand over the lines in `buf[start, end)` (whole lines; the last one may
   * lack its newline only at the end of the input). `buf` must own its
   * ArrayBuffer, which is transferred and comes back in the result.
   */
  run(buf: Buffer, start: number, end: number): Promise<BlockResult> {
    const slot = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    slot.busy++;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, resolve);
      this.rejects.set(id, reject);
      this.owner.set(id, slot);
      slot.w.postMessage({ id, buf, start, end }, [buf.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((s) => s.w.terminate()));
  }
}
