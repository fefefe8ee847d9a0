// age files through the CLI: keygen --age (key file rules), encrypt/decrypt/verify wiring,
// exit codes and one-line messages for hostile or wrong input, output files, and the
// passphrase prompt on a real pty. Interop with the real age is in test/formats/age/interop.test.ts.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { b64encode } from '../../../src/formats/age/b64.js';
import { serializeHeader, type Stanza } from '../../../src/formats/age/index.js';
import { BIN, PYTHON, ROOT, oneLineError, run, runPeer, tempDir, ageKeyAt } from '../../helpers.js';

const dir = tempDir();
let n = 0;
const tmp = (name: string) => join(dir, `${n++}-${name}`);

const key = (): { file: string; recipient: string } => ageKeyAt(tmp('key.txt'));

describe('keygen --age', () => {
  it('writes an age-keygen style file, mode 0600, the recipient in a comment and on stderr', () => {
    const file = tmp('id.txt');
    const r = run(['keygen', '--age', '-o', file]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n# public key: age1[02-9ac-hj-np-z]{58}\nAGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}\n$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const pub = /# public key: (\S+)/.exec(text)![1]!;
    expect(r.stderr).toContain(`Public key: ${pub}`);
    expect(r.stdout.length).toBe(0);
    // age-keygen -y (the real age) derives the same recipient from our identity.
    const y = runPeer('/usr/bin/age-keygen', ['-y', file]);
    expect(y.out.trim()).toBe(pub);
  });

  it('never writes over an existing file without --force (exit 5); --force replaces it', () => {
    const file = tmp('id.txt');
    writeFileSync(file, 'precious\n');
    const r = run(['keygen', '--age', '-o', file]);
    expect(r.code).toBe(5);
    expect(oneLineError(r.stderr)).toMatch(/already exists; use --force/);
    expect(readFileSync(file, 'utf8')).toBe('precious\n');
    const f = run(['keygen', '--age', '-o', file, '--force']);
    expect(f.code, f.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('AGE-SECRET-KEY-1');
  });

  it('without -o: the identity file on stdout, the recipient on stderr', () => {
    const r = run(['keygen', '--age']);
    expect(r.code, r.stderr).toBe(0);
    const pub = /# public key: (\S+)/.exec(r.out)![1]!;
    expect(r.stderr.trim()).toBe(`Public key: ${pub}`);
  });

  it('symmetric-key flags are refused with --age, --pq without --age (usage, exit 2)', () => {
    expect(run(['keygen', '--age', '--json']).code).toBe(2);
    expect(oneLineError(run(['keygen', '--age', '--alg', 'A128GCM']).stderr)).toMatch(/takes -o FILE, --force and --pq only, not --alg/);
    expect(oneLineError(run(['keygen', '--pq']).stderr)).toMatch(/--pq needs --age/);
  });
});

describe('encrypt --format age / decrypt', () => {
  it('round trip through files; decrypt -o writes mode 0600; verify checks it; --no-key reads the header only', () => {
    const k = key();
    const plain = tmp('plain.bin');
    writeFileSync(plain, randomBytes(300_000));
    const enc = tmp('x.age');
    expect(run(['encrypt', '--format', 'age', '-r', k.recipient, plain, '-o', enc]).code).toBe(0);
    const out = tmp('x.out');
    const d = run(['decrypt', '-i', k.file, enc, '-o', out]);
    expect(d.code, d.stderr).toBe(0);
    expect(readFileSync(out).equals(readFileSync(plain))).toBe(true);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const v = run(['verify', '-i', k.file, enc]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toMatch(/^OK .*x\.age X25519 -\n$/);
    const nk = run(['verify', '--no-key', enc]);
    expect(nk.code, nk.stderr).toBe(0);
    expect(nk.stderr).toContain('(structure only)');
  });

  it('--armor writes text; white space before the armor is allowed (as age allows it)', () => {
    const k = key();
    const a = run(['encrypt', '--format', 'age', '--armor', '-r', k.recipient], { input: 'text' });
    expect(a.code).toBe(0);
    expect(a.out.startsWith('-----BEGIN AGE ENCRYPTED FILE-----\n')).toBe(true);
    // Leading white space before the armor is allowed (age does too); the file is found by its structure.
    const d = run(['decrypt', '-i', k.file], { input: `\n  \n${a.out}` });
    expect(d.code, d.stderr).toBe(0);
    expect(d.out).toBe('text');
  });

  it('a bad recipient or identity file: key error (exit 3) that does not echo the secret', () => {
    const r = run(['encrypt', '--format', 'age', '-r', 'age1notarecipient'], { input: 'x' });
    expect(r.code).toBe(3);
    expect(oneLineError(r.stderr)).toMatch(/not an age recipient/);
    const bad = tmp('bad-id.txt');
    writeFileSync(bad, '# comment\nAGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n');
    const k = key();
    const f = run(['encrypt', '--format', 'age', '-r', k.recipient], { input: 'x' }).stdout;
    const d = run(['decrypt', '-i', bad], { input: f });
    expect(d.code).toBe(3);
    expect(oneLineError(d.stderr)).toMatch(/identity file .*line 2: not an age identity: invalid checksum/);
    expect(d.stderr).not.toContain('QQQQQQQQ');
  });

  it('-i on input that is not an age file: exit 4', () => {
    const r = run(['decrypt', '-i', key().file], { input: '{"v":2}' });
    expect(r.code).toBe(4);
    expect(oneLineError(r.stderr)).toMatch(/input is not an age file/);
  });

  it('age flags that do not apply are refused (usage, exit 2)', () => {
    const k = key();
    expect(run(['encrypt', '--format', 'age', '-r', k.recipient, '--aad', 'x'], { input: 'x' }).code).toBe(2);
    expect(run(['encrypt', '--format', 'age'], { input: 'x' }).code).toBe(2);
    const f = run(['encrypt', '--format', 'age', '-r', k.recipient], { input: 'x' }).stdout;
    expect(run(['decrypt', '-i', k.file, '--aad', 'x'], { input: f }).code).toBe(2);
  });

  it('a truncated file on stdout: exit 1, the message says how much plaintext already went out; to -o, no file is left', () => {
    const k = key();
    const f = run(['encrypt', '--format', 'age', '-r', k.recipient], { input: randomBytes(200_000) }).stdout;
    const cut = f.subarray(0, f.length - 1000);
    const d = run(['decrypt', '-i', k.file], { input: cut });
    expect(d.code).toBe(1);
    expect(d.stdout.length).toBe(3 * 65536);
    expect(oneLineError(d.stderr)).toBe(`aes-payload: authentication failed: wrong key or tampered data; ${3 * 65536} bytes of plaintext were already written to stdout and are incomplete: discard them`);
    const out = tmp('cut.out');
    const o = run(['decrypt', '-i', k.file, '-o', out], { input: cut });
    expect(o.code).toBe(1);
    expect(existsSync(out)).toBe(false);
  });
});

describe('hostile age headers are refused before any work (exit 4)', () => {
  const file = (stanzas: Stanza[], extra = Buffer.alloc(0)) => Buffer.concat([serializeHeader(stanzas, randomBytes(16)), randomBytes(16), extra]);
  const scrypt = (logN: string): Stanza => ({ type: 'scrypt', args: [b64encode(randomBytes(16)), logN], body: randomBytes(32) });

  it('an scrypt work factor above our cap (2^19 .. 2^64): refused before scrypt runs', () => {
    for (const w of ['19', '22', '40', '64']) {
      const r = run(['decrypt', '--passphrase-env', 'PP'], { input: file([scrypt(w)]), env: { PP: 'pass phrase' } });
      expect(r.code, r.stderr).toBe(4);
      expect(oneLineError(r.stderr)).toMatch(/age header: the scrypt work factor 2\^\d+ is above our limit of 2\^18|not a decimal/);
    }
  });

  it('an scrypt stanza with another stanza', () => {
    const x: Stanza = { type: 'X25519', args: [b64encode(randomBytes(32))], body: randomBytes(32) };
    const r = run(['decrypt', '--passphrase-env', 'PP'], { input: file([scrypt('10'), x]), env: { PP: 'pass phrase' } });
    expect(r.code).toBe(4);
    expect(oneLineError(r.stderr)).toBe('aes-payload: age header: an scrypt stanza must be the only stanza in the header');
  });

  it('review 22.3: verify --no-key applies the stanza rules that need no key (exit 4, as decrypt); decrypt -i of a malformed scrypt file is a header error', () => {
    const lowOrder = Buffer.alloc(32); // u = 0, a point of low order
    const x = (share: Buffer, body = randomBytes(32)): Stanza => ({ type: 'X25519', args: [b64encode(share)], body });
    const cases: [string, Stanza[], RegExp][] = [
      ['scrypt work factor 30', [scrypt('30')], /the scrypt work factor 2\^30 is above our limit/],
      ['scrypt work factor "018"', [scrypt('018')], /the scrypt work factor is not a decimal number/],
      ['low-order X25519 share', [x(lowOrder)], /the X25519 share is a low-order point/],
      ['low-order X25519 share (u = 1)', [x(Buffer.concat([Buffer.from([1]), Buffer.alloc(31)]))], /the X25519 share is a low-order point/],
      ['scrypt mixed with X25519', [scrypt('10'), x(randomBytes(32))], /an scrypt stanza must be the only stanza/],
      ['33-byte X25519 body', [x(randomBytes(32), randomBytes(33))], /an X25519 stanza body must be 32 bytes/],
      ['17-byte file key (33-byte body)', [scrypt('10')].map((s) => ({ ...s, body: randomBytes(33) })), /an scrypt stanza body must be 32 bytes/],
    ];
    for (const [what, stanzas, says] of cases) {
      const f = tmp('malformed.age');
      writeFileSync(f, file(stanzas, randomBytes(40)));
      const v = run(['verify', '--no-key', f]);
      expect(v.code, `${what}: ${v.stderr}`).toBe(4);
      expect(oneLineError(v.stderr)).toMatch(says);
    }
    // A well-formed header still passes the structure check.
    const ok = tmp('wellformed.age');
    writeFileSync(ok, file([x(randomBytes(32))], randomBytes(40)));
    expect(run(['verify', '--no-key', ok]).code).toBe(0);
    // An X25519 identity given a file whose scrypt stanza is malformed: exit 4, not "no identity matched".
    const s018 = tmp('s018.age');
    writeFileSync(s018, file([scrypt('018')], randomBytes(40)));
    const d = run(['decrypt', '-i', key().file, s018]);
    expect(d.code, d.stderr).toBe(4);
    expect(oneLineError(d.stderr)).toMatch(/age header: the scrypt work factor is not a decimal number/);
  });

  it('a header over 1 MiB, and more than 1000 stanzas', () => {
    const big: Stanza = { type: 'grease', args: ['x'], body: randomBytes(1 << 20) };
    // From files: the CLI stops reading early, which a pipe writer would see as EPIPE.
    const bigFile = tmp('big-header.age');
    writeFileSync(bigFile, file([big]));
    const r1 = run(['decrypt', '-i', key().file, bigFile]);
    expect(r1.code).toBe(4);
    expect(oneLineError(r1.stderr)).toMatch(/age header: larger than 1048576 bytes/);
    const many = Array.from({ length: 1001 }, () => ({ type: 'grease', args: ['y'], body: Buffer.alloc(0) }));
    const manyFile = tmp('many.age');
    writeFileSync(manyFile, file(many));
    const r2 = run(['decrypt', '-i', key().file, manyFile]);
    expect(r2.code).toBe(4);
    expect(oneLineError(r2.stderr)).toMatch(/more than 1000 stanzas/);
  });

  it('an X25519 stanza body of 33 bytes (partitioning-oracle rule): header error, not "no match"', () => {
    const x: Stanza = { type: 'X25519', args: [b64encode(randomBytes(32))], body: randomBytes(33) };
    const r = run(['decrypt', '-i', key().file], { input: file([x]) });
    expect(r.code).toBe(4);
    expect(oneLineError(r.stderr)).toBe('aes-payload: age header: an X25519 stanza body must be 32 bytes');
  });

  it('an unsupported version and garbage armor', () => {
    const v = run(['decrypt', '-i', key().file], { input: 'age-encryption.org/v2\n' });
    expect(v.code).toBe(4);
    expect(oneLineError(v.stderr)).toMatch(/unsupported version/);
    const a = run(['decrypt', '-i', key().file], { input: '-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\ntrailing\n' });
    expect(a.code).toBe(4);
    expect(oneLineError(a.stderr)).toBe('aes-payload: age armor: data after the END line');
  });
});

describe('passphrase prompt on a real terminal', () => {
  it('decrypting a passphrase age file at a terminal asks for the passphrase (hidden), as age does', () => {
    const f = tmp('pp.age');
    const e = run(['encrypt', '--format', 'age', '--passphrase-env', 'PP', '-o', f], { input: 'asked at the terminal', env: { PP: 'a long pass phrase' } });
    expect(e.code, e.stderr).toBe(0);
    const out = tmp('pty-out');
    const r = runPeer(PYTHON, [join(ROOT, 'test/peers/pty_run.py'), '--stdout', out, '--wait', 'Passphrase', '--send', 'a long pass phrase\\r', '--', process.execPath, BIN, 'decrypt', f], '', { TERM: 'xterm-256color', NO_COLOR: '1' });
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toContain('a long pass phrase');
    expect(readFileSync(out, 'utf8')).toBe('asked at the terminal');
  });
});
