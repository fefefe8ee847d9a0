import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** The routes, as they appear in logs and metrics (never the raw URL). */
export type Route = 'healthz' | 'readyz' | 'metrics' | 'v1_encrypt' | 'v1_decrypt' | 'oracleinvocation' | 'decrypt_mac' | 'unknown';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Runtime figures of one process. */
export interface Runtime {
  cpuUser: number;
  cpuSystem: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  startTime: number;
  openFds: number;
  /** Event-loop delay since the previous scrape, in seconds. */
  lag: { mean: number; p50: number; p99: number; max: number };
}

/** One process's figures, as sent over IPC to the primary. */
export interface Snapshot {
  worker: string;
  requests: [string, string, number][];
  hist: [string, number[], number, number][];
  inFlight: number;
  connections: number;
  clientErrors: [string, number][];
  runtime: Runtime;
}

let loop: IntervalHistogram | undefined;

/** Runtime figures of this process (starts the event-loop monitor on first use). */
export function runtime(): Runtime {
  if (!loop) {
    loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
  }
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  let openFds = 0;
  try {
    openFds = readdirSync('/proc/self/fd').length;
  } catch {
    /* not Linux */
  }
  const s = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
  const lag = { mean: s(loop.mean), p50: s(loop.percentile(50)), p99: s(loop.percentile(99)), max: s(loop.max) };
  loop.reset();
  return {
    cpuUser: cpu.user / 1e6,
    cpuSystem: cpu.system / 1e6,
    rss: mem.rss,
    heapTotal: mem.heapTotal,
    heapUsed: mem.heapUsed,
    external: mem.external,
    startTime: Math.round((Date.now() - process.uptime() * 1000) / 1000),
    openFds,
    lag,
  };
}

/**
 * Request counters, a latency histogram, requests in flight and open
 * connections for one process; {@link render} writes the Prometheus text
 * format (0.0.4) for any number of processes, so that with `--workers N`
 * every scrape holds every worker's series.
 *
 * @example
 * ```ts
 * const m = new Metrics('0'); m.observe('v1_encrypt', 200, 0.002); render([m.snapshot()], info);
 * ```
 */
export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly hist = new Map<Route, { counts: number[]; sum: number; n: number }>();
  private readonly clientErrors = new Map<string, number>();
  private flying = 0;
  connections: () => number = () => 0;
  constructor(readonly worker = '0') {}

  inFlight(d: number): void {
    this.flying += d;
  }

  clientError(reason: string): void {
    this.clientErrors.set(reason, (this.clientErrors.get(reason) ?? 0) + 1);
  }

  observe(route: Route, status: number, seconds: number): void {
    const k = `${route}|${status}`;
    this.requests.set(k, (this.requests.get(k) ?? 0) + 1);
    let h = this.hist.get(route);
    if (!h) this.hist.set(route, (h = { counts: BUCKETS.map(() => 0), sum: 0, n: 0 }));
    // Counts per bucket here; the cumulative counts Prometheus wants are summed when rendered.
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    if (i < BUCKETS.length) h.counts[i]!++;
    h.sum += seconds;
    h.n++;
  }

  snapshot(): Snapshot {
    return {
      worker: this.worker,
      requests: [...this.requests].map(([k, v]) => {
        const [route, status] = k.split('|');
        return [route!, status!, v];
      }),
      hist: [...this.hist].map(([route, h]) => [route, [...h.counts], h.sum, h.n]),
      inFlight: this.flying,
      connections: this.connections(),
      clientErrors: [...this.clientErrors],
      runtime: runtime(),
    };
  }
}

/** What the build_info gauge says. */
export interface BuildInfo {
  version: string;
  workers: number;
}

