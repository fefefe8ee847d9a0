// The git drivers on documents encrypted to age recipients (src/git/recipients.ts,
// src/cli/gitRecipients.ts), driven by the real git: textconv shows plaintext with an identity from
// AES_PAYLOAD_IDENTITY or AES_PAYLOAD_IDENTITY_FILE and the file as it is without one (never a
// prompt, never a failed diff); merge merges values and recipient lists, re-keys when the data keys
// differ, and refuses cleanly (a conflict, the file left as ours) without an identity or with
// pending values; the filter encrypts new files to the rules' recipients with no key at all.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HANG_MS, baseEnv, oneLineError, run, tempDir, gitEnv } from '../helpers.js';

const root = tempDir();
let n = 0;

function key(): { file: string; recipient: string; text: string } {
  const file = join(root, `key${n++}.txt`);
  const r = run(['keygen', '--age', '-o', file]);
  expect(r.code, r.stderr).toBe(0);
  const text = readFileSync(file, 'utf8');
  return { file, recipient: /^# public key: (age1[a-z0-9]+)$/m.exec(text)![1]!, text };
}
const [A, B, C] = [key(), key(), key()];

type Env = Record<string, string | undefined>;
/** Alice's identity, as a developer exports it for git. */
const ALICE: Env = { AES_PAYLOAD_IDENTITY_FILE: A.file };

function git(cwd: string, args: string[], extra: Env = ALICE) {
  const r = spawnSync('git', args, { cwd, env: baseEnv(gitEnv(extra)), timeout: HANG_MS, maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout.toString('utf8'), err: r.stderr.toString('utf8') };
}
function ok(cwd: string, args: string[], extra?: Env): string {
  const r = git(cwd, args, extra);
  if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.code}\n${r.err}`);
  return r.out;
}
const aes = (cwd: string, args: string[], input = '', extra: Env = {}) => run(args, { cwd, input, env: gitEnv(extra) });
const read = (d: string, f: string) => readFileSync(join(d, f), 'utf8');
const plain = (d: string, f: string, k = A) => {
  const r = aes(d, ['decrypt', '-i', k.file, f]);
  expect(r.code, r.stderr).toBe(0);
  return r.out;
};
const setI = (d: string, f: string, name: string, value: string) => expect(aes(d, ['set', '-i', A.file, f, name], value).code).toBe(0);

const RULES = `rules:
  - path: .env
    fields: ["*_PASSWORD", API_TOKEN]
    recipients: [${A.recipient}, ${B.recipient}]
  - path: "secrets/*.yaml"
    fields-regex: "^(password|token)$"
    recipients: [${A.recipient}, ${B.recipient}]
`;
const ENV = 'DB_HOST=db1\nDB_PASSWORD=base-pw\nAPI_TOKEN=base-token\n';

/** A repository whose .env the rules encrypted to A and B (no key anywhere), drivers set up, committed. */
function repo(setup: string[] = []): string {
  const d = join(root, `r${n++}`);
  mkdirSync(d);
  ok(d, ['init', '-q', '-b', 'main']);
  writeFileSync(join(d, '.aes-payload.yaml'), RULES);
  writeFileSync(join(d, '.env'), ENV);
  const e = aes(d, ['encrypt', '.env', '-o', '.env.tmp']);
  expect(e.code, e.stderr).toBe(0);
  writeFileSync(join(d, '.env'), read(d, '.env.tmp'));
  spawnSync('rm', [join(d, '.env.tmp')]);
  const s = aes(d, ['git-setup', ...setup]);
  expect(s.code, s.stderr).toBe(0);
  ok(d, ['add', '-A']);
  ok(d, ['commit', '-qm', 'base']);
  return d;
}

describe('git-textconv on documents encrypted to recipients', () => {
  it('git diff, log -p and show decrypt with AES_PAYLOAD_IDENTITY(_FILE); without a matching identity: the file as it is, one warning, exit 0', () => {
    const d = repo();
    setI(d, '.env', 'DB_PASSWORD', 'rotated-pw');
    for (const env of [ALICE, { AES_PAYLOAD_IDENTITY: B.text }]) {
      const diff = git(d, ['diff'], env);
      expect(diff.code, diff.err).toBe(0);
      expect(diff.out).toContain('-DB_PASSWORD=base-pw\n+DB_PASSWORD=rotated-pw\n');
      expect(diff.out).not.toContain('aesp:2:');
      expect(diff.err).toBe('');
    }
    ok(d, ['commit', '-qam', 'rotate']);
    expect(ok(d, ['log', '-p', '-1'])).toContain('+DB_PASSWORD=rotated-pw\n');
    expect(ok(d, ['show', 'HEAD~1:.env'])).not.toContain('base-pw'); // show of a blob does not textconv
    expect(ok(d, ['show', '--textconv', 'HEAD~1:.env'])).toContain('DB_PASSWORD=base-pw\n');
    // No identity, or one that is not a recipient: the ciphertext, a warning, and git carries on.
    for (const env of [{}, { AES_PAYLOAD_IDENTITY: C.text }]) {
      const r = git(d, ['log', '-p', '-1'], env);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^\+DB_PASSWORD=aesp:2:A256GCM:/m);
      expect(r.out).not.toContain('rotated-pw');
      expect(r.err).toMatch(Object.keys(env).length ? /no identity given matches a recipient of this document.*showing the file as it is/ : /no identity was found: set AES_PAYLOAD_IDENTITY .*git drivers never prompt; showing the file as it is/);
    }
    const strict = aes(d, ['git-textconv', '--strict', '.env']);
    expect(strict.code).toBe(3);
    expect(oneLineError(strict.stderr)).toMatch(/no identity was found/);
  });

  it('git diff shows recipients added and values added with public keys only (marked pending)', () => {
    const d = repo();
    expect(aes(d, ['recipients', 'add', '.env', '-i', A.file, '-r', C.recipient]).code).toBe(0);
    const diff = ok(d, ['diff']);
    expect(diff).toContain(`+# aes-payload recipient: ${C.recipient}\n`);
    ok(d, ['commit', '-qam', 'carol']);
    const p = aes(d, ['set', '.env', 'NEW_TOKEN', '-r', A.recipient, '-r', B.recipient, '-r', C.recipient], 'from-ci');
    expect(p.code, p.stderr).toBe(0);
    const d2 = ok(d, ['diff']);
    expect(d2).toContain('+NEW_TOKEN=from-ci\n');
    expect(d2).toContain('+# aes-payload pending (written with public keys only, not under the document MAC): NEW_TOKEN\n');
  });
});

