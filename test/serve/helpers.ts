// Shared by the serve tests: real server processes on 127.0.0.1 (port 0),
// waited for by their log lines, never by sleeps.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { afterAll } from 'vitest';
import { BIN, baseEnv } from '../helpers.js';

export interface Server {
  url: string;
  port: number;
  proc: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when stderr has a line matching `re` (after `from` characters). */
  waitFor: (re: RegExp, from?: number) => Promise<RegExpExecArray>;
}

const procs: ChildProcess[] = [];
const groups = new Set<ChildProcess>();
afterAll(() => {
  for (const p of procs) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    // A detached server leads its own group: kill its workers too.
    if (groups.has(p)) process.kill(-p.pid!, 'SIGKILL');
    else p.kill('SIGKILL');
  }
});

/** Spawn `aes-payload serve ARGS` (or another command line); `listening` false: do not wait for the listening line. */
export function spawnServer(args: string[], env: Record<string, string>, cmd: string[] = [process.execPath, BIN], opts: { detached?: boolean } = {}): Server & { listening: Promise<Server> } {
  // detached: a process group of its own, for signals sent to the whole group (process.kill(-pid)).
  const proc = spawn(cmd[0]!, [...cmd.slice(1), 'serve', ...args], { env: baseEnv(env), stdio: ['ignore', 'ignore', 'pipe'], detached: Boolean(opts.detached) });
  procs.push(proc);
  if (opts.detached) groups.add(proc);
  let err = '';
  const watchers: { re: RegExp; from: number; resolve: (m: RegExpExecArray) => void }[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  const check = () => {
    for (const w of [...watchers]) {
      const re = new RegExp(w.re.source, w.re.flags.replace('g', ''));
      const m = re.exec(err.slice(w.from));
      if (m) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  proc.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
    check();
  });
  const waitFor = (re: RegExp, from = 0) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      watchers.push({ re, from, resolve });
      check();
      void exited.then(() => setTimeout(() => reject(new Error(`server exited before ${re}: ${err}`)), 50));
    });
  const s = { url: '', port: 0, proc, stderr: () => err, exited, waitFor } as Server;
  const listening = waitFor(/listening on ((?:https?:\/\/[^\s]+)|unix:\S+)/).then((m) => {
    s.url = m[1]!;
    s.port = Number(/:(\d+)$/.exec(m[1]!)?.[1] ?? 0);
    return s;
  });
  return Object.assign(s, { listening });
}

/** Start a server and wait for its listening line. */
export function startServer(args: string[], env: Record<string, string>): Promise<Server> {
  return spawnServer(['--listen', '127.0.0.1:0', ...args], env).listening;
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parse one HTTP/1.1 answer (Content-Length bodies) from the front of `buf`; undefined if incomplete. */
export function parseAnswer(buf: Buffer): { answer: RawAnswer; rest: Buffer } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(head[0]!.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const l of head.slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  const len = Number(headers['content-length'] ?? 0);
  if (buf.length < end + 4 + len) return undefined;
  return { answer: { status, headers, body: buf.subarray(end + 4, end + 4 + len).toString('utf8') }, rest: buf.subarray(end + 4 + len) };
}

/** Send raw bytes on a fresh connection and collect everything until the server closes it. */
export function rawExchange(port: number, data: string | Buffer, host = '127.0.0.1'): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = connect(port, host, () => s.write(data));
    s.on('data', (b) => chunks.push(b));
    s.on('error', () => {});
    s.on('close', () => resolve({ text: Buffer.concat(chunks).toString('latin1'), closed: true }));
  });
}

/** One request over a raw socket; resolves with the first answer (the socket stays open). */
export function rawRequest(sock: Socket, req: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (b: Buffer) => {
      buf = Buffer.concat([buf, b]);
      const a = parseAnswer(buf);
      if (a) {
        sock.off('data', onData);
        sock.off('close', onClose);
        resolve(a.answer);
      }
    };
    const onClose = () => reject(new Error('closed before an answer'));
    sock.on('data', onData);
    sock.on('close', onClose);
    sock.write(req);
  });
}

export function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** A POST request's bytes. */
export function postBytes(path: string, body: string | Buffer, headers: Record<string, string> = {}): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const h = { host: '127.0.0.1', 'content-type': 'application/json', 'content-length': String(b.length), ...headers };
  return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`), b]);
}

/**
 * Keep-alive clients on raw sockets, each sending its next POST as soon as
 * an answer arrives. Counts requests written without an answer before the
 * server closed the connection (lost), and whether each connection's last
 * answer carried "Connection: close".
 */
export function keepAliveLoad(port: number, clients: number) {
  let answered = 0;
  let lost = 0;
  const lastClose: boolean[] = [];
  const bodies = new Set<string>();
  const done: Promise<void>[] = [];
  let wake: (() => void) | undefined;
  const progress = new Promise<void>((r) => (wake = r));
  for (let i = 0; i < clients; i++) {
    done.push(
      connectTo(port).then(
        (sock) =>
          new Promise<void>((resolve) => {
            let buf = Buffer.alloc(0);
            let outstanding = 0;
            let seq = 0;
            const send = () => {
              outstanding++;
              sock.write(postBytes('/v1/encrypt', JSON.stringify({ plaintext: `c${i} r${seq++}` })));
            };
            sock.on('data', (b) => {
              buf = Buffer.concat([buf, b]);
              for (let a = parseAnswer(buf); a; a = parseAnswer(buf)) {
                buf = a.rest;
                outstanding--;
                answered++;
                if (a.answer.status !== 200) throw new Error(`status ${a.answer.status}`);
                bodies.add(a.answer.body);
                lastClose[i] = a.answer.headers.connection === 'close';
                if (answered >= clients * 10) wake?.();
                if (!lastClose[i]) send();
              }
            });
            sock.on('error', () => {});
            sock.on('close', () => {
              lost += outstanding;
              resolve();
            });
            send();
          }),
      ),
    );
  }
  return { progress, done: Promise.all(done), stats: () => ({ answered, lost, lastClose, distinct: bodies.size }) };
}