/** The Prometheus text for the processes' snapshots (the primary's, if any, carries only runtime figures). */
export function render(snaps: Snapshot[], info: BuildInfo, primary?: Runtime): string {
  const out: string[] = [];
  const fam = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  const w = (s: Snapshot) => `worker="${s.worker}"`;
  fam('aes_payload_build_info', 'gauge', 'The aes-payload version and the Node.js version serving; always 1.');
  out.push(`aes_payload_build_info{version="${info.version}",node="${process.version}"} 1`);
  fam('aes_payload_workers', 'gauge', 'Serving processes whose figures are in this scrape.');
  out.push(`aes_payload_workers ${snaps.length}`);
  fam('aes_payload_requests_total', 'counter', 'HTTP requests by route and status.');
  for (const s of snaps) for (const [route, status, v] of s.requests) out.push(`aes_payload_requests_total{route="${route}",status="${status}",${w(s)}} ${v}`);
  fam('aes_payload_request_duration_seconds', 'histogram', 'Time from the request to the end of the answer.');
  for (const s of snaps) {
    for (const [route, counts, sum, n] of s.hist) {
      let acc = 0;
      BUCKETS.forEach((b, i) => {
        acc += counts[i]!;
        out.push(`aes_payload_request_duration_seconds_bucket{route="${route}",le="${b}",${w(s)}} ${acc}`);
      });
      out.push(`aes_payload_request_duration_seconds_bucket{route="${route}",le="+Inf",${w(s)}} ${n}`);
      out.push(`aes_payload_request_duration_seconds_sum{route="${route}",${w(s)}} ${sum}`);
      out.push(`aes_payload_request_duration_seconds_count{route="${route}",${w(s)}} ${n}`);
    }
  }
  fam('aes_payload_requests_in_flight', 'gauge', 'Requests being answered now.');
  for (const s of snaps) out.push(`aes_payload_requests_in_flight{${w(s)}} ${s.inFlight}`);
  fam('aes_payload_connections_open', 'gauge', 'Client connections open now.');
  for (const s of snaps) out.push(`aes_payload_connections_open{${w(s)}} ${s.connections}`);
  fam('aes_payload_client_errors_total', 'counter', 'Connections closed for a client error: timeout (408), bad_request (400), headers_too_large (431), tls.');
  for (const s of snaps) for (const [reason, v] of s.clientErrors) out.push(`aes_payload_client_errors_total{reason="${reason}",${w(s)}} ${v}`);
  const procs: [string, Runtime][] = [...(primary ? [['primary', primary] as [string, Runtime]] : []), ...snaps.map((s) => [s.worker, s.runtime] as [string, Runtime])];
  out.push(...runtimeSeries(procs));
  return `${out.join('\n')}\n`;
}

/** The process and Node.js series (CPU, memory, fds, event-loop lag) of each process, labelled worker="ID" (also used by `worker`). */
export function runtimeSeries(procs: [string, Runtime][]): string[] {
  const out: string[] = [];
  const fam = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  const series = (name: string, type: string, help: string, pick: (r: Runtime) => number) => {
    fam(name, type, help);
    for (const [id, r] of procs) out.push(`${name}{worker="${id}"} ${pick(r)}`);
  };
  series('process_cpu_user_seconds_total', 'counter', 'User CPU time spent, in seconds.', (r) => r.cpuUser);
  series('process_cpu_system_seconds_total', 'counter', 'System CPU time spent, in seconds.', (r) => r.cpuSystem);
  series('process_cpu_seconds_total', 'counter', 'User and system CPU time spent, in seconds.', (r) => r.cpuUser + r.cpuSystem);
  series('process_resident_memory_bytes', 'gauge', 'Resident memory size, in bytes.', (r) => r.rss);
  series('process_start_time_seconds', 'gauge', 'Start time of the process since the Unix epoch, in seconds.', (r) => r.startTime);
  series('process_open_fds', 'gauge', 'Open file descriptors.', (r) => r.openFds);
  series('nodejs_heap_size_total_bytes', 'gauge', 'V8 heap size, in bytes.', (r) => r.heapTotal);
  series('nodejs_heap_size_used_bytes', 'gauge', 'V8 heap used, in bytes.', (r) => r.heapUsed);
  series('nodejs_external_memory_bytes', 'gauge', 'Memory of C++ objects bound to JavaScript (buffers), in bytes.', (r) => r.external);
  series('nodejs_eventloop_lag_mean_seconds', 'gauge', 'Mean event-loop delay since the previous scrape, in seconds.', (r) => r.lag.mean);
  series('nodejs_eventloop_lag_p50_seconds', 'gauge', 'Median event-loop delay since the previous scrape, in seconds.', (r) => r.lag.p50);
  series('nodejs_eventloop_lag_p99_seconds', 'gauge', '99th percentile of the event-loop delay since the previous scrape, in seconds.', (r) => r.lag.p99);
  series('nodejs_eventloop_lag_max_seconds', 'gauge', 'Longest event-loop delay since the previous scrape, in seconds.', (r) => r.lag.max);
  return out;
}
