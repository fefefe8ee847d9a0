import type { Server } from 'node:http';
import { IOError, UsageError, printable } from '../errors.js';
import { loadVendored } from '../io/vendor.js';
import { isoNow } from '../serve/log.js';
import { WorkerMetrics, serveMetrics } from './metrics.js';
import { deadLetter, outputMsgId, type RecordResult } from './record.js';
import { parseServers } from './servers.js';
import { subjectMatches } from './subjects.js';

type Transport = typeof import('@nats-io/transport-node');
type JetStream = typeof import('@nats-io/jetstream');
type JsMsg = import('@nats-io/jetstream').JsMsg;
type NatsConnection = import('@nats-io/transport-node').NatsConnection;

/** The NATS client (dist/vendor/nats.cjs in the CLI bundle), loaded only by `worker`. */
async function loadNats(): Promise<Transport & JetStream> {
  const v = loadVendored<Transport & JetStream>('nats');
  if (v) return v;
  return { ...(await import('@nats-io/transport-node')), ...(await import('@nats-io/jetstream')) };
}

export interface WorkerConfig {
  /** Comma-separated server URLs (nats://host:4222,…), credentials (user:pass@, token@) allowed: they become connect options. */
  servers: string;
  /** A digest of the flags that decide what a record becomes (operation, --fields, --format, --out, --dead-letter…): workers that differ must not share a consumer. */
  pipeline: string;
  stream: string;
  in: string;
  out: string;
  deadLetter?: string;
  durable: string;
  /** Records per batch: one ack round, one log line. */
  batch: number;
  maxAckPending: number;
  /** Milliseconds before a record held by a worker that went silent is redelivered. */
  ackWait: number;
  metrics?: { host: string; port: number };
  /** A NATS credentials file's contents (--nats-creds). */
  creds?: Uint8Array;
  version: string;
  run: (body: Uint8Array) => RecordResult;
}

