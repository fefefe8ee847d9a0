// Attack class: plaintext left behind by `edit`. Every signal that can end
// aes-payload must remove the temp dir (where the plaintext lies) and take
// the editor, and every process the editor started, down with it; an odd
// file name must not leave a temp dir either.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, baseEnv, tempDir } from '../helpers.js';
import { ENV, cli, enc, workspace } from './attack.js';

const ws = workspace();
const DOC = '{"db":{"password":"hunter2","user":"app"}}';

/** An editor that starts a child of its own (as vi starts a shell), records both pids, says it is ready, and waits. */
function editor(name: string): { path: string; pids: string } {
  const pids = join(ws.dir, `${name}.pids`);
  const path = ws.file(`${name}.sh`, `#!/bin/sh\nsleep 300 &\necho "$$ $!" > ${pids}.tmp && mv ${pids}.tmp ${pids}\necho ready\nwait\n`);
  chmodSync(path, 0o700);
  return { path, pids };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] !== 'Z';
  } catch {
    return false;
  }
};

/** Wait (on events, with a bound no loaded machine reaches) until `pred` holds. */
async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2', 'SIGALRM', 'SIGPWR', 'SIGXCPU', 'SIGVTALRM'] as const;

describe('edit cleans up on every signal that can end it', () => {
  for (const sig of SIGNALS) {
    it(`${sig}: the temp dir is removed, the editor and its child are gone, exit 128+n`, async () => {
      const tmp = tempDir();
      const file = ws.file(`doc-${sig}.enc.json`, enc(['--fields', 'db.password', '-'], DOC));
      const before = readFileSync(file, 'utf8');
      const ed = editor(`ed-${sig}`);
      const p = spawn(process.execPath, [BIN, 'edit', file], { env: baseEnv({ ...ENV, EDITOR: ed.path, TMPDIR: tmp }), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', () => {});
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => p.on('exit', (code, signal) => r({ code, signal })));
      await until(() => out.includes('ready') && existsSync(ed.pids), 'the editor to start');
      const [shPid, childPid] = readFileSync(ed.pids, 'utf8').trim().split(' ').map(Number) as [number, number];
      expect(readdirSync(tmp).length).toBe(1);
      p.kill(sig);
      const e = await exited;
      expect(e.signal).toBe(null);
      expect(e.code).toBe(128 + constants.signals[sig]);
      expect(readdirSync(tmp)).toEqual([]);
      await until(() => !alive(shPid) && !alive(childPid), 'the editor and its child to end');
      expect(readFileSync(file, 'utf8')).toBe(before);
    });
  }
});

describe('edit with an odd file name', () => {
  it('edit ..aesp does not fail as an internal error (70) nor leave a temp dir', () => {
    const tmp = tempDir();
    const sub = join(ws.dir, 'odd');
    mkdirSync(sub);
    const file = join(sub, '..aesp');
    writeFileSync(file, enc([], 'line one\n'));
    const ed = ws.file('append.sh', '#!/bin/sh\necho "line two" >> "$1"\n');
    chmodSync(ed, 0o700);
    const r = cli(['edit', file], '', { ...ENV, EDITOR: ed, TMPDIR: tmp });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
    expect(cli(['decrypt', file]).out).toBe('line one\nline two\n');
  });
});
