import { createServer, type Server } from 'node:http';
import { runtime, runtimeSeries } from '../serve/metrics.js';

/** How a record ended: published (or a duplicate JetStream dropped), dead-lettered, or handed back for redelivery. */
export type Outcome = 'ok' | 'duplicate' | 'dead_letter' | 'terminated' | 'redeliver';

/**
 * A worker's counters, served as Prometheus text (0.0.4) in the same
 * format and with the same process series as `serve` (src/serve/metrics.ts).
 */
export class WorkerMetrics {
  readonly records = new Map<Outcome, number>();
  readonly errors = new Map<string, number>();
  batches = 0;
  inHand = 0;
  connected = 0;
  reconnects = 0;
  redelivered = 0;

  count(o: Outcome, n = 1): void {
    this.records.set(o, (this.records.get(o) ?? 0) + n);
  }

  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  render(version: string): string {
    const out: string[] = [];
    const fam = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    fam('aes_payload_build_info', 'gauge', 'The aes-payload version and the Node.js version running; always 1.');
    out.push(`aes_payload_build_info{version="${version}",node="${process.version}"} 1`);
    fam('aes_payload_worker_records_total', 'counter', 'Records by outcome: ok (output stored), duplicate (output already stored), dead_letter, terminated (failed, no dead-letter subject), redeliver (handed back).');
    for (const o of ['ok', 'duplicate', 'dead_letter', 'terminated', 'redeliver'] as Outcome[]) out.push(`aes_payload_worker_records_total{outcome="${o}",worker="0"} ${this.records.get(o) ?? 0}`);
    fam('aes_payload_worker_record_errors_total', 'counter', 'Failed records by error code.');
    for (const [code, v] of this.errors) out.push(`aes_payload_worker_record_errors_total{code="${code}",worker="0"} ${v}`);
    fam('aes_payload_worker_batches_total', 'counter', 'Batches settled (outputs stored, inputs acked).');
    out.push(`aes_payload_worker_batches_total{worker="0"} ${this.batches}`);
    fam('aes_payload_worker_redelivered_total', 'counter', 'Records received that had been delivered before (to a worker that died, stalled past --ack-wait, or handed them back).');
    out.push(`aes_payload_worker_redelivered_total{worker="0"} ${this.redelivered}`);
    fam('aes_payload_worker_in_hand', 'gauge', 'Records received and not yet acked.');
    out.push(`aes_payload_worker_in_hand{worker="0"} ${this.inHand}`);
    fam('aes_payload_worker_nats_connected', 'gauge', '1 while connected to a NATS server.');
    out.push(`aes_payload_worker_nats_connected{worker="0"} ${this.connected}`);
    fam('aes_payload_worker_nats_reconnects_total', 'counter', 'Reconnections to NATS.');
    out.push(`aes_payload_worker_nats_reconnects_total{worker="0"} ${this.reconnects}`);
    out.push(...runtimeSeries([['0', runtime()]]));
    return `${out.join('\n')}\n`;
  }
}

/** Serve GET /metrics (and /healthz) on host:port; resolves to the address bound (port 0 picks one). */
export function serveMetrics(m: WorkerMetrics, host: string, port: number, version: string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(m.render(version));
    } else if (path === '/healthz') {
      res.writeHead(m.connected ? 200 : 503, { 'content-type': 'application/json' }).end(m.connected ? '{"status":"ok"}' : '{"status":"disconnected"}');
    } else {
      res.writeHead(404).end();
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 64;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address();
      resolve({ server, port: typeof a === 'object' && a ? a.port : port });
    });
  });
}
