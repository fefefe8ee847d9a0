import type { Keys } from '../ops/index.js';
import { flushLog, say } from './log.js';

/** Where to listen: an address and port, or a Unix socket. */
export type Listen = { host: string; port: number } | { path: string; mode: number };

/** Everything a serving process needs; sent to cluster workers over IPC (never argv or env). */
export interface RunConfig {
  listen: Listen;
  tls?: { cert: string; key: string };
  keys?: Keys;
  token?: Buffer;
  maxBody: number;
  legacyCbc: boolean;
  v1: boolean;
  log: boolean;
  workers: number;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  maxConnections: number;
  drainTimeout: number;
  allowedHosts: string[];
  trustProxy: string[];
  version: string;
}

/** What SIGHUP loads again: the TLS certificate and key, and the token (from a file). Throws, saying why, on failure. */
export type Reload = () => Promise<{ tls?: { cert: string; key: string }; token?: Buffer; what: string }>;

/** Exit statuses of the service beyond the CLI's (docs/SERVICE.md, "Exit codes"). */
export const EXIT_LISTEN = 5;
export const EXIT_WORKER_FAILED = 70;

/** An idle kept-alive connection is closed during a drain once it has been idle this long (or the keep-alive timeout, if shorter). */
export const DRAIN_IDLE_MS = 1000;

export function exitNow(code: number): never {
  flushLog();
  process.exit(code);
}

/**
 * The signals of a serving process: SIGTERM and SIGINT drain (`stop`);
 * SIGHUP loads the files again and hands them to `apply`, which returns the
 * line to print. A failed reload keeps serving with what it had.
 */
export function onSignals(stop: () => void, reloadFiles: Reload | undefined, apply: (r: Awaited<ReturnType<Reload>>) => string): void {
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => {
    if (!reloadFiles) {
      say('aes-payload: SIGHUP: nothing to reload (no --tls-cert/--tls-key, no --token-file)');
      return;
    }
    reloadFiles().then(
      (r) => say(apply(r)),
      (e: Error) => say(`aes-payload: reload failed, still serving with the previous certificate and token: ${e.message}`),
    );
  });
}

