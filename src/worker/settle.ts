import { log } from './log.js';
import type { WorkerMetrics } from './metrics.js';
import type { JsMsg } from './nats.js';

/** A record in hand: its message, the publish of its output (or dead letter), and when it was read. */
export type Held = { m: JsMsg; pub: Promise<{ duplicate: boolean }>; dead?: { seq: number; code: string }; t0: number };

/**
 * Settle one batch: ack each record whose output JetStream stored, term one
 * that failed with no dead-letter subject, hand back (nak) one whose
 * output was not stored; then one log line for the batch.
 */
export async function settle(batch: Held[], metrics: WorkerMetrics): Promise<void> {
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
}

/** The rejection of a failed record's "publish" when there is no dead-letter subject. */
export const TERMINATED = Symbol('terminated');

/** An ack, nak or term on a connection that may be closed: what is not acked is redelivered after --ack-wait anyway. */
function quietly(f: () => void): void {
  try {
    f();
  } catch {
    /* the connection is gone */
  }
}
