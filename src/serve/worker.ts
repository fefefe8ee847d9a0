import cluster from 'node:cluster';
import type { Socket } from 'node:net';
import { exitNow, type RunConfig } from './config.js';
import { single } from './server.js';
import { keysFromWire, type Wire } from './wire.js';

/** In a cluster worker: wait for the primary's config, then take the connections it hands over. */
export function serveWorker(): void {
  // Signals are the primary's: SIGHUP is a reload, SIGTERM and SIGINT a drain, which it passes on as "stop".
  // (Sent to the whole process group, they reach the primary too; a worker must neither die of them
  // nor start a drain of its own that would race the primary's.)
  process.on('SIGHUP', () => {});
  process.on('SIGTERM', () => {});
  process.on('SIGINT', () => {});
  let s: ReturnType<typeof single> | undefined;
  let seq = 0;
  const asked = new Map<number, (t: string) => void>();
  type Msg = { type: string; id: number; text?: string; tls?: { cert: string; key: string }; token?: string; hasToken?: boolean; config?: RunConfig & { keys?: Wire; token?: string } };
  process.on('message', (msg: Msg, handle?: Socket) => {
    if (s === undefined) {
      if (msg.type !== 'config' || !msg.config) {
        handle?.destroy();
        return;
      }
      const { keys, token, ...rest } = msg.config;
      const k = keysFromWire(keys);
      const c: RunConfig = { ...rest, ...(k ? { keys: k } : {}), ...(token ? { token: Buffer.from(token, 'base64') } : {}) };
      s = single(c, String(cluster.worker?.id ?? 0), {
        onListening: () => {},
        onListenError: () => {},
        // One scrape describes every worker: the primary gathers them all.
        metricsText: () =>
          new Promise<string>((resolve) => {
            const id = ++seq;
            asked.set(id, resolve);
            process.send!({ type: 'metrics?', id });
          }),
        onDrained: () => exitNow(0),
      }, false);
      process.send!({ type: 'ready' });
      return;
    }
    if (msg.type === 'conn') {
      if (handle) s.accept(handle);
      process.send!({ type: 'got', id: msg.id });
    } else if (msg.type === 'snapshot?') process.send!({ type: 'snapshot', id: msg.id, snap: s.metrics.snapshot() });
    else if (msg.type === 'metrics') {
      asked.get(msg.id)?.(msg.text!);
      asked.delete(msg.id);
    } else if (msg.type === 'stop') s.drain();
    else if (msg.type === 'reload') s.reload(msg.tls, msg.token ? Buffer.from(msg.token, 'base64') : undefined, Boolean(msg.hasToken));
  });
}
