import cluster, { type Worker } from 'node:cluster';
import { createServer as createNetServer, type Socket } from 'node:net';
import { say } from './log.js';
import { render, runtime, type Snapshot } from './metrics.js';
import { EXIT_LISTEN, EXIT_WORKER_FAILED, exitNow, onSignals, type Reload, type RunConfig } from './config.js';
import { listenProblem, removeSocket, setMode, where } from './listen.js';
import { keysToWire } from './wire.js';
import { isSea } from '../io/sea.js';

interface WorkerState {
  /** The config was sent (the worker was online): it handles a "stop" from now on. */
  configured: boolean;
  /** It said it is ready: it takes connections. */
  ready: boolean;
  /** The pid of the worker it replaces, if any. */
  replacing?: number;
}

/**
 * With --workers: the primary listens itself and hands each connection to a
 * worker, in turn, over IPC (as node:cluster's round robin does). So the
 * listening socket lives as long as the primary: workers that all die at
 * once are replaced on the same socket (connections wait for them), and a
 * drain closes it at once, before the workers are told.
 */
export function servePrimary(c: RunConfig, reloadFiles: Reload | undefined): void {
  const sea = isSea();
  // Workers run `aes-payload serve` and take everything else from here over IPC. In the single
  // executable, argv[1] is the executable itself, which Node inserts again for the worker.
  // The executable applies its own execArgv (--disable-sigusr1, --) at every start, so a worker is
  // given none: passed again, they would reach aes-payload as arguments ("unknown option").
  cluster.setupPrimary({ serialization: 'advanced', exec: sea ? 'serve' : process.argv[1]!, args: sea ? [] : ['serve'], ...(sea ? { execArgv: [] } : {}) });
  const keys = keysToWire(c.keys);
  // What a worker started now is given: SIGHUP changes the certificate and the token, and a
  // worker started after a reload (a replacement) must get the new ones.
  let current = { tls: c.tls, token: c.token };
  const wire = () => ({ ...c, ...(current.tls ? { tls: current.tls } : {}), keys, token: current.token?.toString('base64') });
  const info = { version: c.version, workers: c.workers };
  const states = new Map<Worker, WorkerState>();
  /** Workers that take connections, in turn. */
  const ready: Worker[] = [];
  let turn = 0;
  /** Connections accepted while no worker is ready (all died at once, or not started yet). */
  const waiting: Socket[] = [];
  let stopping = false;
  let exitCode = 0;
  let announced = false;
  let port: number | undefined;
  let seq = 0;
  const asked = new Map<string, (s: Snapshot | undefined) => void>();
  const restarts: number[] = [];

  const live = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  const unready = (w: Worker) => {
    const i = ready.indexOf(w);
    if (i >= 0) ready.splice(i, 1);
  };
  const finish = (code: number) => {
    removeSocket(c.listen);
    exitNow(code);
  };

  /**
   * Connections sent to a worker that has not said it got them yet. The primary keeps its copy
   * of each (keepOpen) until then, so that one sent to a worker that dies first (killed between
   * two turns of the primary's event loop) goes to another worker instead of being lost.
   */
  const handed = new Map<Worker, Map<number, Socket>>();
  let connSeq = 0;
  const dispatch = (sock: Socket): void => {
    if (sock.destroyed) return;
    const w = ready.length ? ready[turn++ % ready.length]! : undefined;
    if (w === undefined) {
      // No worker to take it: it waits (unread, paused) for the next one ready, up to a bound.
      if (waiting.length >= c.maxConnections) sock.destroy();
      else waiting.push(sock);
      return;
    }
    const id = ++connSeq;
    let mine = handed.get(w);
    if (!mine) handed.set(w, (mine = new Map()));
    mine.set(id, sock);
    w.send({ type: 'conn', id }, sock, { keepOpen: true }, (err) => {
      if (err && mine.delete(id)) {
        unready(w);
        dispatch(sock);
      }
    });
  };
  /** A worker is gone: the connections it had not confirmed go to another one. */
  const rehand = (w: Worker) => {
    const mine = handed.get(w);
    handed.delete(w);
    for (const sock of mine?.values() ?? []) {
      if (stopping) sock.destroy();
      else dispatch(sock);
    }
  };
  const listener = createNetServer({ pauseOnConnect: true }, dispatch);
  let listening = false;
  listener.on('error', (e: NodeJS.ErrnoException) => {
    if (!listening) {
      say(listenProblem(c.listen, e));
      exitNow(EXIT_LISTEN);
    }
    say(`aes-payload: server error: ${e.code ?? e.message}`);
  });

  const gather = async (): Promise<string> => {
    const id = ++seq;
    const snaps = await Promise.all(
      live()
        .filter((w) => states.get(w)?.ready)
        .map(
          (w) =>
            new Promise<Snapshot | undefined>((resolve) => {
              const k = `${id}:${w.id}`;
              const t = setTimeout(() => {
                asked.delete(k);
                resolve(undefined);
              }, 2000);
              asked.set(k, (s) => {
                clearTimeout(t);
                asked.delete(k);
                resolve(s);
              });
              w.send({ type: 'snapshot?', id });
            }),
        ),
    );
    const got = snaps.filter((s): s is Snapshot => s !== undefined).sort((a, b) => Number(a.worker) - Number(b.worker));
    return render(got, info, runtime());
  };
  const stopAll = (code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    // Stop accepting at once, then tell each worker: every connection handed to a worker goes before
    // its "stop" on the same ordered channel, so none arrives at a worker that may have gone.
    if (listening) listener.close();
    setImmediate(() => {
      for (const s of waiting.splice(0)) s.destroy();
      for (const w of live()) {
        if (states.get(w)?.configured && w.isConnected()) w.send({ type: 'stop' });
        else w.process.kill('SIGKILL'); // not started yet: nothing in flight
      }
      if (live().length === 0) finish(exitCode);
    });
    setTimeout(() => {
      for (const w of live()) w.process.kill('SIGKILL');
      finish(exitCode);
    }, c.drainTimeout + 2000).unref();
  };
  const fork = (replacing?: number) => {
    const w = cluster.fork({ AES_PAYLOAD_SERVE_WORKER: '1' });
    const st: WorkerState = { configured: false, ready: false, ...(replacing !== undefined ? { replacing } : {}) };
    states.set(w, st);
    w.on('online', () => {
      st.configured = true;
      w.send({ type: 'config', config: wire() });
    });
    w.on('disconnect', () => unready(w));
    w.on('message', (m: { type: string; id?: number; snap?: Snapshot }) => {
      if (m.type === 'ready') {
        st.ready = true;
        if (stopping) return;
        ready.push(w);
        for (const s of waiting.splice(0)) dispatch(s);
        if (!announced && live().every((x) => states.get(x)?.ready)) {
          announced = true;
          say(`aes-payload: ${c.workers} worker processes ready`);
          say(`aes-payload: listening on ${where(c.listen, Boolean(c.tls), port)}`);
        } else if (announced && st.replacing !== undefined) {
          say(`aes-payload: worker ${w.process.pid} ready (replacing worker ${st.replacing})`);
        }
      } else if (m.type === 'got') {
        // The worker has its own copy of the connection now: close the primary's (no FIN: the worker's stays open).
        const mine = handed.get(w);
        const sock = mine?.get(m.id!);
        if (sock) {
          mine!.delete(m.id!);
          sock.destroy();
        }
      } else if (m.type === 'snapshot') {
        asked.get(`${m.id}:${w.id}`)?.(m.snap);
      } else if (m.type === 'metrics?') {
        gather().then((text) => w.isConnected() && w.send({ type: 'metrics', id: m.id, text }));
      }
    });
  };
  cluster.on('exit', (w, code, signal) => {
    const st = states.get(w);
    states.delete(w);
    unready(w);
    rehand(w);
    if (stopping) {
      if (live().length === 0) finish(exitCode);
      return;
    }
    if (!st?.ready) {
      // A worker that dies before it is ready would only die again: stop, no restart loop.
      say(`aes-payload: a worker exited before it was ready (${signal ?? `exit ${code}`}); stopping`);
      stopAll(code || EXIT_WORKER_FAILED);
      return;
    }
    const now = Date.now();
    restarts.push(now);
    while (restarts.length && restarts[0]! < now - 60_000) restarts.shift();
    if (restarts.length > 5) {
      say(`aes-payload: workers exited ${restarts.length} times in a minute; stopping`);
      stopAll(EXIT_WORKER_FAILED);
      return;
    }
    // The listening socket stays open: connections wait for the replacement.
    say(`aes-payload: worker ${w.process.pid} exited (${signal ?? `exit ${code}`}); starting another`);
    const pid = w.process.pid;
    setTimeout(() => {
      if (!stopping) fork(pid);
    }, 200);
  });
  const onListen = () => {
    listening = true;
    const a = listener.address();
    port = typeof a === 'object' && a ? a.port : undefined;
    setMode(c.listen);
    for (let i = 0; i < c.workers; i++) fork();
  };
  if ('path' in c.listen) listener.listen(c.listen.path, onListen);
  else listener.listen(c.listen.port, c.listen.host, onListen);

  // Signals are the primary's alone: workers ignore SIGTERM and SIGINT, so that a signal sent to
  // the whole process group (Ctrl-C, systemd's default) is one drain, led from here.
  const stop = () => {
    if (stopping) {
      for (const w of live()) w.process.kill('SIGKILL');
      finish(130);
    }
    stopAll(0);
  };
  onSignals(stop, reloadFiles, (r) => {
    current = { tls: r.tls ?? current.tls, token: r.token !== undefined ? r.token : current.token };
    // Workers not yet sent their config get the new material in it.
    for (const w of live()) if (states.get(w)?.configured && w.isConnected()) w.send({ type: 'reload', tls: r.tls, token: r.token?.toString('base64'), hasToken: r.token !== undefined });
    return `aes-payload: reloaded ${r.what} (${live().length} workers)`;
  });
}
