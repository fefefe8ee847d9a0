import { say } from './log.js';
import { render } from './metrics.js';
import { EXIT_LISTEN, exitNow, onSignals, type Reload, type RunConfig } from './config.js';
import { listenProblem, prepareUnix, removeSocket, setMode, where } from './listen.js';
import { servePrimary } from './primary.js';
import { single } from './server.js';

/**
 * Running the service: config.ts (what a serving process needs), listen.ts
 * (addresses and Unix sockets), server.ts (one serving process and its
 * drain), primary.ts (--workers: the cluster primary hands connections
 * over), worker.ts (a cluster worker), wire.ts (keys over IPC).
 */
export { EXIT_LISTEN, type Listen, type Reload, type RunConfig } from './config.js';
export { where } from './listen.js';
export { serveWorker } from './worker.js';

/**
 * Serve: one process, or with `workers` > 1 a node:cluster primary whose
 * workers share the port. Prints `listening on http(s)://HOST:PORT`.
 */
export async function serve(c: RunConfig, reloadFiles: Reload | undefined): Promise<void> {
  if ('path' in c.listen) {
    await prepareUnix(c.listen.path);
    process.umask(0o177); // the socket is made 0600, then set to its mode
  }
  if (c.workers <= 1) return serveSingle(c, reloadFiles);
  return servePrimary(c, reloadFiles);
}

function serveSingle(c: RunConfig, reloadFiles: Reload | undefined): void {
  const info = { version: c.version, workers: 1 };
  const s = single(c, '0', {
    onListening: (port) => {
      setMode(c.listen);
      say(`aes-payload: listening on ${where(c.listen, Boolean(c.tls), port)}`);
    },
    onListenError: (e) => {
      say(listenProblem(c.listen, e));
      exitNow(EXIT_LISTEN);
    },
    metricsText: async (own) => render([own()], info),
    onDrained: () => {
      removeSocket(c.listen);
      exitNow(0);
    },
  }, true);
  const stop = () => {
    if (s.isDraining()) {
      removeSocket(c.listen);
      exitNow(130); // a second signal: at once
    }
    s.drain();
  };
  onSignals(stop, reloadFiles, (r) => {
    s.reload(r.tls, r.token, r.token !== undefined);
    return `aes-payload: reloaded ${r.what}`;
  });
}
