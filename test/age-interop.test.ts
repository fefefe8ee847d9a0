// age interop, both directions, with the real peers: Debian's age 1.1.1 (/usr/bin/age,
// age-keygen) for X25519, scrypt (its passphrase prompt driven on a pty) and armor, a
// 100 MiB file through pipes in bounded memory; the npm age-encryption package for the
// post-quantum type (mlkem768x25519), which aes-payload supports from Node 24.7.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Decrypter, Encrypter, generateHybridIdentity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { pqAvailable } from '../src/formats/age/index.js';
import { BIN, PYTHON, ROOT, baseEnv, oneLineError, run, runPeer, tempDir } from './helpers.js';

const AGE = '/usr/bin/age';
const AGE_KEYGEN = '/usr/bin/age-keygen';
const PTY = join(ROOT, 'test/peers/pty_echo_off.py');
const dir = tempDir();
let n = 0;
const tmp = (name: string) => join(dir, `${n++}-${name}`);
const recipientIn = (file: string) => /^# public key: (age1[a-z0-9]+)$/m.exec(readFileSync(file, 'utf8'))![1]!;

function ourKey(): { file: string; recipient: string } {
  const file = tmp('key.txt');
  const r = run(['keygen', '--age', '-o', file]);
  expect(r.code, r.stderr).toBe(0);
  return { file, recipient: recipientIn(file) };
}

function ageKey(): { file: string; recipient: string } {
  const file = tmp('age-key.txt');
  const r = runPeer(AGE_KEYGEN, ['-o', file]);
  expect(r.code, r.stderr).toBe(0);
  return { file, recipient: recipientIn(file) };
}

describe('Debian age 1.1.1: X25519', () => {
  it('age is the version the docs name', () => {
    expect(runPeer(AGE, ['--version']).out.trim()).toMatch(/^(v?1\.1\.1)/);
  });

  it('age encrypts to an aes-payload key; aes-payload decrypts (binary and armored, by structure)', () => {
    const k = ourKey();
    const plain = randomBytes(200_000);
    for (const armor of [false, true]) {
      const f = tmp('from-age.age');
      const e = runPeer(AGE, ['-r', k.recipient, ...(armor ? ['-a'] : []), '-o', f], plain);
      expect(e.code, e.stderr).toBe(0);
      const d = run(['decrypt', '-i', k.file, f]);
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout.equals(plain)).toBe(true);
      const v = run(['verify', '-i', k.file, f]);
      expect(v.code, v.stderr).toBe(0);
      expect(v.stderr).toContain('X25519');
    }
  });

  it('aes-payload encrypts to age-keygen keys (-r and -R, several recipients); age decrypts with each', () => {
    const a = ageKey();
    const b = ageKey();
    const list = tmp('recipients.txt');
    writeFileSync(list, `# the team\n${b.recipient}\n\n`);
    const plain = randomBytes(70_000);
    for (const armor of [false, true]) {
      const f = tmp('to-age.age');
      const e = run(['encrypt', '--format', 'age', '-r', a.recipient, '-R', list, ...(armor ? ['--armor'] : []), '-o', f], { input: plain });
      expect(e.code, e.stderr).toBe(0);
      if (armor) expect(readFileSync(f, 'utf8')).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n[A-Za-z0-9+/=\n]+-----END AGE ENCRYPTED FILE-----\n$/);
      for (const k of [a, b]) {
        const d = runPeer(AGE, ['-d', '-i', k.file, f]);
        expect(d.code, d.stderr).toBe(0);
        expect(d.stdout.equals(plain)).toBe(true);
      }
    }
  });

  it('empty and chunk-boundary plaintexts round-trip both ways', () => {
    const k = ourKey();
    for (const size of [0, 1, 65535, 65536, 65537, 131072]) {
      const plain = randomBytes(size);
      const ours = run(['encrypt', '--format', 'age', '-r', k.recipient], { input: plain });
      expect(ours.code, ours.stderr).toBe(0);
      const theirs = runPeer(AGE, ['-d', '-i', k.file], ours.stdout);
      expect(theirs.code, theirs.stderr).toBe(0);
      expect(theirs.stdout.equals(plain), `size ${size}`).toBe(true);
      const back = runPeer(AGE, ['-r', k.recipient], plain);
      const d = run(['decrypt', '-i', k.file], { input: back.stdout });
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout.equals(plain), `size ${size}`).toBe(true);
    }
  });

  it('--identity-env reads the identity from the environment', () => {
    const k = ageKey();
    const f = runPeer(AGE, ['-r', k.recipient], 'from env');
    const d = run(['decrypt', '--identity-env', 'AGE_ID'], { input: f.stdout, env: { AGE_ID: readFileSync(k.file, 'utf8') } });
    expect(d.code, d.stderr).toBe(0);
    expect(d.out).toBe('from env');
  });

  it('a file for someone else: "no identity matched", exit 1, nothing on stdout', () => {
    const f = runPeer(AGE, ['-r', ageKey().recipient], 'not yours');
    const d = run(['decrypt', '-i', ourKey().file], { input: f.stdout });
    expect(d.code).toBe(1);
    expect(d.stdout.length).toBe(0);
    expect(oneLineError(d.stderr)).toBe("aes-payload: no identity matched any of the file's recipients (stanza types: X25519)");
  });

  it('a tampered age file from age: authentication failure, exit 1, no plaintext on stdout', () => {
    const k = ourKey();
    const f = runPeer(AGE, ['-r', k.recipient], randomBytes(1000)).stdout;
    const bad = Buffer.from(f);
    bad[bad.length - 5]! ^= 1;
    const d = run(['decrypt', '-i', k.file], { input: bad });
    expect(d.code).toBe(1);
    expect(d.stdout.length).toBe(0);
    expect(oneLineError(d.stderr)).toBe('aes-payload: authentication failed: wrong key or tampered data');
  });
});

