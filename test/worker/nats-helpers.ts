// A real nats-server with JetStream on 127.0.0.1 (a free port, its store in a
// temp dir), and the CLI's `worker` as a child process whose JSON log lines
// the tests wait on. Every wait is for an event (a log line, a count on the
// server), bounded by a backstop that only a hang reaches.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { BIN, baseEnv } from '../helpers.js';

/** Only a hang (a bug) reaches this; a loaded machine never does. */
export const BACKSTOP_MS = 5 * 60_000;

export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

/** Poll `check` (a cheap question to the server) until it holds; throws at the backstop. */
export async function until(what: string, check: () => Promise<boolean> | boolean, every = 50): Promise<void> {
  const end = Date.now() + BACKSTOP_MS;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`waited ${BACKSTOP_MS / 1000} s for ${what}`);
    await pause(every);
  }
}

export interface Nats {
  url: string;
  proc: ChildProcess;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  stop(): Promise<void>;
}

/** nats-server -js on a free loopback port, ready (it said so), with a client connected. */
export async function startNats(dir: string, extra: string[] = [], auth: Partial<ConnectionOptions> = {}): Promise<Nats> {
  const port = await freePort();
  const proc = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'jetstream'), ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`nats-server did not start:\n${log}`)), BACKSTOP_MS);
    proc.stderr!.on('data', (b: Buffer) => {
      log += b.toString();
      if (log.includes('Server is ready')) {
        clearTimeout(t);
        resolve();
      }
    });
    proc.once('exit', (c) => {
      clearTimeout(t);
      reject(new Error(`nats-server exited (${c}):\n${log}`));
    });
  });
  const url = `nats://127.0.0.1:${port}`;
  const nc = await connect({ servers: url, ...auth });
  return {
    url,
    proc,
    nc,
    js: jetstream(nc),
    jsm: await jetstreamManager(nc),
    async stop() {
      await nc.close().catch(() => {});
      if (proc.exitCode === null) {
        proc.kill('SIGKILL');
        await once(proc, 'exit');
      }
    },
  };
}

/** A `worker` process; its stderr JSON lines kept for the test to wait on. */
export class Worker {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: (() => void)[] = [];

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [BIN, 'worker', ...args], { env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', () => {});
    let part = '';
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (s: string) => {
      this.stderr += s;
      part += s;
      const all = part.split('\n');
      part = all.pop()!;
      for (const l of all) {
        try {
          this.lines.push(JSON.parse(l) as Record<string, unknown>);
        } catch {
          this.lines.push({ text: l });
        }
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => {
      for (const w of this.waiters.splice(0)) w();
      resolve({ code, signal });
    }));
  }

  /** The first log line that `pred` accepts (waiting for it). */
  async line(pred: (l: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
    const end = Date.now() + BACKSTOP_MS;
    for (;;) {
      const l = this.lines.find(pred);
      if (l) return l;
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`worker exited before ${what}:\n${this.stderr}`);
      if (Date.now() > end) throw new Error(`waited for ${what}:\n${this.stderr}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 1000);
      });
    }
  }

  /** Records this worker reported settled (ok, duplicate, dead letter), from its batch lines. */
  settled(): number {
    return this.lines.filter((l) => l.msg === 'batch').reduce((n, l) => n + (l.ok as number) + (l.duplicate as number) + (l.dead_letter as number), 0);
  }

  kill(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }
}
