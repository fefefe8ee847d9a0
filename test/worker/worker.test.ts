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
    // One output per input sequence: its Nats-Msg-Id is <stream>:<created-ms>:<durable>:<seq>.
    const created = Date.parse((await nats.jsm.streams.info(s.IN)).created);
    const bySeq = new Map<number, string>();
    for (const m of out) {
      const id = m.headers?.get('Nats-Msg-Id') ?? '';
      const seq = Number(id.slice(`${s.IN}:${created}:aes-payload:`.length));
      expect(id.startsWith(`${s.IN}:${created}:aes-payload:`) && seq >= 1 && seq <= N).toBe(true);
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
    const created = Date.parse((await nats.jsm.streams.info(s.IN)).created);
    expect(dead.map((m) => m.headers?.get('Nats-Msg-Id'))).toEqual([`${s.IN}:${created}:aes-payload:2`, `${s.IN}:${created}:aes-payload:3`]);
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
    expect(hidden.stderr).toMatch(/^aes-payload: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1: /);
    expect(hidden.stderr).not.toContain('hunter2');
  });
});

// The findings of the outside review of the worker (issue 21).
describe('worker, review findings', () => {
  it('without --dead-letter a failed record is terminated for good (a bare +TERM, which nats-server 2.9 honours): never redelivered, and the good records behind it all come out', async () => {
    const s = await streams('term');
    // --max-ack-pending 2 with three failing records first: were they redelivered, they would hold the consumer and nothing after them would come out.
    await publishAll(s.in, ['not json 1', 'not json 2', 'not json 3', ...Array.from({ length: 5 }, (_, i) => `{"email":"u${i}@example.com"}`)]);
    const w = new Worker(['--nats', nats.url, '--stream', s.IN, '--in', s.in, '--out', s.out, '--max-ack-pending', '2', '--ack-wait', '1', 'encrypt', '--fields', 'email'], env);
    await w.line((l) => l.msg === 'started', 'started');
    await until('the five good records out and nothing pending', async () => {
      const ci = await nats.jsm.consumers.info(s.IN, 'aes-payload');
      return (await count(s.OUT)) === 5 && ci.num_pending === 0 && ci.num_ack_pending === 0;
    });
    expect((await nats.jsm.consumers.info(s.IN, 'aes-payload')).num_redelivered).toBe(0);
    w.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
    const batches = w.lines.filter((l) => l.msg === 'batch');
    expect(batches.reduce((n, l) => n + (l.terminated as number), 0)).toBe(3);
    expect(batches.reduce((n, l) => n + (l.redelivered as number), 0)).toBe(0);
    expect(await count(s.IN)).toBe(0);
  });

  it('two pipelines (two durables) on one limits-retention stream writing to one output stream both store every output; a re-created input stream (sequence restarting) is not taken for duplicates', async () => {
    const s = { in: 'lim.in', out: 'lim.out', dead: 'lim.dead', IN: 'LIM_IN', OUT: 'LIM_OUT' };
    await nats.jsm.streams.add({ name: s.IN, subjects: [s.in] });
    await nats.jsm.streams.add({ name: s.OUT, subjects: [s.out, s.dead] });
    await publishAll(s.in, ['{"a":1}', '{"a":2}', '{"a":3}']);
    const a = new Worker(workerArgs(s, ['--durable', 'json', 'encrypt']), env);
    const b = new Worker(workerArgs(s, ['--durable', 'raw', 'encrypt', '--format', 'raw']), env);
    await until('six outputs', async () => (await count(s.OUT)) === 6);
    for (const w of [a, b]) {
      await until('three settled', () => w.settled() === 3);
      w.kill('SIGTERM');
      expect((await w.exited).code).toBe(0);
      const batches = w.lines.filter((l) => l.msg === 'batch');
      expect(batches.reduce((n, l) => n + (l.ok as number), 0)).toBe(3);
      expect(batches.reduce((n, l) => n + (l.duplicate as number), 0)).toBe(0);
    }
    // The input stream deleted and made again: its sequence starts at 1 again, the output stream is kept.
    await nats.jsm.streams.delete(s.IN);
    await nats.jsm.streams.add({ name: s.IN, subjects: [s.in] });
    await publishAll(s.in, ['{"a":4}', '{"a":5}', '{"a":6}']);
    const c = new Worker(workerArgs(s, ['--durable', 'json', 'encrypt']), env);
    await until('three more settled', () => c.settled() === 3);
    c.kill('SIGTERM');
    expect((await c.exited).code).toBe(0);
    expect(await count(s.OUT)).toBe(9);
    const dec = run(['decrypt', '--lines'], { input: (await readAll(s.OUT)).slice(6).map((m) => m.string()).join('\n') + '\n', env });
    expect(dec.out).toBe('{"a":4}\n{"a":5}\n{"a":6}\n');
  });

  it('a worker with another operation, --fields, --format or --out refuses to join a consumer made by another pipeline (exit 2); the same pipeline joins', async () => {
    const s = await streams('print');
    const a = new Worker(workerArgs(s, ['encrypt', '--fields', 'ssn']), env);
    await a.line((l) => l.msg === 'started', 'started');
    for (const other of [['encrypt'], ['encrypt', '--fields', 'name'], ['decrypt', '--fields', 'ssn']]) {
      const r = run(['worker', ...workerArgs(s, other)], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^aes-payload: consumer aes-payload on PRINT_IN is used by workers with another operation/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const out = run(['worker', '--nats', nats.url, '--stream', s.IN, '--in', s.in, '--out', 'print.dead', '--dead-letter', s.dead, 'encrypt', '--fields', 'ssn'], { env });
    expect(out.code).toBe(2);
    const same = new Worker(workerArgs(s, ['encrypt', '--fields', 'ssn']), env);
    await same.line((l) => l.msg === 'started', 'started');
    await publishAll(s.in, ['{"ssn":"123-45-6789"}']);
    await until('one output', async () => (await count(s.OUT)) === 1);
    for (const w of [a, same]) {
      w.kill('SIGTERM');
      expect((await w.exited).code).toBe(0);
    }
    expect((await readAll(s.OUT))[0]!.string()).not.toContain('123-45-6789');
  });

  it('an output larger than the server max_payload goes to the dead-letter subject as ERR_TOO_LARGE instead of being retried forever', async () => {
    const s = await streams('big');
    // 800 KB of JSON stays under the server's 1 MB; its base64 envelope (4/3) does not.
    await publishAll(s.in, [JSON.stringify({ v: 'x'.repeat(800_000) }), '{"v":"small"}']);
    const w = new Worker(workerArgs(s, ['encrypt']), env);
    await until('two settled', async () => (await count(s.OUT)) === 2);
    w.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
    const out = await readAll(s.OUT);
    expect(JSON.parse(out.find((m) => m.subject === s.dead)!.string())).toEqual({ aesp_error: { seq: 1, code: 'ERR_TOO_LARGE' } });
    expect(out.filter((m) => m.subject === s.out)).toHaveLength(1);
    expect(w.lines.some((l) => l.redeliver)).toBe(false);
  });

  it('the consumer, or its stream, deleted under a running worker: it exits 5 with one line (a supervisor restarts it)', async () => {
    const s = await streams('gone');
    const w = new Worker(workerArgs(s, ['encrypt']), env);
    await w.line((l) => l.msg === 'started', 'started');
    await nats.jsm.consumers.delete(s.IN, 'aes-payload');
    const e = await w.exited;
    expect(e.code).toBe(5);
    expect(w.stderr).toMatch(/\naes-payload: consumer aes-payload on stream GONE_IN is gone/);
    expect(w.stderr.split('\n').filter((l) => l.startsWith('aes-payload:'))).toHaveLength(1);
    // Its input stream deleted (to be made again): the same.
    const s2 = await streams('gone2');
    const w2 = new Worker(workerArgs(s2, ['encrypt']), env);
    await w2.line((l) => l.msg === 'started', 'started');
    await nats.jsm.streams.delete(s2.IN);
    expect((await w2.exited).code).toBe(5);
    expect(w2.stderr).toMatch(/\naes-payload: consumer aes-payload on stream GONE2_IN is gone/);
  });

  it('--nats refuses credentials with or without a scheme, in any URL of the list, and never echoes them; NATS_URL credentials are masked in errors', async () => {
    const s = await streams('creds8');
    for (const u of ['alice:hunter2@127.0.0.1:4222', `${nats.url}, nats://alice:hunter2@127.0.0.1:4222`, `${nats.url}, alice:hunter2@127.0.0.1:4222`, 'tok-hunter2@127.0.0.1:4222']) {
      const r = run(['worker', '--nats', u, '--stream', s.IN, '--in', s.in, '--out', s.out, 'encrypt'], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--nats must not carry a user, password or token/);
      expect(r.stderr).not.toContain('hunter2');
    }
    for (const u of ['alice:hunter2@127.0.0.1:1', 'nats://127.0.0.1:1, alice:hunter2@127.0.0.1:2']) {
      const r = run(['worker', '--stream', s.IN, '--in', s.in, '--out', s.out, 'encrypt'], { env: { ...env, NATS_URL: u } });
      expect(r.code).toBe(5);
      expect(r.stderr).toMatch(/^aes-payload: cannot connect to NATS at /);
      expect(r.stderr).not.toContain('hunter2');
    }
  });

  it("a failing --key-cmd's stderr is not quoted in the worker's error (it goes to logs and could hold key material)", () => {
    const r = run(['worker', '--nats', nats.url, '--stream', 'X', '--in', 'x.in', '--out', 'x.out', 'encrypt', '--key-cmd', 'sh -c "echo KEYMATERIAL0123456789abcdef >&2; exit 2"'], { env: {} });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^aes-payload: the key command sh exited with status 2 \(its stderr is not shown/);
    expect(r.stderr).not.toContain('KEYMATERIAL');
  });

  it('a user and password, or a token, in NATS_URL authenticate to a server that requires them', async () => {
    for (const [extra, url, auth] of [
      [['--user', 'alice', '--pass', 'p@ss:w0rd'], (p: string) => `nats://alice:p%40ss%3Aw0rd@${p}`, { user: 'alice', pass: 'p@ss:w0rd' }],
      [['--auth', 's3cretTOKEN'], (p: string) => `nats://s3cretTOKEN@${p}`, { token: 's3cretTOKEN' }],
    ] as const) {
      const d = tempDir();
      const n = await startNats(d, [...extra], auth);
      try {
        const host = n.url.slice('nats://'.length);
        await n.jsm.streams.add({ name: 'A_IN', subjects: ['a.in'], retention: RetentionPolicy.Workqueue });
        await n.jsm.streams.add({ name: 'A_OUT', subjects: ['a.out'] });
        await n.js.publish('a.in', '{"x":1}');
        const w = new Worker(['--stream', 'A_IN', '--in', 'a.in', '--out', 'a.out', 'encrypt'], { ...env, NATS_URL: url(host) });
        await until('one output', async () => (await n.jsm.streams.info('A_OUT')).state.messages === 1);
        w.kill('SIGTERM');
        expect((await w.exited).code).toBe(0);
        // The wrong password: refused, and not echoed.
        const bad = run(['worker', '--stream', 'A_IN', '--in', 'a.in', '--out', 'a.out', 'encrypt'], { env: { ...env, NATS_URL: url(host).replace(/w0rd|TOKEN/, 'WRONGpw') } });
        expect(bad.code).toBe(5);
        expect(bad.stderr).toMatch(/^aes-payload: cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+: /);
        expect(bad.stderr).not.toMatch(/WRONGpw|p@ss|s3cret/);
      } finally {
        await n.stop();
      }
    }
  });
});
