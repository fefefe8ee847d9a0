/** The routes, as they appear in logs and metrics (never the raw URL). */
export type Route = 'healthz' | 'metrics' | 'v1_encrypt' | 'v1_decrypt' | 'oracleinvocation' | 'decrypt_mac' | 'unknown';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Request counters, a latency histogram and the requests in flight, in the
 * Prometheus text format (0.0.4), written by hand: the few lines do not
 * need prom-client. With `serve --workers N` each process counts its own
 * requests and labels them with `worker`.
 *
 * @example
 * ```ts
 * const m = new Metrics(); m.observe('v1_encrypt', 200, 0.002); m.text();
 * ```
 */
export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly hist = new Map<Route, { counts: number[]; sum: number; n: number }>();
  private flying = 0;
  constructor(private readonly worker = '0') {}

  inFlight(d: number): void {
    this.flying += d;
  }

  observe(route: Route, status: number, seconds: number): void {
    const k = `${route}|${status}`;
    this.requests.set(k, (this.requests.get(k) ?? 0) + 1);
    let h = this.hist.get(route);
    if (!h) this.hist.set(route, (h = { counts: BUCKETS.map(() => 0), sum: 0, n: 0 }));
    BUCKETS.forEach((b, i) => {
      if (seconds <= b) h!.counts[i]!++;
    });
    h.sum += seconds;
    h.n++;
  }

  text(): string {
    const w = `worker="${this.worker}"`;
    const lines = [
      '# HELP aes_payload_requests_total HTTP requests by route and status.',
      '# TYPE aes_payload_requests_total counter',
      ...[...this.requests].map(([k, v]) => {
        const [route, status] = k.split('|');
        return `aes_payload_requests_total{route="${route}",status="${status}",${w}} ${v}`;
      }),
      '# HELP aes_payload_request_duration_seconds Time from the request to the end of the answer.',
      '# TYPE aes_payload_request_duration_seconds histogram',
    ];
    for (const [route, h] of this.hist) {
      BUCKETS.forEach((b, i) => lines.push(`aes_payload_request_duration_seconds_bucket{route="${route}",le="${b}",${w}} ${h.counts[i]}`));
      lines.push(`aes_payload_request_duration_seconds_bucket{route="${route}",le="+Inf",${w}} ${h.n}`);
      lines.push(`aes_payload_request_duration_seconds_sum{route="${route}",${w}} ${h.sum}`);
      lines.push(`aes_payload_request_duration_seconds_count{route="${route}",${w}} ${h.n}`);
    }
    lines.push('# HELP aes_payload_requests_in_flight Requests being answered now.', '# TYPE aes_payload_requests_in_flight gauge', `aes_payload_requests_in_flight{${w}} ${this.flying}`);
    return `${lines.join('\n')}\n`;
  }
}