describe('Debian age 1.1.1: passphrases (scrypt stanza), age prompting on a pty', () => {
  const ageOnPty = (args: string[], steps: [string, string][]) => {
    const out = tmp('pty-out');
    const extra = steps.flatMap(([w, s]) => ['--wait', w, '--send', s]);
    const r = runPeer(PYTHON, [PTY, '--stdout', out, ...extra, '--', AGE, ...args], '', { TERM: 'dumb' });
    return { code: r.code, screen: r.out, stdout: readFileSync(out) };
  };

  it('age -p encrypts (work factor 2^18); aes-payload decrypts with the passphrase', () => {
    const plainFile = tmp('plain');
    writeFileSync(plainFile, 'passphrase-protected by age');
    const e = ageOnPty(['-p', plainFile], [['Enter passphrase', 'correct horse battery\\r'], ['Confirm passphrase', 'correct horse battery\\r']]);
    expect(e.code, e.screen).toBe(0);
    expect(e.stdout.toString('latin1')).toMatch(/^age-encryption\.org\/v1\n-> scrypt [A-Za-z0-9+/]{22} 18\n/);
    const f = tmp('pp.age');
    writeFileSync(f, e.stdout);
    const d = run(['decrypt', '--passphrase-env', 'PP', f], { env: { PP: 'correct horse battery' } });
    expect(d.code, d.stderr).toBe(0);
    expect(d.out).toBe('passphrase-protected by age');
    const wrong = run(['decrypt', '--passphrase-env', 'PP', f], { env: { PP: 'wrong horse' } });
    expect(wrong.code).toBe(1);
    expect(oneLineError(wrong.stderr)).toBe('aes-payload: no identity matched: the passphrase is wrong (or the file was changed)');
    const none = run(['decrypt', f]);
    expect(none.code).toBe(3);
    expect(oneLineError(none.stderr)).toMatch(/passphrase-encrypted: use --passphrase/);
  });

  it('aes-payload encrypts with a passphrase (armored too); age decrypts it at its prompt', () => {
    for (const armor of [false, true]) {
      const f = tmp('ours-pp.age');
      const e = run(['encrypt', '--format', 'age', '--passphrase-env', 'PP', ...(armor ? ['--armor'] : []), '-o', f], { input: 'sealed by aes-payload', env: { PP: 'tr0ub4dor&3' } });
      expect(e.code, e.stderr).toBe(0);
      const d = ageOnPty(['-d', f], [['Enter passphrase', 'tr0ub4dor&3\\r']]);
      expect(d.code, d.screen).toBe(0);
      expect(d.stdout.toString()).toBe('sealed by aes-payload');
    }
  });

  it('a passphrase is never mixed with recipients (usage, exit 2)', () => {
    const r = run(['encrypt', '--format', 'age', '--passphrase-env', 'PP', '-r', ourKey().recipient], { input: 'x', env: { PP: 'pass phrase' } });
    expect(r.code).toBe(2);
    expect(oneLineError(r.stderr)).toMatch(/recipients \(-r\/-R\) or to a passphrase, not both/);
  });
});

