// `aes-payload worker` against a real nats-server -js on 127.0.0.1 (issue 21):
// two workers share 20,000 records and one is killed with SIGKILL halfway;
// every record comes out exactly once and decrypts (with `decrypt --lines`)
// to its input; failing records land in the dead-letter subject with their
// code and sequence and none of their plaintext; SIGTERM drains; the metrics
// endpoint answers in a format prometheus_client parses. Every wait is for an
// event (a log line, a count on the server), with backstops only a hang hits.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetentionPolicy, type JsMsg } from '@nats-io/jetstream';
import { PYTHON, run, runPeer, tempDir } from '../helpers.js';
import { Worker, startNats, until, type Nats } from './nats-helpers.js';

const dir = tempDir();
const key = randomBytes(32);
const env = { AES_PAYLOAD_KEY: key.toString('hex') };
let nats: Nats;

beforeAll(async () => {
  nats = await startNats(dir);
});
afterAll(async () => {
  await nats?.stop();
});

/** An input stream (work-queue retention: a record leaves once acked) and an output stream for out and dead letters. */
async function streams(name: string): Promise<{ in: string; out: string; dead: string; IN: string; OUT: string }> {
  const s = { in: `${name}.in`, out: `${name}.out`, dead: `${name}.dead`, IN: `${name.toUpperCase()}_IN`, OUT: `${name.toUpperCase()}_OUT` };
  await nats.jsm.streams.add({ name: s.IN, subjects: [s.in], retention: RetentionPolicy.Workqueue });
  await nats.jsm.streams.add({ name: s.OUT, subjects: [s.out, s.dead] });
  return s;
}

async function publishAll(subject: string, bodies: (string | Buffer)[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 500) await Promise.all(bodies.slice(i, i + 500).map((b) => nats.js.publish(subject, b)));
}

const count = async (stream: string) => (await nats.jsm.streams.info(stream)).state.messages;

/** Every message in `stream`, in stream order. */
async function readAll(stream: string): Promise<JsMsg[]> {
  const total = await count(stream);
  const out: JsMsg[] = [];
  if (!total) return out;
  const c = await nats.js.consumers.get(stream);
  const it = await c.consume();
  for await (const m of it) {
    out.push(m);
    if (out.length === total) break;
  }
  return out;
}

const workerArgs = (s: { IN: string; in: string; out: string; dead: string }, extra: string[] = []) => ['--nats', nats.url, '--stream', s.IN, '--in', s.in, '--out', s.out, '--dead-letter', s.dead, ...extra];

