// Attack class: the Node.js inspector opened by a signal. SIGUSR1 makes
// Node listen on 127.0.0.1:9229, and `node inspect -p PID` then reads
// process.env.AES_PAYLOAD_KEY (and runs code in the process). exec, edit
// and serve run long enough to be found; after SIGUSR1 none of them may
// listen on any new port, print "Debugger listening", or stop working.
// Run on Node 20 and on Node 24 (.ci/run runs the suite on both).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, baseEnv } from '../helpers.js';
import { ENV, enc, workspace } from './attack.js';

const ws = workspace();

/** TCP ports `pid` listens on: its socket inodes, found in /proc/net/tcp and tcp6 in state LISTEN (0A). */
function listening(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      /* closed meanwhile */
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[3] === '0A' && inodes.has(f[9]!)) ports.push(Number.parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

function started(p: ChildProcess) {
  let out = '';
  let err = '';
  p.stdout?.on('data', (b: Buffer) => (out += b));
  p.stderr?.on('data', (b: Buffer) => (err += b));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => p.on('close', (code, signal) => r({ code, signal }))); // close: exited, and its output read to the end
  const waitFor = (re: RegExp, where: () => string) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = re.exec(where());
        if (m) resolve(m);
      };
      p.stdout?.on('data', check);
      p.stderr?.on('data', check);
      void exited.then(() => reject(new Error(`exited before ${re}: ${err}`)));
      check();
    });
  return { exited, out: () => out, err: () => err, waitFor };
}

describe('SIGUSR1 opens no inspector', () => {
  it('edit: while the editor runs, SIGUSR1 changes nothing; the edit finishes normally', async () => {
    const file = ws.file('doc.enc.json', enc(['--fields', 'db.password', '-'], '{"db":{"password":"hunter2"}}'));
    const fifo = join(ws.dir, 'go');
    const mk = spawn('mkfifo', [fifo]);
    await new Promise((r) => mk.on('exit', r));
    const editor = ws.file('editor.sh', `#!/bin/sh\necho ready\nread x < ${fifo}\n`);
    chmodSync(editor, 0o700);
    const p = spawn(process.execPath, [BIN, 'edit', file], { env: baseEnv({ ...ENV, EDITOR: editor }), stdio: ['ignore', 'pipe', 'pipe'] });
    const c = started(p);
    await c.waitFor(/ready/, c.out);
    const before = listening(p.pid!);
    p.kill('SIGUSR1');
    // The editor goes on only after the signal was sent; then the edit ends ("unchanged").
    const w = spawn('sh', ['-c', `echo go > ${fifo}`]);
    await new Promise((r) => w.on('exit', r));
    const e = await c.exited;
    expect(e.code, c.err()).toBe(0);
    expect(c.err()).toMatch(/unchanged/);
    expect(c.err()).not.toMatch(/Debugger|inspector/i);
    expect(before).toEqual([]);
  });

  it('serve: SIGUSR1 changes nothing; it keeps answering, listens on its own port only, and drains on SIGTERM', async () => {
    const p = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0'], { env: baseEnv(ENV), stdio: ['ignore', 'ignore', 'pipe'] });
    const c = started(p);
    const m = await c.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/, c.err);
    const port = Number(m[1]);
    p.kill('SIGUSR1');
    const get = () =>
      new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
    // Requests after the signal are answered by the same process (the signal has been handled by then).
    for (let i = 0; i < 3; i++) expect(await get()).toBe(200);
    expect(listening(p.pid!)).toEqual([port]);
    p.kill('SIGTERM');
    const e = await c.exited;
    expect(e.code, c.err()).toBe(0);
    expect(c.err()).not.toMatch(/Debugger|inspector/i);
  });
});
