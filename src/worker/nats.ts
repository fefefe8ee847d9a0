import { loadVendored } from '../io/vendor.js';

// The NATS client's modules, and the types the worker takes from them.

/** The NATS client's core (connections). */
export type Transport = typeof import('@nats-io/transport-node');
/** The JetStream API. */
export type JetStream = typeof import('@nats-io/jetstream');
/** A JetStream message. */
export type JsMsg = import('@nats-io/jetstream').JsMsg;
/** A connection to the NATS servers. */
export type NatsConnection = import('@nats-io/transport-node').NatsConnection;

/** The NATS client (dist/vendor/nats.cjs in the CLI bundle), loaded only by `worker`. */
export async function loadNats(): Promise<Transport & JetStream> {
  const v = loadVendored<Transport & JetStream>('nats');
  if (v) return v;
  return { ...(await import('@nats-io/transport-node')), ...(await import('@nats-io/jetstream')) };
}
