// Terminal behaviour, on a real pseudo-terminal (test/peers/pty_run.py): the
// hidden key prompt, Ctrl-C at a prompt, the keygen confirm, and colour rules.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, PYTHON, ROOT, runPeer, tempDir } from './helpers.js';

const dir = tempDir();
const PTY = join(ROOT, 'test/peers/pty_run.py');
let n = 0;

function onTty(args: string[], wait: string, send: string, env: Record<string, string> = {}) {
  const stdoutFile = join(dir, `stdout-${n++}`);
  const r = runPeer(PYTHON, [PTY, '--stdout', stdoutFile, '--wait', wait, '--send', send, '--', process.execPath, BIN, ...args], '', {
    TERM: 'xterm-256color',
    ...env,
  });
  return { code: r.code, screen: r.out, stdout: readFileSync(stdoutFile), ptyState: r.stderr };
}

describe('on a terminal', () => {
  const key = randomBytes(32).toString('hex');
  const plain = join(dir, 'plain.txt');
  writeFileSync(plain, 'typed at a prompt');

  it('--prompt asks for the key without echoing it, and it works', () => {
    const enc = onTty(['encrypt', plain, '--prompt'], 'Key', `${key}\\r`);
    expect(enc.code, enc.screen).toBe(0);
    expect(enc.screen).toContain('Key');
    expect(enc.screen).not.toContain(key);
    const envPath = join(dir, 'prompted.json');
    writeFileSync(envPath, enc.stdout);
    const dec = onTty(['decrypt', envPath, '--prompt'], 'Key', `${key}\\r`);
    expect(dec.code, dec.screen).toBe(0);
    expect(dec.stdout.toString()).toBe('typed at a prompt');
  });

  it('--passphrase asks twice on encrypt (hidden), once on decrypt; a mismatch exits 3', () => {
    const twice = (args: string[], first: string, second: string) => {
      const stdoutFile = join(dir, `stdout-${n++}`);
      const r = runPeer(
        PYTHON,
        [PTY, '--stdout', stdoutFile, '--wait', 'Passphrase', '--send', first, '--wait', 'Confirm', '--send', second, '--', process.execPath, BIN, ...args],
        '',
        { TERM: 'xterm-256color' },
      );
      return { code: r.code, screen: r.out, stdout: readFileSync(stdoutFile) };
    };
    const enc = twice(['encrypt', plain, '--passphrase'], 'tr0ub4dor\\r', 'tr0ub4dor\\r');
    expect(enc.code, enc.screen).toBe(0);
    expect(enc.screen).not.toContain('tr0ub4dor');
    expect(JSON.parse(enc.stdout.toString()).kdf.name).toBe('scrypt');
    const envPath = join(dir, 'pp.json');
    writeFileSync(envPath, enc.stdout);
    const dec = onTty(['decrypt', envPath, '--passphrase'], 'Passphrase', 'tr0ub4dor\\r');
    expect(dec.code, dec.screen).toBe(0);
    expect(dec.stdout.toString()).toBe('typed at a prompt');
    const bad = twice(['encrypt', plain, '--passphrase'], 'one\\r', 'two\\r');
    expect(bad.code).toBe(3);
    expect(bad.screen.replace(/\u001b\[[0-9;]*m/g, '')).toContain('aes-payload: the passphrases do not match');
    expect(bad.stdout.length).toBe(0);
  });

  it('Ctrl-C at the prompt exits 130 and prints no stack', () => {
    const r = onTty(['encrypt', plain, '--prompt'], 'Key', '\\x03');
    expect(r.code).toBe(130);
    expect(r.stdout.length).toBe(0);
    expect(r.screen).not.toMatch(/\n\s+at /);
    // the terminal is restored: echo back on, and the cursor shown again after it was hidden
    expect(r.ptyState).toContain('[pty: echo on]');
    expect(r.screen.lastIndexOf('\u001b[?25h')).toBeGreaterThan(r.screen.lastIndexOf('\u001b[?25l'));
  });

  it('keygen --ini asks before replacing a key, and keeps it on "no"', () => {
    const ini = join(dir, 'confirm.ini');
    writeFileSync(ini, '[app:main]\nSECRET_KEY = old\n', { mode: 0o600 });
    const no = onTty(['keygen', '--ini', ini], 'Replace', 'n\\r');
    expect(no.code).toBe(5);
    expect(readFileSync(ini, 'utf8')).toBe('[app:main]\nSECRET_KEY = old\n');
    const yes = onTty(['keygen', '--ini', ini], 'Replace', 'y\\r');
    expect(yes.code, yes.screen).toBe(0);
    expect(readFileSync(ini, 'utf8')).toMatch(/^\[app:main\]\nSECRET_KEY = [0-9a-f]{64}\n$/);
  });

  it('colours stderr on a terminal, but not with NO_COLOR', () => {
    const env = { AES_PAYLOAD_KEY: 'short' };
    const coloured = onTty(['encrypt', plain], '', '', env);
    expect(coloured.code).toBe(3);
    expect(coloured.screen).toMatch(/\x1b\[\d+m/);
    const plainOut = onTty(['encrypt', plain], '', '', { ...env, NO_COLOR: '1' });
    expect(plainOut.code).toBe(3);
    expect(plainOut.screen).not.toMatch(/\x1b\[/);
    expect(plainOut.screen).toMatch(/^aes-payload: /m);
  });
});
