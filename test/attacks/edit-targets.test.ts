// Attack class: what edit writes, and what its editor can reach. edit used
// to replace a symbolic link with a regular file (and would have read a
// FIFO forever); a missing $TMPDIR was exit 70 ("internal error"); its I/O
// errors spoke another language ("ENOENT") than decrypt's; and the editor
// inherited the key variables, readable in its environment and in the
// parent's /proc/PID/environ.
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, readFileSync, readlinkSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../helpers.js';
import { ENV, KEY_HEX, enc, refused, workspace } from './attack.js';

const ws = workspace();
const DOC = '{"db":{"password":"hunter2","user":"app"}}';

/** An editor (a script run by sh) that runs `body` with the file as $1. */
function editor(name: string, body: string): string {
  const p = ws.file(`${name}.sh`, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o700);
  return p;
}
const replaceUser = editor('replace-user', "sed -i 's/\"app\"/\"admin\"/' \"$1\"");

describe('edit through a symbolic link', () => {
  it('writes the file the link points to, atomically, and leaves the link a link', () => {
    const target = ws.file('real.enc.json', enc(['--fields', 'db.password', '-'], DOC));
    chmodSync(target, 0o640);
    const link = join(ws.dir, 'link.enc.json');
    symlinkSync('real.enc.json', link);
    const r = run(['edit', link], { env: { ...ENV, EDITOR: replaceUser } });
    expect(r.code, r.stderr).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('real.enc.json');
    expect(statSync(target).mode & 0o777).toBe(0o640);
    const d = run(['decrypt', target], { env: ENV });
    expect(JSON.parse(d.out)).toEqual({ db: { password: 'hunter2', user: 'admin' } });
  });

  it('a FIFO (or any file that is not a regular file) is refused at once, before anything is read', () => {
    const fifo = join(ws.dir, 'pipe.enc.json');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const line = refused(run(['edit', fifo], { env: { ...ENV, EDITOR: replaceUser } }), 5);
    expect(line).toMatch(/not a regular file/);
    refused(run(['edit', '/dev/null'], { env: { ...ENV, EDITOR: replaceUser } }), 5);
  });
});

describe('-o --force never replaces what is not a regular file', () => {
  it('a FIFO (as a device such as /dev/full would be) stays what it is: exit 5', () => {
    const fifo = join(ws.dir, 'out.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    for (const args of [['encrypt', '-o', fifo, '--force', '-'], ['encrypt', '--fields', 'db.password', '-o', fifo, '--force', '-']]) {
      const line = refused(run(args, { env: ENV, input: DOC }), 5);
      expect(line).toMatch(/not a regular file/);
      expect(lstatSync(fifo).isFIFO()).toBe(true);
    }
  });
});

describe('edit errors are ordinary errors', () => {
  const file = ws.file('doc.enc.json', enc(['--fields', 'db.password', '-'], DOC));
  it('a $TMPDIR that does not exist: exit 5, one line naming it, nothing changed', () => {
    const before = readFileSync(file, 'utf8');
    const line = refused(run(['edit', file], { env: { ...ENV, EDITOR: replaceUser, TMPDIR: '/nonexistent-aesp-tmp' } }), 5);
    expect(line).toMatch(/\/nonexistent-aesp-tmp/);
    expect(line).toMatch(/no such file or directory/);
    expect(line).not.toMatch(/internal error/);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });
  it('a missing file is worded as decrypt words it', () => {
    const missing = join(ws.dir, 'missing.json');
    const e = refused(run(['edit', missing], { env: { ...ENV, EDITOR: replaceUser } }), 5);
    const d = refused(run(['decrypt', missing], { env: ENV }), 5);
    expect(e).toMatch(/no such file or directory/);
    expect(e).not.toMatch(/ENOENT/);
    expect(e.replace(/^aes-payload: /, '')).toBe(d.replace(/^aes-payload: /, ''));
  });
  it('a raw file: the message names every field document kind, YAML included', () => {
    const raw = ws.file('raw.txt', run(['encrypt', '--format', 'raw', '-'], { env: ENV, input: 'x' }).out);
    expect(refused(run(['edit', raw], { env: { ...ENV, EDITOR: replaceUser } }), 2)).toMatch(/JSON, \.env or YAML/);
  });
});

describe('the editor gets the plaintext, not the key', () => {
  it('no key variable in its environment, nor in the environment block of its parent', () => {
    const file = ws.file('keyless.enc.json', enc(['--fields', 'db.password', '-'], DOC));
    const report = join(ws.dir, 'editor-saw');
    const ed = editor('snoop', `{ env | grep -c '^AES_PAYLOAD_KEY=' ; tr '\\0' '\\n' < /proc/$PPID/environ | grep -c -F '${KEY_HEX}'; } > ${report} 2>&1; true`);
    // The editor runs as sh -c '$EDITOR "$@"': its parent is that sh, whose parent is aes-payload.
    const ed2 = editor('snoop-up', `${ed} "$@"; tr '\\0' '\\n' < /proc/$(ps -o ppid= -p $PPID | tr -d ' ')/environ | grep -c -F '${KEY_HEX}' >> ${report}; true`);
    const r = run(['edit', file], { env: { ...ENV, EDITOR: ed2 } });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(report, 'utf8').split('\n').filter(Boolean)).toEqual(['0', '0', '0']);
  });
});