/** One JSON line on stderr. */
export function log(fields: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: isoNow(), ...fields })}\n`);
}

/** URLs with any user, password or token blanked, with or without a scheme: `nats://***@host:4222`, `***@host:4222`. */
export function redactUrls(s: string): string {
  return s.replace(/(^|[a-z][a-z0-9+.-]*:\/\/|[\s,;('"=])[^\s,;/@'"]*@/gi, '$1***@');
}

/** A NATS error as one printable line, with no credentials in it. */
function why(e: unknown): string {
  return printable(redactUrls(String((e as Error)?.message ?? e)), 300);
}

/**
 * The JetStream worker: a durable pull consumer on `stream` filtered to
 * `in`, shared by every worker started with the same --durable; each record
 * is run through `run` and published to `out` (or its error to `deadLetter`)
 * with `Nats-Msg-Id: <stream>:<seq>`, and acked once JetStream has stored
 * that output. Resolves to the exit status: 0 after SIGTERM or SIGINT (no
 * more pulls, every record in hand settled and acked), 5 when the
 * connection is lost for good (the client's reconnect attempts spent).
 */
export async function runWorker(c: WorkerConfig): Promise<number> {
  if (subjectMatches(c.in, c.out) || (c.deadLetter !== undefined && subjectMatches(c.in, c.deadLetter))) {
    throw new UsageError('--out and --dead-letter must not be subjects that --in matches (the worker would read its own output)');
  }
  let stopping = false;
  let stopNow: (() => void) | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) {
      // A second signal: go now; what is in hand is redelivered after --ack-wait.
      log({ level: 'warn', msg: 'second signal; exiting without settling what is in hand', signal: sig });
      process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
    }
    stopping = true;
    log({ level: 'info', msg: 'stopping: no more pulls; settling what is in hand', signal: sig });
    stopNow?.();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  // nats.js v3 ignores credentials in a URL: they become connect options, and the URLs shown carry none.
  const { servers, auth } = parseServers(c.servers);
  const where = printable(redactUrls(servers.join(',')), 200);
  const N = await loadNats();
  let nc: NatsConnection;
  try {
    nc = await N.connect({
      servers,
      ...auth,
      name: `aes-payload worker ${c.durable}`,
      ...(c.creds ? { authenticator: N.credsAuthenticator(c.creds) } : {}),
    });
  } catch (e) {
    throw new IOError(`cannot connect to NATS at ${where}: ${why(e)}`, 'ERR_NATS_CONNECT');
  }
  const metrics = new WorkerMetrics();
  metrics.connected = 1;
  let server: Server | undefined;
  try {
    let jsm;
    try {
      jsm = await N.jetstreamManager(nc);
    } catch (e) {
      throw new IOError(`JetStream is not available on ${where} (start nats-server with -js): ${why(e)}`, 'ERR_NATS_JETSTREAM');
    }
    const owner = async (subject: string, what: string) => {
      try {
        return await jsm.streams.find(subject);
      } catch {
        throw new IOError(`no stream on the server stores ${what} subject ${printable(subject, 200)}; create one first (docs/WORKER.md)`, 'ERR_NATS_STREAM');
      }
    };
    let inInfo;
    try {
      inInfo = await jsm.streams.info(c.stream);
    } catch {
      throw new IOError(`stream ${printable(c.stream, 100)} not found on the server; create it first (docs/WORKER.md)`, 'ERR_NATS_STREAM');
    }
    if ((await owner(c.in, 'the --in')) !== c.stream) throw new UsageError(`--in ${printable(c.in, 100)} is not stored by stream ${printable(c.stream, 100)}`);
    // Output ids name this incarnation of the input stream (its creation time) and this consumer.
    const created = Date.parse(inInfo.created);
    const idPrefix = `${c.stream}:${Number.isFinite(created) ? created : String(inInfo.created).replace(/[^0-9]/g, '')}:${c.durable}`;
    const outStreams = new Set([await owner(c.out, 'the --out')]);
    if (c.deadLetter !== undefined) outStreams.add(await owner(c.deadLetter, 'the --dead-letter'));
    for (const name of outStreams) {
      const dw = (await jsm.streams.info(name)).config.duplicate_window ?? 0;
      if (dw < N.nanos(c.ackWait)) {
        log({ level: 'warn', msg: "the output stream's duplicate window is shorter than --ack-wait: a record redelivered after a worker died may be stored twice", stream: name, duplicate_window_s: dw / 1e9, ack_wait_s: c.ackWait / 1000 });
      }
    }

    // The durable consumer: made by the first worker, shared by the others.
    const fingerprint = `aes-payload pipeline ${c.pipeline}`;
    const want = { durable_name: c.durable, description: fingerprint, filter_subject: c.in, ack_policy: N.AckPolicy.Explicit, deliver_policy: N.DeliverPolicy.All, ack_wait: N.nanos(c.ackWait), max_ack_pending: c.maxAckPending };
    let info;
    try {
      info = await jsm.consumers.info(c.stream, c.durable);
    } catch {
      try {
        info = await jsm.consumers.add(c.stream, want);
      } catch {
        // Another worker made it at the same moment.
        info = await jsm.consumers.info(c.stream, c.durable);
      }
    }
    const cfg = info.config;
    const filters = cfg.filter_subjects?.length ? cfg.filter_subjects : [cfg.filter_subject ?? ''];
    if (cfg.ack_policy !== N.AckPolicy.Explicit || filters.length !== 1 || filters[0] !== c.in || cfg.deliver_subject) {
      throw new UsageError(`consumer ${printable(c.durable, 100)} on ${printable(c.stream, 100)} exists with another set-up (it must be a pull consumer filtered to ${printable(c.in, 100)} with explicit acks); choose another --durable`);
    }
    // Workers that would make different outputs (another operation, fields, format or subject) must not share records.
    const theirs = /aes-payload pipeline ([0-9a-f]+)/.exec(cfg.description ?? '')?.[1];
    if (theirs === undefined) {
      log({ level: 'warn', msg: 'the consumer carries no pipeline fingerprint (made by hand or by an older worker); cannot check that every worker on it runs the same operation, --fields, --format, --out and --dead-letter', durable: c.durable });
    } else if (theirs !== c.pipeline) {
      throw new UsageError(`consumer ${printable(c.durable, 100)} on ${printable(c.stream, 100)} is used by workers with another operation, --fields, --format, --alg, --aad, --out or --dead-letter; run this pipeline with its own --durable`);
    }
    if (cfg.max_ack_pending !== c.maxAckPending || cfg.ack_wait !== N.nanos(c.ackWait)) {
      log({ level: 'warn', msg: 'the consumer exists with other limits; they apply, not this worker\'s flags', durable: c.durable, max_ack_pending: cfg.max_ack_pending, ack_wait_s: (cfg.ack_wait ?? 0) / 1e9 });
    }

    if (c.metrics) {
      let bound;
      try {
        bound = await serveMetrics(metrics, c.metrics.host, c.metrics.port, c.version);
      } catch (e) {
        throw new IOError(`cannot listen on ${printable(c.metrics.host, 100)}:${c.metrics.port} for metrics: ${(e as NodeJS.ErrnoException).code ?? why(e)}`, 'ERR_LISTEN');
      }
      server = bound.server;
      const host = c.metrics.host.includes(':') ? `[${c.metrics.host}]` : c.metrics.host;
      log({ level: 'info', msg: 'metrics', url: `http://${host}:${bound.port}/metrics` });
      if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/i.test(c.metrics.host)) {
        log({ level: 'warn', msg: 'metrics are served without authentication to every host that can reach this address; prefer 127.0.0.1 behind a scraper on the machine, or a firewall', url: `http://${host}:${bound.port}/metrics` });
      }
    }

    let lost: unknown;
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') metrics.connected = 0;
        if (s.type === 'reconnect') {
          metrics.connected = 1;
          metrics.reconnects++;
        }
        if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') log({ level: s.type === 'reconnect' ? 'info' : 'warn', msg: `nats ${s.type}`, ...('server' in s ? { server: s.server } : {}), ...('error' in s ? { error: why(s.error) } : {}) });
      }
    })();
    void nc.closed().then((e) => {
      metrics.connected = 0;
      if (!stopping) {
        lost = e ?? new Error('connection closed');
        stopNow?.();
      }
    });

    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    const js = N.jetstream(nc);
    const consumer = await js.consumers.get(c.stream, c.durable);
    // The consumer deleted (or its stream deleted or re-created) under us: the client would wait for it
    // forever. The server's advisories say so at once; the pull's status when it expires (or a heartbeat missed).
    let gone: string | undefined;
    const lostConsumer = (what: string) => {
      if (gone !== undefined || stopping) return;
      gone = what;
      log({ level: 'error', msg: 'consumer gone', durable: c.durable, why: what });
      stopNow?.();
    };
    const advisories = [`$JS.EVENT.ADVISORY.CONSUMER.DELETED.${c.stream}.${c.durable}`, `$JS.EVENT.ADVISORY.STREAM.DELETED.${c.stream}`].map((subj) => {
      try {
        return nc.subscribe(subj, { callback: () => lostConsumer(subj.includes('.STREAM.') ? 'stream deleted' : 'consumer deleted') });
      } catch {
        return undefined; // not permitted: the pull's status and heartbeats still tell
      }
    });
    await nc.flush();
    try {
      await jsm.consumers.info(c.stream, c.durable);
    } catch {
      lostConsumer('consumer not found');
    }
    log({ level: 'info', msg: 'started', stream: c.stream, in: c.in, out: c.out, dead_letter: c.deadLetter ?? null, durable: c.durable, batch: c.batch, max_ack_pending: cfg.max_ack_pending });
    if (stopping) return 0;
    type Held = { m: JsMsg; pub: Promise<{ duplicate: boolean }>; dead?: { seq: number; code: string }; t0: number };
    let held: Held[] = [];
    const settling = new Set<Promise<void>>();
    let fatal: { e: unknown } | undefined;
    const settle = async (batch: Held[]) => {
      const t0 = batch[0]!.t0;
      const n = { ok: 0, duplicate: 0, dead_letter: 0, terminated: 0, redeliver: 0, redelivered: 0 };
      const errors: { seq: number; code: string }[] = [];
      await Promise.all(
        batch.map(async (h) => {
          if (h.m.info.deliveryCount > 1) n.redelivered++;
          try {
            const ack = await h.pub;
            quietly(() => h.m.ack());
            if (h.dead) {
              n.dead_letter++;
              metrics.count('dead_letter');
            } else {
              n[ack.duplicate ? 'duplicate' : 'ok']++;
              metrics.count(ack.duplicate ? 'duplicate' : 'ok');
            }
          } catch (e) {
            if (e === TERMINATED) {
              // No dead-letter subject: tell JetStream never to redeliver it.
              // A bare +TERM: nats-server 2.9 ignores `+TERM <reason>` and redelivers the record forever.
              quietly(() => h.m.term());
              n.terminated++;
              metrics.count('terminated');
            } else {
              // Not stored (a timeout, no stream, a lost connection): hand it back.
              quietly(() => h.m.nak(1000));
              n.redeliver++;
              metrics.count('redeliver');
              if (errors.length < 10) errors.push({ seq: h.m.seq, code: 'ERR_NATS_PUBLISH' });
            }
          }
          if (h.dead && errors.length < 10) errors.push(h.dead);
        }),
      );
      metrics.inHand -= batch.length;
      metrics.batches++;
      metrics.redelivered += n.redelivered;
      log({ level: n.redeliver ? 'warn' : 'info', msg: 'batch', records: batch.length, ...n, ms: Date.now() - t0, ...(errors.length ? { errors } : {}) });
    };
    /** Settle what is held as one batch (not awaited: its outputs are stored while the next batch is read). */
    const close = () => {
      if (!held.length) return;
      const p = settle(held);
      held = [];
      settling.add(p);
      void p.finally(() => settling.delete(p));
    };
    let scheduled = false;
    // Each message is handled as it arrives, synchronously (a callback, not an async iterator), so
    // that the publishes of all the messages of one socket read leave in one write; a batch is
    // closed when full, or once the messages at hand are all handled.
    const onMessage = (m: JsMsg) => {
      if (fatal) return;
      try {
        metrics.inHand++;
        let r = c.run(m.data);
        const id = outputMsgId(idPrefix, m.seq);
        let h: Held;
        // An output the server would refuse (max_payload counts headers too) would be retried forever.
        if (r.ok && r.data.length + id.length + HEADER_OVERHEAD > maxPayload) r = { ok: false, code: 'ERR_TOO_LARGE' };
        if (r.ok) {
          h = { m, pub: js.publish(c.out, r.data, { msgID: id }), t0: Date.now() };
        } else {
          metrics.error(r.code);
          const dead = { seq: m.seq, code: r.code };
          h = { m, dead, pub: c.deadLetter !== undefined ? js.publish(c.deadLetter, deadLetter(m.seq, r.code), { msgID: id }) : Promise.reject(TERMINATED), t0: Date.now() };
        }
        h.pub.catch(() => {}); // settled in `settle`
        held.push(h);
        if (held.length >= c.batch) close();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(() => {
            scheduled = false;
            close();
          });
        }
      } catch (e) {
        fatal = { e };
        stopNow?.();
      }
    };
    // Two batches in the client's buffer, so the next is there while one is settled.
    const msgs = await consumer.consume({ max_messages: Math.max(1, Math.min(2 * c.batch, cfg.max_ack_pending ?? c.maxAckPending)), callback: onMessage });
    stopNow = () => msgs.stop();
    if (stopping) msgs.stop();
    if (gone !== undefined) msgs.stop();
    void (async () => {
      for await (const s of msgs.status()) {
        if (s.type === 'consumer_deleted' || s.type === 'consumer_not_found' || s.type === 'stream_not_found') lostConsumer(s.type.replace(/_/g, ' '));
        else if (s.type === 'heartbeats_missed') {
          try {
            await jsm.consumers.info(c.stream, c.durable);
          } catch (e) {
            if (/not found/i.test(String((e as Error)?.message))) lostConsumer('consumer not found');
          }
        }
      }
    })().catch(() => {});
    await msgs.closed().catch((e: unknown) => {
      if (!stopping && gone === undefined) gone = why(e);
    });
    for (const sub of advisories) sub?.unsubscribe();
    if (fatal) throw fatal.e;
    close();
    while (settling.size) await Promise.all([...settling]);
    if (gone !== undefined) throw new IOError(`consumer ${printable(c.durable, 100)} on stream ${printable(c.stream, 100)} is gone (${printable(gone, 100)}): deleted, or its stream deleted or re-created; restart the worker to create it again`, 'ERR_NATS_CONSUMER');
    if (lost !== undefined) throw new IOError(`lost the connection to NATS at ${where}: ${why(lost)}`, 'ERR_NATS_CLOSED');
    // Every ack is sent and the server has read them, then the connection closes.
    await nc.drain();
    log({ level: 'info', msg: 'stopped', ...Object.fromEntries(metrics.records) });
    return 0;
  } finally {
    if (server) {
      server.closeAllConnections();
      server.close();
    }
    if (!nc.isClosed()) await nc.close().catch(() => {});
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** Bytes of a published message's headers besides its id (`NATS/1.0`, `Nats-Msg-Id: `, line ends), with room to spare. */
const HEADER_OVERHEAD = 64;

/** The rejection of a failed record's "publish" when there is no dead-letter subject. */
const TERMINATED = Symbol('terminated');

/** An ack, nak or term on a connection that may be closed: what is not acked is redelivered after --ack-wait anyway. */
function quietly(f: () => void): void {
  try {
    f();
  } catch {
    /* the connection is gone */
  }
}
