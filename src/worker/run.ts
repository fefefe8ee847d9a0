import type { Server } from 'node:http';
import { IOError, UsageError, printable } from '../errors.js';
import { log, redactUrls, why } from './log.js';
import { WorkerMetrics, serveMetrics } from './metrics.js';
import { loadNats, type JsMsg, type NatsConnection } from './nats.js';
import { deadLetter, outputMsgId, type RecordResult } from './record.js';
import { parseServers } from './servers.js';
import { TERMINATED, settle, type Held } from './settle.js';
import { prepareConsumer } from './setup.js';
import { subjectMatches } from './subjects.js';

export { log, redactUrls } from './log.js';

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
    const { idPrefix, cfg } = await prepareConsumer(N, jsm, c);

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
    let held: Held[] = [];
    const settling = new Set<Promise<void>>();
    let fatal: { e: unknown } | undefined;
    /** Settle what is held as one batch (not awaited: its outputs are stored while the next batch is read). */
    const close = () => {
      if (!held.length) return;
      const p = settle(held, metrics);
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