describe('worker', () => {
  it('two workers share 20,000 records; one killed with SIGKILL halfway; every record comes out exactly once and decrypts to its input', async () => {
    const s = await streams('share');
    const N = 20_000;
    const inputs = Array.from({ length: N }, (_, i) => JSON.stringify({ i, email: `user${i}@example.com`, note: `n-${i}` }));
    await publishAll(s.in, inputs);
    // A short --ack-wait, so that what the killed worker held comes back soon.
    const args = workerArgs(s, ['--batch', '100', '--max-ack-pending', '1000', '--ack-wait', '2', 'encrypt', '--fields', 'email']);
    const a = new Worker(args, env);
    const b = new Worker(args, env);
    await a.line((l) => l.msg === 'batch', 'a first batch from worker A');
    await until('half the records out', async () => (await count(s.OUT)) >= N / 2);
    a.kill('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');
    await until('every record out', async () => {
      const ci = await nats.jsm.consumers.info(s.IN, 'aes-payload');
      return ci.num_pending === 0 && ci.num_ack_pending === 0 && (await count(s.OUT)) >= N;
    }, 200);
    // The killed worker held records, and they were delivered again (to B).
    expect(b.lines.filter((l) => l.msg === 'batch').reduce((n, l) => n + (l.redelivered as number), 0)).toBeGreaterThan(0);
    expect(a.settled()).toBeGreaterThan(0);
    expect(b.settled()).toBeGreaterThan(0);
    b.kill('SIGTERM');
    expect((await b.exited).code).toBe(0);

    const out = await readAll(s.OUT);
    expect(out.length).toBe(N);
    expect(out.every((m) => m.subject === s.out)).toBe(true);
    // One output per input sequence: its Nats-Msg-Id is <stream>:<seq>.
    const bySeq = new Map<number, string>();
    for (const m of out) {
      const id = m.headers?.get('Nats-Msg-Id') ?? '';
      const seq = Number(id.slice(`${s.IN}:`.length));
      expect(id.startsWith(`${s.IN}:`) && seq >= 1 && seq <= N).toBe(true);
      expect(bySeq.has(seq)).toBe(false);
      bySeq.set(seq, m.string());
    }
    expect(bySeq.size).toBe(N);
    // The email is encrypted, the rest as it was.
    const first = JSON.parse(bySeq.get(1)!) as { email: string; i: number };
    expect(first.i).toBe(0);
    expect(first.email).not.toContain('example.com');
    // The CLI's own line mode reads the worker's output back, in input order.
    const ndjson = Array.from({ length: N }, (_, i) => bySeq.get(i + 1)!).join('\n') + '\n';
    const r = run(['decrypt', '--lines'], { input: ndjson, env });
    expect(r.code).toBe(0);
    expect(r.out).toBe(inputs.join('\n') + '\n');
    // Work-queue retention: every input was acked, so none is left.
    expect(await count(s.IN)).toBe(0);
  });

  it('a record that is not authentic, not JSON, or lacks its field goes to the dead-letter subject with its code and sequence and no plaintext; the worker goes on', async () => {
    const s = await streams('dead');
    const plain = ['{"v":"first-secret-value"}', '{"v":"second-secret-value"}', '{"v":"third-secret-value"}'];
    const enc = run(['encrypt', '--lines'], { input: plain.join('\n') + '\n', env });
    expect(enc.code).toBe(0);
    const lines = enc.out.trim().split('\n');
    // Tamper: one base64 character of the ciphertext changed.
    const t = JSON.parse(lines[1]!) as { ciphertext?: string; data?: string; [k: string]: unknown };
    const field = Object.keys(t).find((k) => k !== 'v' && typeof t[k] === 'string' && (t[k] as string).length > 20 && k !== 'kid' && k !== 'alg')!;
    const v = t[field] as string;
    t[field] = (v[0] === 'A' ? 'B' : 'A') + v.slice(1);
    const bodies = [lines[0]!, JSON.stringify(t), 'not json at all', lines[2]!];
    await publishAll(s.in, bodies);
    const w = new Worker(workerArgs(s, ['decrypt']), env);
    await until('four records settled', async () => (await count(s.OUT)) === 4);
    w.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
    const out = await readAll(s.OUT);
    const dead = out.filter((m) => m.subject === s.dead);
    const good = out.filter((m) => m.subject === s.out);
    expect(good.map((m) => m.string())).toEqual([plain[0], plain[2]]);
    const errs = dead.map((m) => JSON.parse(m.string()) as { aesp_error: { seq: number; code: string } });
    expect(errs[0]).toEqual({ aesp_error: { seq: 2, code: 'ERR_AUTH' } });
    expect(errs[1]!.aesp_error.seq).toBe(3);
    expect(errs[1]!.aesp_error.code).toMatch(/^ERR_[A-Z_]+$/);
    expect(errs).toHaveLength(2);
    for (const m of dead) expect(m.string()).not.toContain('secret-value');
    expect(dead.map((m) => m.headers?.get('Nats-Msg-Id'))).toEqual([`${s.IN}:2`, `${s.IN}:3`]);
    expect(w.stderr).not.toContain('secret-value');
    expect(await count(s.IN)).toBe(0);

    // encrypt --fields: a record without the field, and one that is not JSON.
    const s2 = await streams('dead2');
    await publishAll(s2.in, ['{"email":"a@example.com"}', '{"name":"no email here"}', '[1,2', '{"email":"b@example.com"}']);
    const w2 = new Worker(workerArgs(s2, ['encrypt', '--fields', 'email']), env);
    await until('four records settled', async () => (await count(s2.OUT)) === 4);
    w2.kill('SIGTERM');
    expect((await w2.exited).code).toBe(0);
    const out2 = await readAll(s2.OUT);
    const dead2 = out2.filter((m) => m.subject === s2.dead).map((m) => JSON.parse(m.string()) as { aesp_error: { seq: number; code: string } });
    expect(dead2.map((d) => d.aesp_error.seq)).toEqual([2, 3]);
    for (const d of dead2) expect(d.aesp_error.code).toMatch(/^ERR_[A-Z_]+$/);
    expect(out2.filter((m) => m.subject === s2.dead).map((m) => m.string()).join('')).not.toContain('no email here');
    expect(out2.filter((m) => m.subject === s2.out)).toHaveLength(2);
  });

  it('SIGTERM drains: no more pulls, what is in hand is published and acked, exit 0; a new worker finishes the rest exactly once; metrics answer', async () => {
    const s = await streams('drain');
    const N = 5000;
    const inputs = Array.from({ length: N }, (_, i) => `{"n":${i}}`);
    await publishAll(s.in, inputs);
    const args = workerArgs(s, ['--batch', '50', '--ack-wait', '1', '--metrics-listen', '127.0.0.1:0', 'encrypt', '--format', 'raw']);
    const w = new Worker(args, env);
    const m = await w.line((l) => l.msg === 'metrics', 'the metrics line');
    await until('some records out', async () => (await count(s.OUT)) > 0, 10);
    const text = await (await fetch(String(m.url))).text();
    // prometheus_client's own parser is the judge of the format.
    const parsed = runPeer(PYTHON, ['-c', 'import sys\nfrom prometheus_client.parser import text_string_to_metric_families as f\nfor fam in f(sys.stdin.read()):\n  for s in fam.samples: print(s.name, s.labels.get("outcome", ""), s.value)'], text);
    expect(parsed.code).toBe(0);
    expect(parsed.out).toMatch(/^aes_payload_worker_records_total ok \d+/m);
    expect(parsed.out).toMatch(/^process_cpu_seconds_total {2}\d/m);
    w.kill('SIGTERM');
    const e = await w.exited;
    expect(e.code).toBe(0);
    expect(w.lines.some((l) => l.msg === 'stopped')).toBe(true);
    // Every acked record has its output stored, and only those (work-queue: an acked record leaves the input stream).
    const left = await count(s.IN);
    expect(await count(s.OUT)).toBe(N - left);
    expect(w.settled()).toBe(N - left);

    // Another worker takes the rest (what the stopped one was sent but never saw comes back after --ack-wait).
    const w2 = new Worker(args.filter((a, i) => a !== '--metrics-listen' && args[i - 1] !== '--metrics-listen'), env);
    await until('every record out', async () => (await count(s.OUT)) >= N && (await count(s.IN)) === 0, 100);
    w2.kill('SIGTERM');
    expect((await w2.exited).code).toBe(0);
    const out = await readAll(s.OUT);
    expect(out).toHaveLength(N);
    expect(new Set(out.map((x) => x.headers?.get('Nats-Msg-Id'))).size).toBe(N);
    const r = run(['decrypt', '--lines', '--format', 'raw'], { input: out.map((x) => x.string()).join('\n') + '\n', env });
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n').sort()).toEqual([...inputs].sort());
  });

  it('refuses a missing stream, an output its input would read, and a NATS server that is not there, each with one line and exit status', async () => {
    const s = await streams('bad');
    const missing = run(['worker', '--nats', nats.url, '--stream', 'NOPE', '--in', s.in, '--out', s.out, 'encrypt'], { env });
    expect(missing.code).toBe(5);
    expect(missing.stderr).toMatch(/^aes-payload: stream NOPE not found/);
    const loop = run(['worker', '--nats', nats.url, '--stream', s.IN, '--in', 'bad.>', '--out', 'bad.x', 'encrypt'], { env });
    expect(loop.code).toBe(2);
    expect(loop.stderr).toMatch(/must not be subjects that --in matches/);
    const creds = run(['worker', '--nats', 'nats://user:hunter2@127.0.0.1:4222', '--stream', s.IN, '--in', s.in, '--out', s.out, 'encrypt'], { env });
    expect(creds.code).toBe(2);
    expect(creds.stderr).toMatch(/--nats must not carry a user, password or token/);
    expect(creds.stderr).not.toContain('hunter2');
    const down = run(['worker', '--nats', 'nats://127.0.0.1:1', '--stream', s.IN, '--in', s.in, '--out', s.out, 'encrypt'], { env });
    expect(down.code).toBe(5);
    expect(down.stderr).toMatch(/^aes-payload: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1: /);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    // Credentials in NATS_URL (where they may be) never reach an error line.
    const hidden = run(['worker', '--stream', s.IN, '--in', s.in, '--out', s.out, 'encrypt'], { env: { ...env, NATS_URL: 'nats://user:hunter2@127.0.0.1:1' } });
    expect(hidden.code).toBe(5);
    expect(hidden.stderr).toMatch(/^aes-payload: cannot connect to NATS at nats:\/\/\*\*\*@127\.0\.0\.1:1: /);
    expect(hidden.stderr).not.toContain('hunter2');
  });
});