describe('git-merge on documents encrypted to recipients', () => {
  it('different values changed on two branches merge cleanly; untouched tokens stay; verify --strict passes', () => {
    const d = repo();
    const tokenOf = (t: string, name: string) => t.split('\n').find((l) => l.startsWith(`${name}=`));
    const base = read(d, '.env');
    ok(d, ['checkout', '-qb', 'feature']);
    setI(d, '.env', 'DB_PASSWORD', 'feature-pw');
    ok(d, ['commit', '-qam', 'feature']);
    ok(d, ['checkout', '-q', 'main']);
    setI(d, '.env', 'DB_HOST', 'db2');
    ok(d, ['commit', '-qam', 'main']);
    const m = git(d, ['merge', '-q', 'feature', '-m', 'merge']);
    expect(m.code, m.err).toBe(0);
    expect(plain(d, '.env', B)).toBe('DB_HOST=db2\nDB_PASSWORD=feature-pw\nAPI_TOKEN=base-token\n');
    expect(tokenOf(read(d, '.env'), 'API_TOKEN')).toBe(tokenOf(base, 'API_TOKEN'));
    expect(aes(d, ['verify', '--strict', '-i', B.file, '.env']).code).toBe(0);
  });

  it('a recipient added on one branch is in the merged document; one removed (re-keyed) on the other stays out, under a new data key', () => {
    const d = repo();
    ok(d, ['checkout', '-qb', 'add-carol']);
    expect(aes(d, ['recipients', 'add', '.env', '-i', A.file, '-r', C.recipient]).code).toBe(0);
    ok(d, ['commit', '-qam', 'carol']);
    ok(d, ['checkout', '-q', 'main']);
    setI(d, '.env', 'API_TOKEN', 'main-token');
    ok(d, ['commit', '-qam', 'token']);
    const m = git(d, ['merge', '-q', 'add-carol', '-m', 'merge']);
    expect(m.code, m.err).toBe(0);
    expect(aes(d, ['recipients', 'list', '.env']).out).toBe(`${A.recipient}\n${B.recipient}\n${C.recipient}\n`);
    expect(plain(d, '.env', C)).toBe('DB_HOST=db1\nDB_PASSWORD=base-pw\nAPI_TOKEN=main-token\n');
    // Bob is removed on one branch (a new data key); a value changes on the other.
    ok(d, ['checkout', '-qb', 'drop-bob']);
    expect(aes(d, ['recipients', 'remove', '.env', '-i', A.file, '-r', B.recipient]).code).toBe(0);
    ok(d, ['commit', '-qam', 'bob out']);
    ok(d, ['checkout', '-q', 'main']);
    setI(d, '.env', 'DB_PASSWORD', 'main-pw');
    ok(d, ['commit', '-qam', 'pw']);
    const m2 = git(d, ['merge', '-q', 'drop-bob', '-m', 'merge2']);
    expect(m2.code, m2.err).toBe(0);
    expect(m2.err).toMatch(/different data keys .* the merged document has a new data key/);
    expect(aes(d, ['recipients', 'list', '.env']).out).toBe(`${A.recipient}\n${C.recipient}\n`);
    expect(plain(d, '.env', C)).toBe('DB_HOST=db1\nDB_PASSWORD=main-pw\nAPI_TOKEN=main-token\n');
    const bob = aes(d, ['decrypt', '-i', B.file, '.env']);
    expect(bob.code).toBe(1);
    expect(bob.out).toBe('');
  });

  // Outside review (rules-file recipients and git), findings 1 and 2: a merge never adds recipients on its own.
  it('a branch that rewrote the document to more recipients with public keys only (a new data key) does not merge: exit 1, ours kept, the added recipient reads nothing', () => {
    const d = repo();
    const M = C; // mallory: only public keys are needed to write a new document
    ok(d, ['checkout', '-qb', 'evil']);
    writeFileSync(join(d, 'p.env'), 'DB_HOST=db1\nDB_PASSWORD=whatever\nAPI_TOKEN=base-token\n');
    const w = aes(d, ['encrypt', '--force', '--fields', 'DB_PASSWORD,API_TOKEN', '-r', A.recipient, '-r', B.recipient, '-r', M.recipient, 'p.env', '-o', '.env']);
    expect(w.code, w.stderr).toBe(0);
    spawnSync('rm', [join(d, 'p.env')]);
    ok(d, ['commit', '-qam', 'evil']);
    ok(d, ['checkout', '-q', 'main']);
    setI(d, '.env', 'NEW_TOKEN', 'brand-new-secret');
    ok(d, ['commit', '-qam', 'new token']);
    const ours = read(d, '.env');
    const m = git(d, ['merge', 'evil', '-m', 'm'], ALICE);
    expect(m.code).toBe(1);
    expect(m.err).toMatch(/theirs adds recipient age1[a-z0-9]{12}… under a new data key .* a merge never adds recipients on its own/);
    expect(read(d, '.env')).toBe(ours);
    expect(aes(d, ['recipients', 'list', '.env']).out).toBe(`${A.recipient}\n${B.recipient}\n`);
    const r = aes(d, ['decrypt', '-i', M.file, '.env']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
  });

  it('a recipient added on a branch while the other removed one does not merge: a removed party cannot come back through a merge', () => {
    const d = repo();
    ok(d, ['checkout', '-qb', 'carol']);
    expect(aes(d, ['recipients', 'add', '.env', '-i', A.file, '-r', C.recipient]).code).toBe(0); // same data key: an identity did it
    ok(d, ['commit', '-qam', 'carol in']);
    ok(d, ['checkout', '-q', 'main']);
    expect(aes(d, ['recipients', 'remove', '.env', '-i', A.file, '-r', B.recipient]).code).toBe(0);
    setI(d, '.env', 'NEW_PASSWORD', 'after-removal-secret');
    ok(d, ['commit', '-qam', 'bob out']);
    const ours = read(d, '.env');
    const m = git(d, ['merge', 'carol', '-m', 'm'], ALICE);
    expect(m.code).toBe(1);
    expect(m.err).toMatch(/theirs adds recipient age1[a-z0-9]{12}… while the other side changed the recipients too/);
    expect(read(d, '.env')).toBe(ours);
    expect(aes(d, ['decrypt', '-i', C.file, '.env']).code).toBe(1);
    expect(aes(d, ['decrypt', '-i', B.file, '.env']).code).toBe(1);
  });

  it('a conflict: markers inside the token, git reports it; no plaintext value in the working tree or .git', () => {
    const d = repo();
    ok(d, ['checkout', '-qb', 'x']);
    setI(d, '.env', 'API_TOKEN', 'theirs-secret-1');
    ok(d, ['commit', '-qam', 'x']);
    ok(d, ['checkout', '-q', 'main']);
    setI(d, '.env', 'API_TOKEN', 'ours-secret-2');
    ok(d, ['commit', '-qam', 'y']);
    const m = git(d, ['merge', 'x', '-m', 'm']);
    expect(m.code).toBe(1);
    expect(m.out + m.err).toMatch(/CONFLICT/);
    expect(m.err).toMatch(/conflicting values at \["API_TOKEN"\]; the file holds them encrypted with markers: resolve with aes-payload edit -i … \.env/);
    const text = read(d, '.env');
    expect(text).not.toMatch(/secret-[12]|<<<<<<</);
    const all = spawnSync('sh', ['-c', 'git cat-file --batch-all-objects --batch; find .git -type f -exec cat {} +'], { cwd: d, env: baseEnv(gitEnv()), maxBuffer: 256 << 20 }).stdout.toString('latin1');
    expect(all).not.toMatch(/ours-secret-2|theirs-secret-1/);
    expect(plain(d, '.env')).toContain(`API_TOKEN='<<<<<<< ours "ours-secret-2" ||||||| base "base-token" ======= theirs "theirs-secret-1" >>>>>>> (keep one value)'`);
    expect(aes(d, ['verify', '-i', A.file, '.env']).code).toBe(1);
  });

  it('no identity, or pending values on a side: a clean refusal (exit 1, a conflict), the file left as ours', () => {
    for (const why of ['no identity', 'pending'] as const) {
      const d = repo();
      ok(d, ['checkout', '-qb', 'x']);
      if (why === 'pending') expect(aes(d, ['set', '.env', 'API_TOKEN'], 'ci').code).toBe(0); // public keys only (the rules' recipients)
      else setI(d, '.env', 'API_TOKEN', 'x-token');
      ok(d, ['commit', '-qam', 'x']);
      ok(d, ['checkout', '-q', 'main']);
      setI(d, '.env', 'DB_HOST', 'db9');
      ok(d, ['commit', '-qam', 'y']);
      const ours = read(d, '.env');
      const m = git(d, ['merge', 'x', '-m', 'm'], why === 'no identity' ? {} : ALICE);
      expect(m.code).toBe(1);
      expect(m.err).toMatch(why === 'no identity' ? /the merge driver could not merge it \(this document is encrypted to age recipients and no identity was found.*left as ours for you to resolve \(aes-payload edit -i … \.env\)/ : /theirs has pending values \(API_TOKEN\) .* recipients seal first/);
      expect(read(d, '.env')).toBe(ours);
      expect(ok(d, ['status', '--short'])).toContain('UU .env');
    }
  });
});

describe('git-filter with the rules\' recipients', () => {
  it('a new file is encrypted to the rules\' recipients with no key or identity; checkout with an identity gives plaintext, without one ciphertext', () => {
    const d = repo(['--filter', 'secrets/*.yaml']);
    mkdirSync(join(d, 'secrets'));
    const yaml = 'db:\n  password: hunter2\n  host: h\napi:\n  token: t0k\n';
    writeFileSync(join(d, 'secrets/app.yaml'), yaml);
    ok(d, ['add', 'secrets/app.yaml'], {}); // nobody's key: public keys only
    // git may run clean again (a file changed within the index's second): from now on that needs an identity.
    ok(d, ['commit', '-qm', 'app']);
    const blob = ok(d, ['cat-file', 'blob', 'HEAD:secrets/app.yaml']);
    expect(blob).not.toMatch(/hunter2|t0k/);
    expect(blob).toMatch(/^aesp_recipients: aesp:2:rcpt:/m);
    expect(aes(d, ['decrypt', '-i', B.file, '-'], blob).out).toBe(yaml);
    expect(read(d, 'secrets/app.yaml')).toBe(yaml);
    expect(ok(d, ['status', '--short'])).toBe('');
    // A fresh checkout: with Alice's identity, plaintext; without, the ciphertext and a warning; status clean both ways.
    spawnSync('rm', [join(d, 'secrets/app.yaml')]);
    const w = git(d, ['checkout', '--', 'secrets/app.yaml'], {});
    expect(w.code, w.err).toBe(0);
    expect(w.err).toMatch(/encrypted to age recipients and no identity .*; checked out encrypted/);
    expect(read(d, 'secrets/app.yaml')).toBe(blob);
    expect(ok(d, ['status', '--short'], {})).toBe('');
    spawnSync('rm', [join(d, 'secrets/app.yaml')]);
    ok(d, ['checkout', '--', 'secrets/app.yaml']);
    expect(read(d, 'secrets/app.yaml')).toBe(yaml);
    expect(ok(d, ['status', '--short'])).toBe('');
    // A change: sealed under the same data key with an identity (other tokens kept); refused without one.
    writeFileSync(join(d, 'secrets/app.yaml'), yaml.replace('hunter2', 'pw2'));
    const no = git(d, ['add', 'secrets/app.yaml'], {});
    expect(no.code).not.toBe(0);
    expect(no.err).toMatch(/no identity was found: set AES_PAYLOAD_IDENTITY/);
    ok(d, ['add', 'secrets/app.yaml']);
    const next = ok(d, ['cat-file', 'blob', ':secrets/app.yaml']);
    const line = (t: string, k: string) => t.split('\n').find((l) => l.includes(k));
    expect(line(next, 'token:')).toBe(line(blob, 'token:'));
    expect(line(next, 'aesp_recipients')).toBe(line(blob, 'aesp_recipients'));
    expect(aes(d, ['decrypt', '-i', B.file, '-'], next).out).toBe(yaml.replace('hunter2', 'pw2'));
  });
});
