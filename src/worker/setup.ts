import type { ConsumerConfig, JetStreamManager } from '@nats-io/jetstream';
import { IOError, UsageError, printable } from '../errors.js';
import { log } from './log.js';
import type { JetStream, Transport } from './nats.js';
import type { WorkerConfig } from './run.js';

/**
 * Check what the worker needs on the server, then make or join its durable
 * consumer: `--in` stored by `--stream`, the outputs' streams and their
 * duplicate windows, and a consumer set up as this pipeline needs (the
 * first worker makes it; a consumer of another pipeline is refused).
 * Returns the prefix of the output message ids and the consumer's config.
 */
export async function prepareConsumer(N: Transport & JetStream, jsm: JetStreamManager, c: WorkerConfig): Promise<{ idPrefix: string; cfg: ConsumerConfig }> {
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
  return { idPrefix, cfg };
}
