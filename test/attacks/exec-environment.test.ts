// Attack class: what exec hands to its command besides the authenticated
// values. The command must get exactly the variables the files
// authenticate, and nothing that opens the key:
//   - the key, from the parent: /proc/$PPID/environ held the parent's
//     initial environment (AES_PAYLOAD_KEY, --key-env, --passphrase-env)
//     whatever JavaScript deleted;
//   - variables nobody authenticated: a line added to a
//     --mac-only-encrypted document (LD_PRELOAD, NODE_OPTIONS, BASH_ENV);
//   - names dropped or mistaken: __proto__, constructor, toString;
//   - a signal that ends aes-payload but leaves the command running with
//     the secrets (SIGQUIT, SIGUSR2, SIGALRM);
//   - an empty command name: exit 70 ("internal error") instead of 127.
// Runs on every Node.js: with process.execve (22.15+) the command replaces
// aes-payload; without it (Node 20) aes-payload stays as its parent.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIN, baseEnv, run } from '../helpers.js';
import { ENV, KEY_HEX, enc, refused, workspace } from './attack.js';

const ws = workspace();

/** A command that looks for `needle` in the environment block of every process it can read, its parent's first. */
const hunt = (needle: string) => [
  '--',
  'sh',
  '-c',
  `for f in /proc/$PPID/environ /proc/[0-9]*/environ; do if tr '\\0' '\\n' < "$f" 2>/dev/null | grep -q -F -- "${needle}"; then echo "FOUND in $f"; fi; done; echo searched`,
];

