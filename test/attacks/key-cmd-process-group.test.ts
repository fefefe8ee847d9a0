// Attack class: key commands that outlive their run, and a misleading
// report. On a timeout every process the key command started is killed (its
// process group), not just the first; a command killed by a signal is
// reported as killed by that signal, not as a timeout.
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, enc, refused, workspace } from './attack.js';

const ws = workspace();
const input = enc([], 'hello');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] !== 'Z';
  } catch {
    return false;
  }
};

async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('--key-cmd', () => {
  it('a timeout kills the command and every process it started', async () => {
    const pids = join(ws.dir, 'pids');
    const cmd = ws.file('slow-key.sh', `#!/bin/sh\nsleep 300 &\nchild=$!\n( sleep 300 ) &\necho "$$ $child $!" > ${pids}\nwait\n`);
    chmodSync(cmd, 0o700);
    const line = refused(cli(['decrypt', '--key-cmd', cmd, '--key-cmd-timeout', '1', '-'], input, {}), 3);
    expect(line).toMatch(/did not finish within 1 s/);
    expect(existsSync(pids)).toBe(true);
    const all = readFileSync(pids, 'utf8').trim().split(' ').map(Number);
    expect(all.length).toBe(3);
    await until(() => all.every((p) => !alive(p)), `the key command's processes ${all.join(', ')} to end`);
  });

  it('a command killed by a signal is reported as such, not as a timeout', () => {
    const line = refused(cli(['decrypt', '--key-cmd', "sh -c 'kill -KILL $$'", '-'], input, {}), 3);
    expect(line).toMatch(/was killed by SIGKILL/);
    expect(line).not.toMatch(/did not finish/);
    const term = refused(cli(['decrypt', '--key-cmd', "sh -c 'kill -TERM $$'", '-'], input, {}), 3);
    expect(term).toMatch(/was killed by SIGTERM/);
  });

  it('a timeout also kills what the command left running in the background, detached from it but in our process group', async () => {
    const pids = join(ws.dir, 'bgpids');
    // `( sleep & )`: the subshell exits at once, so the sleep's parent is no longer the command.
    const cmd = ws.file('daemon-key.sh', `#!/bin/sh\n( sleep 302 & echo $! > ${pids}.tmp; mv ${pids}.tmp ${pids} )\nsleep 301\n`);
    chmodSync(cmd, 0o700);
    const line = refused(cli(['decrypt', '--key-cmd', cmd, '--key-cmd-timeout', '1', '-'], input, {}), 3);
    expect(line).toMatch(/did not finish within 1 s/);
    const bg = Number(readFileSync(pids, 'utf8'));
    expect(bg).toBeGreaterThan(1);
    await until(() => !alive(bg), `the detached sleep ${bg} to end`);
  });
});
