// Terminal behaviour, on a real pseudo-terminal (test/peers/pty_run.py): the
// hidden key prompt, Ctrl-C at a prompt, the keygen confirm, and colour rules.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyId } from '../../src/keys/kid.js';
import { BIN, PYTHON, ROOT, run, runPeer, tempDir } from '../helpers.js';

const dir = tempDir();
const PTY = join(ROOT, 'test/peers/pty_run.py');
let n = 0;

/** Run on the pty, answering several prompts in order; `stdin` makes stdin a pipe with those bytes. */
function session(args: string[], steps: [string, string][], opts: { stdin?: string | Buffer; stdoutTty?: boolean; env?: Record<string, string>; prefix?: string[] } = {}) {
  const stdoutFile = opts.stdoutTty ? '-' : join(dir, `stdout-${n++}`);
  const extra: string[] = [];
  if (opts.stdin !== undefined) {
    const f = join(dir, `stdin-${n++}`);
    writeFileSync(f, opts.stdin);
    extra.push('--stdin', f);
  }
  for (const [w, sd] of steps) extra.push('--wait', w, '--send', sd);
  const r = runPeer(PYTHON, [PTY, '--stdout', stdoutFile, ...extra, '--', ...(opts.prefix ?? []), process.execPath, BIN, ...args], '', { TERM: 'xterm-256color', NO_COLOR: '1', ...opts.env });
  const plain = r.out.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
  return { code: r.code, screen: r.out, plain, stdout: opts.stdoutTty ? Buffer.alloc(0) : readFileSync(stdoutFile), ptyState: r.stderr };
}

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
  });

  it('a mismatched confirmation asks again, up to 3 times in all, then exits 3', () => {
    const r = session(['encrypt', plain, '--passphrase'], [
      ['Passphrase', 'correct horse battery\\r'], ['Confirm', 'two\\r'],
      ['Passphrase', 'correct horse battery\\r'], ['Confirm', 'three\\r'],
      ['Passphrase', 'correct horse battery\\r'], ['Confirm', 'four\\r'],
    ]);
    expect(r.code, r.plain).toBe(3);
    expect(r.plain.match(/the passphrases do not match; try again/g)?.length).toBe(2);
    expect(r.plain).toContain('aes-payload: the passphrases do not match (3 tries)');
    expect(r.stdout.length).toBe(0);
    const second = session(['encrypt', plain, '--passphrase'], [['Passphrase', 'correct horse battery\\r'], ['Confirm', 'oops\\r'], ['Passphrase', 'correct horse battery\\r'], ['Confirm', 'correct horse battery\\r']]);
    expect(second.code, second.plain).toBe(0);
    expect(JSON.parse(second.stdout.toString()).kdf.name).toBe('scrypt');
  });

  it('warns on a passphrase under 12 characters; an empty one is generated, shown once, and works', () => {
    const short = session(['encrypt', plain, '--passphrase'], [['Passphrase', 'tr0ub4dor\\r'], ['Confirm', 'tr0ub4dor\\r']]);
    expect(short.code).toBe(0);
    expect(short.plain).toMatch(/warning: the passphrase is shorter than 12 characters/);
    const gen = session(['encrypt', plain, '--passphrase'], [['leave empty', '\\r']]);
    expect(gen.code, gen.plain).toBe(0);
    const g = /using the autogenerated passphrase: ([a-z2-9]{5}(?:-[a-z2-9]{5}){5})/.exec(gen.plain)?.[1];
    expect(g).toBeDefined();
    const f = join(dir, 'gen.json');
    writeFileSync(f, gen.stdout);
    const d = session(['decrypt', f, '--passphrase-env', 'PP'], [], { env: { PP: g! } });
    expect(d.code, d.plain).toBe(0);
    expect(d.stdout.toString()).toBe('typed at a prompt');
  });

  it('Ctrl-T does not reveal the key at the prompt', () => {
    // type something, press Ctrl-T, clear the line (Ctrl-U), then type the key
    const r = session(['encrypt', plain, '--prompt'], [['Key', `abcdef0123\\x14\\x15${key}\\r`]]);
    expect(r.code, r.plain).toBe(0);
    expect(r.plain).not.toContain('abcdef0123');
    expect(r.plain).not.toContain(key);
    expect(r.plain).not.toMatch(/toggle visibility/);
  });

  it('Ctrl-C at the prompt prints "interrupted", exits 130 and prints no stack', () => {
    const r = onTty(['encrypt', plain, '--prompt'], 'Key', '\\x03');
    expect(r.code).toBe(130);
    expect(r.screen.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')).toMatch(/aes-payload: interrupted/);
    expect(r.stdout.length).toBe(0);
    expect(r.screen).not.toMatch(/\n\s+at /);
    // the terminal is restored: echo back on, and the cursor shown again after it was hidden
    expect(r.ptyState).toContain('[pty: echo on]');
    expect(r.screen.lastIndexOf('\u001b[?25h')).toBeGreaterThan(r.screen.lastIndexOf('\u001b[?25l'));
  });

  it('review 20.11: Ctrl-D (end of input) at the key prompt is no key (exit 3), not "interrupted" (130); at a confirm it is "no"', () => {
    const r = onTty(['encrypt', plain, '--prompt'], 'Key', '\\x04');
    expect(r.code).toBe(3);
    const text = r.screen.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
    expect(text).toMatch(/aes-payload: no key given: end of input \(Ctrl-D\) at the prompt/);
    expect(text).not.toMatch(/interrupted/);
    expect(r.stdout.length).toBe(0);
    const ini = join(dir, 'ctrl-d.ini');
    writeFileSync(ini, '[app:main]\nSECRET_KEY = old\n', { mode: 0o600 });
    const no = onTty(['keygen', '--ini', ini], 'Replace', '\\x04');
    expect(no.code).toBe(5);
    expect(readFileSync(ini, 'utf8')).toBe('[app:main]\nSECRET_KEY = old\n');
  });

  it('keygen --ini asks before replacing a key, and keeps it on "no"', () => {
    const ini = join(dir, 'confirm.ini');
    writeFileSync(ini, '[app:main]\nSECRET_KEY = old\n', { mode: 0o600 });
    const no = onTty(['keygen', '--ini', ini], 'Replace', 'n\\r');
    expect(no.code).toBe(5);
    expect(no.screen).toContain('(not a key aes-payload can read)');
    expect(readFileSync(ini, 'utf8')).toBe('[app:main]\nSECRET_KEY = old\n');
    const yes = onTty(['keygen', '--ini', ini], 'Replace', 'y\\r');
    expect(yes.code, yes.screen).toBe(0);
    const written = /SECRET_KEY = ([0-9a-f]{64})/.exec(readFileSync(ini, 'utf8'))![1]!;
    expect(readFileSync(ini, 'utf8')).toMatch(/^\[app:main\]\nSECRET_KEY = [0-9a-f]{64}\n$/);
    // the question names the kid of the key it would destroy
    const again = onTty(['keygen', '--ini', ini], 'Replace', 'n\\r');
    expect(again.screen).toContain(`(kid ${keyId(Buffer.from(written, 'hex'))})`);
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

describe('data piped in while a prompt is needed', () => {
  const key = randomBytes(32).toString('hex');

  it('encrypt --passphrase with stdin a pipe asks on the terminal (/dev/tty), twice', () => {
    const r = session(['encrypt', '--passphrase'], [['Passphrase', 'piped and prompted\\r'], ['Confirm', 'piped and prompted\\r']], { stdin: '{"a":1}' });
    expect(r.code, r.plain).toBe(0);
    const e = JSON.parse(r.stdout.toString()) as { kdf: { name: string } };
    expect(e.kdf.name).toBe('scrypt');
    expect(r.plain).not.toContain('piped and prompted');
    const f = join(dir, 'piped.json');
    writeFileSync(f, r.stdout);
    const d = session(['decrypt', '--passphrase'], [['Passphrase', 'piped and prompted\\r']], { stdin: readFileSync(f) });
    expect(d.code, d.plain).toBe(0);
    expect(d.stdout.toString()).toBe('{"a":1}');
    expect(d.ptyState).toContain('[pty: echo on]');
  });

  it('decrypt --prompt < file reads the key from the terminal', () => {
    const e = run(['encrypt'], { env: { AES_PAYLOAD_KEY: key }, input: 'from a file' });
    const d = session(['decrypt', '--prompt'], [['Key', `${key}\\r`]], { stdin: e.stdout });
    expect(d.code, d.plain).toBe(0);
    expect(d.stdout.toString()).toBe('from a file');
  });

  it('with no terminal at all (no controlling terminal, stdin a pipe) it exits 3 and says what to use', () => {
    const r = session(['encrypt', '--passphrase'], [], { stdin: 'x', prefix: ['setsid', '-w'] });
    expect(r.code, r.plain).toBe(3);
    expect(r.plain).toMatch(/aes-payload: the passphrase prompt needs a terminal: there is no terminal .*--passphrase-env NAME or --passphrase-file FILE/);
    // and with stderr not a terminal either (a plain pipe), whatever the rest
    const p = run(['encrypt', '--passphrase'], { input: 'x' });
    expect(p.code).toBe(3);
    expect(p.stderr).toMatch(/standard error is not a terminal/);
  });
});

describe('binary and the terminal', () => {
  it('encrypt --format stream refuses to write binary to a terminal (exit 2), as age does; -o - forces it', () => {
    const env = { AES_PAYLOAD_KEY: randomBytes(32).toString('hex') };
    const r = session(['encrypt', '--format', 'stream'], [], { stdin: 'some data', stdoutTty: true, env });
    expect(r.code).toBe(2);
    expect(r.plain).toContain('aes-payload: refusing to output binary to the terminal; use -o FILE, --armor or redirect (-o - forces it)');
    const forced = session(['encrypt', '--format', 'stream', '-o', '-'], [], { stdin: 'some data', stdoutTty: true, env });
    expect(forced.code, forced.plain).toBe(0);
    expect(forced.screen).toContain('AESPSTRM');
    const armored = session(['encrypt', '--format', 'stream', '--armor'], [], { stdin: 'some data', stdoutTty: true, env });
    expect(armored.code).toBe(0);
    expect(armored.plain).toContain('-----BEGIN AES-PAYLOAD STREAM-----');
  });

  it('review 20.5: decrypt refuses plaintext that is not printable UTF-8 text to a terminal (exit 2, nothing written); text, pipes and -o - are unchanged', () => {
    const env = { AES_PAYLOAD_KEY: randomBytes(32).toString('hex') };
    const sealed = (pt: Buffer, args: string[] = []) => {
      const e = run(['encrypt', ...args], { input: pt, env });
      expect(e.code, e.stderr).toBe(0);
      const f = join(dir, `sealed-${n++}`);
      writeFileSync(f, e.stdout);
      return f;
    };
    const bad: [string, Buffer][] = [
      ['invalid UTF-8', Buffer.from('A\xffB\n', 'latin1')],
      ['an escape sequence', Buffer.from('title\u001b]0;pwned\u0007 \u001b[2Jcleared\n')],
      ['a C1 control', Buffer.from('x\u009b2Jy\n')],
      ['a lone carriage return', Buffer.from('visible\rhidden\n')],
    ];
    for (const [what, pt] of bad) {
      for (const args of [[], ['--format', 'stream']]) {
        const f = sealed(pt, args);
        const r = session(['decrypt', f], [], { stdoutTty: true, env });
        expect(r.code, `${what} ${args.join(' ')}: ${r.plain}`).toBe(2);
        expect(r.plain).toMatch(/aes-payload: refusing to write the plaintext to the terminal: .*use -o FILE or a pipe/);
        expect(r.screen).not.toContain('\u001b[2J');
        expect(r.screen).not.toContain('\u001b]0;');
        expect(r.screen).not.toContain('hidden');
        // a pipe gets the bytes unchanged; -o - forces them to the terminal
        const p = run(['decrypt', f], { env });
        expect(p.code, p.stderr).toBe(0);
        expect(p.stdout.equals(pt)).toBe(true);
        expect(session(['decrypt', '-o', '-', f], [], { stdoutTty: true, env }).code).toBe(0);
      }
    }
    // --lines: a bad line is reported and skipped, the others shown
    const lines = run(['encrypt', '--lines'], { input: '"ok"\n"\u001b[31mred"\n', env });
    const lf = join(dir, `lines-${n++}`);
    writeFileSync(lf, lines.stdout);
    const l = session(['decrypt', '--lines', lf], [], { stdoutTty: true, env });
    expect(l.plain).toContain('"ok"');
    expect(l.plain).toMatch(/line 2: refusing to write the plaintext to the terminal/);
    expect(l.screen).not.toContain('\u001b[31m');
    // printable text, UTF-8, tabs and CRLF go to the terminal as they are
    const text = Buffer.from('caf\u00e9 \u{1F4B6}\tok\r\nline 2\n');
    for (const args of [[], ['--format', 'stream']]) {
      const ok = session(['decrypt', sealed(text, args)], [], { stdoutTty: true, env });
      expect(ok.code, ok.plain).toBe(0);
      expect(ok.plain).toContain('caf\u00e9 \u{1F4B6}');
    }
  });

  it('review 22.1: decrypting an age file to a terminal refuses escape sequences and binary (exit 2, ERR_TTY_BINARY) as stream and JWE do; pipes, -o - and text are unchanged', () => {
    const k = run(['keygen', '--age', '-o', join(dir, `age-id-${n}.txt`)]);
    expect(k.code, k.stderr).toBe(0);
    const idFile = join(dir, `age-id-${n++}.txt`);
    const pub = /age1[a-z0-9]+/.exec(readFileSync(idFile, 'utf8'))![0];
    const sealed = (pt: Buffer, armor: boolean) => {
      const e = run(['encrypt', '--format', 'age', '-r', pub, ...(armor ? ['--armor'] : [])], { input: pt });
      expect(e.code, e.stderr).toBe(0);
      const f = join(dir, `age-${n++}.age`);
      writeFileSync(f, e.stdout);
      return f;
    };
    for (const armor of [false, true]) {
      for (const pt of [Buffer.from('hi\u001b]0;pwned\u0007 \u001b[2Jcleared\n'), Buffer.from('A\xffB\n', 'latin1'), Buffer.from('visible\rhidden\n')]) {
        const f = sealed(pt, armor);
        const r = session(['decrypt', '-i', idFile, f], [], { stdoutTty: true });
        expect(r.code, r.plain).toBe(2);
        expect(r.plain).toMatch(/aes-payload: refusing to write the plaintext to the terminal: .*use -o FILE or a pipe/);
        expect(r.screen).not.toContain('\u001b]0;');
        expect(r.screen).not.toContain('\u001b[2J');
        expect(r.screen).not.toContain('hidden');
        const p = run(['decrypt', '-i', idFile, f]);
        expect(p.code, p.stderr).toBe(0);
        expect(p.stdout.equals(pt)).toBe(true);
        expect(session(['decrypt', '-i', idFile, '-o', '-', f], [], { stdoutTty: true }).code).toBe(0);
      }
      const ok = session(['decrypt', '-i', idFile, sealed(Buffer.from('caf\u00e9\tok\r\nline 2\n'), armor)], [], { stdoutTty: true });
      expect(ok.code, ok.plain).toBe(0);
      expect(ok.plain).toContain('caf\u00e9');
    }
  });

  it('verify with no input on a terminal says how to end typed input', () => {
    const r = session(['verify'], [['Ctrl-D', '\\x04']], { env: { AES_PAYLOAD_KEY: randomBytes(32).toString('hex') } });
    expect(r.plain).toContain('reading from the terminal; end with Ctrl-D');
    expect(r.code).toBe(4);
  });
});

describe('edit on a terminal', () => {
  it('invalid JSON after editing offers to open the editor again; yes re-opens it, and the fix is saved', () => {
    const key = randomBytes(32).toString('hex');
    const doc = join(dir, 'edit-tty.enc.json');
    const enc = runPeer(process.execPath, [BIN, 'encrypt', '--fields', 'a'], '{"a":"secret","b":1}', { AES_PAYLOAD_KEY: key });
    writeFileSync(doc, enc.stdout);
    // First run of the editor breaks the JSON, the second writes a good document.
    const count = join(dir, 'edit-count');
    const ed = join(dir, 'editor-tty.sh');
    writeFileSync(ed, `#!/bin/sh\nif [ -e ${count} ]; then echo '{"a":"changed","b":2}' > "$1"; else touch ${count}; echo '{"a":' > "$1"; fi\n`, { mode: 0o700 });
    const s = session(['edit', doc], [['Open the editor again?', 'y\\r']], { env: { AES_PAYLOAD_KEY: key, EDITOR: ed } });
    expect(s.code, s.plain).toBe(0);
    expect(s.plain).toMatch(/not valid JSON/);
    expect(s.plain).toMatch(/updated/);
    expect(runPeer(process.execPath, [BIN, 'decrypt', doc], '', { AES_PAYLOAD_KEY: key }).out).toBe('{"a":"changed","b":2}\n');
  });
});