describe('100 MiB through pipes, in bounded memory, both directions', () => {
  it('aes-payload | age -d and age | aes-payload decrypt, each with peak RSS bounded', () => {
    const k = ourKey();
    const big = tmp('big.bin');
    // A 100 MiB file: 1 MiB of random bytes, 100 times with a counter (content differs per MiB).
    const seed = randomBytes(1 << 20);
    const hash = createHash('sha256');
    const parts: Buffer[] = [];
    for (let i = 0; i < 100; i++) {
      const m = Buffer.from(seed);
      m.writeUInt32BE(i, 0);
      hash.update(m);
      parts.push(m);
    }
    writeFileSync(big, Buffer.concat(parts));
    parts.length = 0;
    const want = hash.digest('hex');
    const node = process.execPath;
    const base = spawnSync('/usr/bin/time', ['-f', '%M', node, '-e', '0'], { encoding: 'utf8' });
    const kib = (f: string) => Number(readFileSync(f, 'utf8').trim().split('\n').at(-1));
    const rss1 = tmp('rss1');
    const rss2 = tmp('rss2');
    const sh = (script: string) => spawnSync('bash', ['-c', `set -euo pipefail; ${script}`], { env: baseEnv({ BIG: big, NODE: node, BIN, KEY: k.file, R: k.recipient, RSS1: rss1, RSS2: rss2 }), encoding: 'utf8', maxBuffer: 1 << 20 });
    const enc = sh('cat "$BIG" | /usr/bin/time -f %M -o "$RSS1" "$NODE" "$BIN" encrypt --format age -r "$R" | /usr/bin/age -d -i "$KEY" | sha256sum');
    expect(enc.status, enc.stderr).toBe(0);
    expect(enc.stdout.split(' ')[0]).toBe(want);
    const dec = sh('cat "$BIG" | /usr/bin/age -r "$R" | /usr/bin/time -f %M -o "$RSS2" "$NODE" "$BIN" decrypt -i "$KEY" | sha256sum');
    expect(dec.status, dec.stderr).toBe(0);
    expect(dec.stdout.split(' ')[0]).toBe(want);
    const baseKiB = Number(base.stderr.trim().split('\n').at(-1));
    // 100 MiB went through each; a constant-memory pipeline needs a few chunks above Node itself.
    expect((kib(rss1) - baseKiB) / 1024).toBeLessThan(64);
    expect((kib(rss2) - baseKiB) / 1024).toBeLessThan(64);
    expect(statSync(big).size).toBe(100 * 1024 * 1024);
  });
});

describe(`npm age-encryption: post-quantum mlkem768x25519 (${pqAvailable() ? `Node ${process.versions.node}: interop` : `Node ${process.versions.node}: refused, needs 24.7`})`, () => {
  it(pqAvailable() ? 'keygen --age --pq: age-encryption decrypts what we encrypt, we decrypt what it encrypts' : 'keygen --age --pq, a PQ recipient and a PQ identity are refused with the Node version they need', async () => {
    const theirs = await generateHybridIdentity();
    const theirRecipient = await identityToRecipient(theirs);
    expect(theirRecipient.startsWith('age1pq1')).toBe(true);
    const idFile = tmp('theirs-pq.txt');
    writeFileSync(idFile, `${theirs}\n`);
    const enc = new Encrypter();
    enc.addRecipient(theirRecipient);
    const fromThem = await enc.encrypt('post-quantum from age-encryption');
    const pqFile = tmp('pq.txt');
    const kg = run(['keygen', '--age', '--pq', '-o', pqFile]);
    const toThem = run(['encrypt', '--format', 'age', '-r', theirRecipient], { input: 'post-quantum from aes-payload' });
    const d = run(['decrypt', '-i', idFile], { input: Buffer.from(fromThem) });
    if (!pqAvailable()) {
      const need = `post-quantum age keys (mlkem768x25519) need Node 24.7 or later for ML-KEM; this is Node ${process.versions.node}`;
      expect(kg.code).toBe(2);
      expect(oneLineError(kg.stderr)).toContain(need);
      expect(toThem.code).toBe(3);
      expect(oneLineError(toThem.stderr)).toBe(`aes-payload: ${need}`);
      expect(d.code).toBe(3);
      expect(oneLineError(d.stderr)).toBe(`aes-payload: ${need}`);
      return;
    }
    expect(kg.code, kg.stderr).toBe(0);
    expect(d.code, d.stderr).toBe(0);
    expect(d.out).toBe('post-quantum from age-encryption');
    expect(toThem.code, toThem.stderr).toBe(0);
    expect(toThem.stdout.toString('latin1')).toMatch(/^age-encryption\.org\/v1\n-> mlkem768x25519 /);
    const dec = new Decrypter();
    dec.addIdentity(theirs);
    expect(await dec.decrypt(toThem.stdout, 'text')).toBe('post-quantum from aes-payload');
    // Our own PQ identity: age-encryption encrypts to its recipient (armored), we decrypt.
    expect(statSync(pqFile).mode & 0o777).toBe(0o600);
    const ourId = /^(AGE-SECRET-KEY-PQ-1[A-Z0-9]+)$/m.exec(readFileSync(pqFile, 'utf8'))![1]!;
    const ourRecipient = recipientIn(pqFile);
    expect(ourRecipient.startsWith('age1pq1')).toBe(true);
    expect(kg.stderr).toContain(`Public key: ${ourRecipient}`);
    expect(await identityToRecipient(ourId)).toBe(ourRecipient);
    const enc2 = new Encrypter();
    enc2.addRecipient(ourRecipient);
    const f2 = await enc2.encrypt(randomBytes(100_000));
    const d2 = run(['decrypt', '-i', pqFile], { input: Buffer.from(f2) });
    expect(d2.code, d2.stderr).toBe(0);
    const dec2 = new Decrypter();
    dec2.addIdentity(ourId);
    expect(Buffer.from(await dec2.decrypt(f2)).equals(d2.stdout)).toBe(true);
    // Mixing a PQ recipient with a classic one is refused (usage, exit 2).
    const mixed = run(['encrypt', '--format', 'age', '-r', ourRecipient, '-r', ourKey().recipient], { input: 'x' });
    expect(mixed.code).toBe(2);
    expect(oneLineError(mixed.stderr)).toMatch(/cannot be mixed with classic ones/);
  });
});