describe('the key is not readable by the command', () => {
  const vars = ws.file('vars.json.aesp', enc([], '{"APP":"ok"}'));

  it('AES_PAYLOAD_KEY: in no environment block the command can read, its parent\'s included', () => {
    const r = run(['exec', '-f', vars, ...hunt(KEY_HEX)], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toBe('searched\n');
  });

  it('--key-env NAME and --passphrase-env NAME: the same', () => {
    const r = run(['exec', '--key-env', 'MY_KEY', '-f', vars, ...hunt(KEY_HEX)], { env: { MY_KEY: KEY_HEX } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toBe('searched\n');
    const pass = `pass-${randomBytes(12).toString('hex')}`;
    const pv = ws.file('pass.aesp', run(['encrypt', '--passphrase-env', 'P', '-'], { env: { P: pass }, input: '{"APP":"ok"}' }).out);
    const p = run(['exec', '--passphrase-env', 'P', '-f', pv, ...hunt(pass)], { env: { P: pass } });
    expect(p.code, p.stderr).toBe(0);
    expect(p.out).toBe('searched\n');
  });

  it('--keep-key-env still hands the key on, as asked', () => {
    const r = run(['exec', '--keep-key-env', '-f', vars, '--', 'sh', '-c', 'printf %s "$AES_PAYLOAD_KEY"'], { env: ENV });
    expect(r.out).toBe(KEY_HEX);
  });
});

describe('only authenticated variables reach the command', () => {
  const plain = 'DB_PASSWORD=hunter2\nDB_HOST=db.local\n';
  const macOnly = enc(['--fields', 'DB_PASSWORD', '--mac-only-encrypted', '--input-type', 'env', '-'], plain);
  const show = ['--', 'sh', '-c', 'printf "%s|%s|%s|%s" "$DB_PASSWORD" "${DB_HOST:-}" "${LD_PRELOAD:-}" "${NODE_OPTIONS:-}"'];

  it('a --mac-only-encrypted document: its plaintext values are refused (exit 4), naming them and the flag', () => {
    const f = ws.file('mac-only.env', macOnly);
    const line = refused(run(['exec', '-f', f, ...show], { env: ENV }), 4);
    expect(line).toMatch(/DB_HOST/);
    expect(line).toMatch(/--allow-unauthenticated/);
  });

  it('lines added to it (LD_PRELOAD, NODE_OPTIONS, BASH_ENV) never reach the command, even with --allow-unauthenticated', () => {
    for (const extra of ['LD_PRELOAD=/tmp/evil.so', 'NODE_OPTIONS=--require=/tmp/evil.js', 'BASH_ENV=/tmp/evil.sh', 'PATH=/tmp/evil']) {
      const f = ws.file(`added-${extra.split('=')[0]}.env`, `${macOnly}${extra}\n`);
      expect(run(['verify', f], { env: ENV }).code).toBe(0); // the premise: the MAC does not cover them
      refused(run(['exec', '-f', f, ...show], { env: ENV }), 4);
      const line = refused(run(['exec', '--allow-unauthenticated', '-f', f, ...show], { env: ENV }), 4);
      expect(line).toContain(extra.split('=')[0]!);
    }
  });

  it('--allow-unauthenticated passes ordinary plaintext values on, with a warning naming each', () => {
    const f = ws.file('allowed.env', macOnly);
    const r = run(['exec', '--allow-unauthenticated', '-f', f, ...show], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toBe('hunter2|db.local||');
    expect(r.stderr).toMatch(/warning: .*not authenticated.*DB_HOST/);
  });

  it('a document whose MAC covers everything needs no flag', () => {
    const f = ws.file('all.env', enc(['--fields', 'DB_PASSWORD', '--input-type', 'env', '-'], plain));
    const r = run(['exec', '-f', f, ...show], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toBe('hunter2|db.local||');
    expect(r.stderr).toBe('');
  });
});

describe('names that are properties of every JavaScript object', () => {
  const names = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'];
  const json = () => ws.file('proto.json.aesp', enc([], JSON.stringify(Object.fromEntries(names.map((n) => [n, `v-${n}`])))));
  const dotenv = () => ws.file('proto.env.aesp', enc(['--fields', '*', '--input-type', 'env', '-'], names.map((n) => `${n}=v-${n}\n`).join('')));
  const show = ['--', '/usr/bin/env'];

  it('are passed on like any other, from JSON and .env, without false warnings', () => {
    for (const f of [json(), dotenv()]) {
      const r = run(['exec', '-f', f, ...show], { env: ENV });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      const got = r.out.split('\n');
      for (const n of names) expect(got).toContain(`${n}=v-${n}`);
    }
  });

  it('--no-override keeps them (none is in the environment), and a real clash still warns', () => {
    const r = run(['exec', '--no-override', '-f', json(), ...show], { env: ENV });
    const got = r.out.split('\n');
    for (const n of names) expect(got).toContain(`${n}=v-${n}`);
    const clash = run(['exec', '-f', json(), ...show], { env: { ...ENV, constructor: 'mine' } });
    expect(clash.out.split('\n')).toContain('constructor=v-constructor');
    expect(clash.stderr).toMatch(/sets constructor, which the environment already has/);
  });
});

/** Start exec with pipes; resolves when the command printed "ready". */
function start(args: string[]) {
  const p = spawn(process.execPath, [BIN, ...args], { env: baseEnv(ENV), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (b: Buffer) => (out += b));
  p.stderr.on('data', (b: Buffer) => (err += b));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => p.on('close', (code, signal) => r({ code, signal }))); // close: exited, and its output read to the end
  const ready = new Promise<void>((r) => p.stdout.on('data', () => out.includes('ready') && r()));
  return { p, exited, ready, out: () => out, err: () => err };
}

describe('every signal that ends a process reaches the command', () => {
  const vars = ws.file('sig.json.aesp', enc([], '{"APP":"ok"}'));
  for (const [sig, code] of [['SIGQUIT', 31], ['SIGUSR2', 32], ['SIGALRM', 33], ['SIGUSR1', 34], ['SIGPWR', 35], ['SIGXCPU', 36]] as const) {
    it(`${sig}: the command gets it, and its exit status is exec's`, async () => {
      const c = start(['exec', '-f', vars, '--', 'sh', '-c', `trap 'kill $p; echo got-${sig}; exit ${code}' ${sig.slice(3)}; sleep 300 & p=$!; echo ready; wait $p`]);
      await c.ready;
      c.p.kill(sig);
      const e = await c.exited;
      expect(e.code, c.err()).toBe(code);
      expect(c.out()).toBe(`ready\ngot-${sig}\n`);
      expect(c.err()).not.toMatch(/Debugger/);
    });
  }
});

describe('who the command\'s parent is', () => {
  const vars = ws.file('pid.json.aesp', enc([], '{"APP":"ok"}'));
  const execve = typeof (process as { execve?: unknown }).execve === 'function';
  it(execve ? 'with process.execve (this Node.js), the command takes aes-payload\'s place: same pid' : 'without process.execve (this Node.js), aes-payload stays as the parent, its key variables wiped', async () => {
    const c = start(['exec', '-f', vars, '--', 'sh', '-c', 'echo "ready $$ $PPID"; tr "\\0" "\\n" < /proc/$PPID/environ | grep "^AES_PAYLOAD_KEY=" || echo "no key"']);
    const e = await c.exited;
    expect(e.code, c.err()).toBe(0);
    const [, pid, ppid] = c.out().split('\n')[0]!.split(' ').map(Number);
    if (execve) expect(pid).toBe(c.p.pid);
    else expect(ppid).toBe(c.p.pid);
    expect(c.out().split('\n')[1]).toMatch(execve ? /^no key$/ : /^AES_PAYLOAD_KEY=$/);
  });
});

describe('the command name', () => {
  const vars = ws.file('name.json.aesp', enc([], '{"APP":"ok"}'));
  it('an empty name is "command not found" (127), not an internal error', () => {
    const r = run(['exec', '-f', vars, '--', ''], { env: ENV });
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/command not found/);
  });
  it('a directory or a file without the execute bit is 126; a script without #! runs through sh, as execvp does', () => {
    expect(run(['exec', '-f', vars, '--', ws.dir], { env: ENV }).code).toBe(126);
    const noX = ws.file('no-x.sh', 'echo hi\n');
    expect(run(['exec', '-f', vars, '--', noX], { env: ENV }).code).toBe(126);
    const script = ws.file('plain-script', 'echo "script $APP $1"\n');
    chmodSync(script, 0o755);
    const r = run(['exec', '-f', vars, '--', script, 'arg'], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toBe('script ok arg\n');
  });
  it('a variable too large for execve (200 KB) is 126 with one line, never a crash', () => {
    const big = ws.file('big.json.aesp', enc([], JSON.stringify({ BIG: 'x'.repeat(200_000) })));
    const r = run(['exec', '-f', big, '--', 'true'], { env: ENV });
    expect(r.code).toBe(126);
    expect(r.stderr).toMatch(/^aes-payload: .*(too long|E2BIG)/);
    expect(r.stderr).not.toMatch(/Native stack|Aborted|internal error/);
  });

  it('a #! interpreter that does not exist is 127 with one line, never a crash', () => {
    const bad = ws.file('bad-interp', '#!/no/such/interpreter\necho x\n');
    chmodSync(bad, 0o755);
    const r = run(['exec', '-f', vars, '--', bad], { env: ENV });
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/^aes-payload: /);
    expect(r.stderr).not.toMatch(/Native stack|Aborted|internal error/);
  });
});
