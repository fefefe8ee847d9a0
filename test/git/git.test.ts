// Secrets in git (issue 23): the diff (textconv), merge and filter drivers,
// the rules file, `set`, driven by the real git in temporary repositories.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, HANG_MS, PYTHON, baseEnv, oneLineError, run, tempDir, gitEnv } from '../helpers.js';

const KEY = 'a1'.repeat(32);
const root = tempDir();
let n = 0;

function git(cwd: string, args: string[], extra: Record<string, string | undefined> = { AES_PAYLOAD_KEY: KEY }) {
  const r = spawnSync('git', args, { cwd, env: baseEnv(gitEnv(extra)), timeout: HANG_MS, maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout.toString('utf8'), err: r.stderr.toString('utf8'), raw: r.stdout };
}

function ok(cwd: string, args: string[], extra?: Record<string, string | undefined>): string {
  const r = git(cwd, args, extra);
  if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.code}\n${r.err}`);
  return r.out;
}

function aes(cwd: string, args: string[], input = '', extra: Record<string, string | undefined> = { AES_PAYLOAD_KEY: KEY }) {
  return run(args, { cwd, input, env: gitEnv(extra) });
}

/** A fresh repository with the rules file, the drivers set up, and three encrypted documents committed. */
function repo(rules: string, files: Record<string, string>, setup: string[] = []): string {
  const d = join(root, `r${n++}`);
  mkdirSync(d);
  ok(d, ['init', '-q', '-b', 'main']);
  writeFileSync(join(d, '.aes-payload.yaml'), rules);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(d, name, '..'), { recursive: true });
    writeFileSync(join(d, name), text);
  }
  const s = aes(d, ['git-setup', ...setup]);
  expect(s.code, s.stderr).toBe(0);
  return d;
}

const RULES = `# which values are secret
rules:
  - path: .env
    fields: ["*_PASSWORD", API_TOKEN]
  - path: "config/*.json"
    fields-regex: "^(password|secret)$"
  - path: "*.yaml"
    fields: [db.password, "**.token"]
`;
const FILES = {
  '.env': 'DB_HOST=db1\nDB_PASSWORD=base-env-pw\nAPI_TOKEN=base-env-token\n',
  'config/app.json': '{\n  "db": {"host": "h", "password": "base-json-pw"},\n  "port": 5432\n}\n',
  'app.yaml': 'db:\n  host: db1  # primary\n  password: base-yaml-pw   # rotate\nport: 5432\n',
};

function encryptAll(d: string): void {
  for (const f of Object.keys(FILES)) {
    const r = aes(d, ['encrypt', f, '-o', `${f}.tmp`]);
    expect(r.code, r.stderr).toBe(0);
    writeFileSync(join(d, f), readFileSync(join(d, `${f}.tmp`)));
    spawnSync('rm', [join(d, `${f}.tmp`)]);
  }
}

function set(d: string, file: string, path: string, value: string, flags: string[] = []): void {
  const r = aes(d, ['set', ...flags, file, path], value);
  expect(r.code, r.stderr).toBe(0);
}

function decrypted(d: string, file: string): string {
  const r = aes(d, ['decrypt', file]);
  expect(r.code, r.stderr).toBe(0);
  return r.out;
}

/** Every byte git stores: all objects (loose and packed, through cat-file) and every file under .git. */
function everythingInGit(d: string): string {
  const objects = git(d, ['cat-file', '--batch-all-objects', '--batch']).raw.toString('latin1');
  const files: string[] = [];
  const walk = (p: string): void => {
    for (const e of readdirSync(p)) {
      const q = join(p, e);
      const st = statSync(q);
      if (st.isDirectory()) walk(q);
      else files.push(readFileSync(q).toString('latin1'));
    }
  };
  walk(join(d, '.git'));
  return objects + files.join('\n');
}

describe('git-setup', () => {
  it('writes .gitattributes and the clone config, and a second run changes nothing', () => {
    const d = repo(RULES, FILES);
    const attrs = readFileSync(join(d, '.gitattributes'), 'utf8');
    expect(attrs).toBe('.env diff=aes-payload merge=aes-payload\nconfig/*.json diff=aes-payload merge=aes-payload\n*.yaml diff=aes-payload merge=aes-payload\n');
    expect(ok(d, ['config', '--local', '--get', 'diff.aes-payload.textconv'])).toBe(`${BIN} git-textconv\n`);
    expect(ok(d, ['config', '--local', '--get', 'merge.aes-payload.driver'])).toBe(`${BIN} git-merge %O %A %B %P\n`);
    expect(git(d, ['config', '--local', '--get', 'diff.aes-payload.cachetextconv']).code).toBe(1); // never cached: the cache would be plaintext in .git
    const again = aes(d, ['git-setup', '--json']);
    expect(again.code, again.stderr).toBe(0);
    const rep = JSON.parse(again.out);
    expect(rep.gitattributes.added).toEqual([]);
    expect(rep.config.every((c: { changed: boolean }) => !c.changed)).toBe(true);
    expect(readFileSync(join(d, '.gitattributes'), 'utf8')).toBe(attrs);
    const f = aes(d, ['git-setup', '--filter', 'secrets/*.env']);
    expect(f.code, f.stderr).toBe(0);
    expect(ok(d, ['config', '--local', '--get', 'filter.aes-payload.required'])).toBe('true\n');
  });
});

describe('merge driver, diff driver', () => {
  it('two branches editing different values of a .env, a JSON and a YAML document merge cleanly, verify, and keep untouched tokens', () => {
    const d = repo(RULES, FILES);
    encryptAll(d);
    ok(d, ['add', '-A']);
    ok(d, ['commit', '-qm', 'base']);
    const before = readFileSync(join(d, '.env'), 'utf8');
    ok(d, ['checkout', '-qb', 'feature']);
    set(d, '.env', 'DB_PASSWORD', 'feature-env-pw');
    set(d, 'config/app.json', 'db.password', 'feature-json-pw');
    set(d, 'app.yaml', 'db.token', 'feature-yaml-token'); // a new value, encrypted by the rules
    ok(d, ['commit', '-qam', 'feature']);
    ok(d, ['checkout', '-q', 'main']);
    set(d, '.env', 'API_TOKEN', 'main-env-token');
    set(d, 'config/app.json', 'db.host', 'main-host', ['--plain']);
    set(d, 'app.yaml', 'db.host', 'db2', ['--plain']);
    ok(d, ['commit', '-qam', 'main']);
    const m = git(d, ['merge', '-q', 'feature', '-m', 'merge']);
    expect(m.code, m.err).toBe(0);
    expect(ok(d, ['status', '--porcelain'])).toBe('');
    for (const f of Object.keys(FILES)) expect(aes(d, ['verify', f]).code).toBe(0);
    expect(decrypted(d, '.env')).toBe('DB_HOST=db1\nDB_PASSWORD=feature-env-pw\nAPI_TOKEN=main-env-token\n');
    expect(decrypted(d, 'config/app.json')).toBe('{\n  "db": {"host": "main-host", "password": "feature-json-pw"},\n  "port": 5432\n}\n');
    expect(decrypted(d, 'app.yaml')).toBe('db:\n  host: db2  # primary\n  password: base-yaml-pw   # rotate\n  token: feature-yaml-token\nport: 5432\n');
    // The YAML token of the value nobody touched is the one from the base, byte for byte.
    const yamlBase = ok(d, ['show', 'HEAD~2:app.yaml']);
    const pw = (t: string) => /password: (\S+)/.exec(t)![1];
    expect(pw(readFileSync(join(d, 'app.yaml'), 'utf8'))).toBe(pw(yamlBase));
    expect(/^DB_HOST=db1$/m.test(before)).toBe(true);
    // git diff and git log -p show plaintext values.
    const log = ok(d, ['log', '-p', '-3']);
    expect(log).toContain('+DB_PASSWORD=feature-env-pw');
    expect(log).toContain('-DB_PASSWORD=base-env-pw');
    expect(log).toContain('+  token: feature-yaml-token');
    set(d, '.env', 'DB_PASSWORD', 'worktree-pw');
    const diff = ok(d, ['diff']);
    expect(diff).toContain('-DB_PASSWORD=feature-env-pw\n+DB_PASSWORD=worktree-pw');
    expect(diff).not.toContain('aesp:2:');
  });

  it('the same value edited on both branches conflicts, with no plaintext in the working tree, the index or .git; edit shows the markers; verify fails until resolved', () => {
    const d = repo(RULES, FILES);
    encryptAll(d);
    ok(d, ['add', '-A']);
    ok(d, ['commit', '-qm', 'base']);
    ok(d, ['checkout', '-qb', 'other']);
    set(d, '.env', 'DB_PASSWORD', 'THEIRS-SECRET-77');
    set(d, 'app.yaml', 'db.password', 'THEIRS-YAML-88');
    ok(d, ['commit', '-qam', 'theirs']);
    ok(d, ['checkout', '-q', 'main']);
    set(d, '.env', 'DB_PASSWORD', 'OURS-SECRET-55');
    set(d, 'app.yaml', 'db.password', 'OURS-YAML-66');
    ok(d, ['commit', '-qam', 'ours']);
    const m = git(d, ['merge', 'other', '-m', 'merge']);
    expect(m.code).not.toBe(0);
    expect(m.out + m.err).toMatch(/CONFLICT \(content\): Merge conflict in \.env/);
    expect(m.err).toContain('.env: conflicting values at ["DB_PASSWORD"]');
    expect(m.err).toContain('app.yaml: conflicting values at ["db","password"]');
    const secrets = ['THEIRS-SECRET-77', 'OURS-SECRET-55', 'THEIRS-YAML-88', 'OURS-YAML-66', 'base-env-pw', 'base-yaml-pw', '<<<<<<<', '>>>>>>>'];
    const tree = ['.env', 'app.yaml', 'config/app.json'].map((f) => readFileSync(join(d, f), 'utf8')).join('\n');
    const stored = everythingInGit(d);
    for (const s of secrets) {
      expect(tree.includes(s), `working tree holds ${s}`).toBe(false);
      expect(stored.includes(s), `.git holds ${s}`).toBe(false);
    }
    // The index holds the three encrypted stages git had.
    expect(ok(d, ['ls-files', '-u', '.env']).trim().split('\n')).toHaveLength(3);
    const v = aes(d, ['verify', '.env']);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain('unresolved merge conflict at ["DB_PASSWORD"]');
    // edit: the markers in plaintext in its private temp file; the script resolves to one value.
    const seen = join(root, `seen${n++}`);
    const script = join(root, `resolve${n++}.sh`);
    writeFileSync(script, `#!/bin/sh\ncp "$1" ${seen}\nsed -i 's/^DB_PASSWORD=.*/DB_PASSWORD=resolved-pw/' "$1"\n`);
    chmodSync(script, 0o755);
    const e = aes(d, ['edit', '.env'], '', { AES_PAYLOAD_KEY: KEY, EDITOR: script });
    expect(e.code, e.stderr).toBe(0);
    expect(readFileSync(seen, 'utf8')).toMatch(/^DB_PASSWORD='<<<<<<< ours "OURS-SECRET-55" \|\|\|\|\|\|\| base "base-env-pw" ======= theirs "THEIRS-SECRET-77" >>>>>>> \(keep one value\)'$/m);
    expect(aes(d, ['verify', '.env']).code).toBe(0);
    expect(decrypted(d, '.env')).toBe('DB_HOST=db1\nDB_PASSWORD=resolved-pw\nAPI_TOKEN=base-env-token\n');
  });

  it('textconv with no key, no terminal and stdin from /dev/null: git log -p ends and shows the encrypted file; --strict fails at once with one line', async () => {
    const d = repo('rules:\n  - path: .env\n    fields: ["*_PASSWORD"]\n', { '.env': 'DB_PASSWORD=nokey-pw\n' });
    expect(aes(d, ['encrypt', '.env', '-o', '.env.enc']).code).toBe(0);
    writeFileSync(join(d, '.env'), readFileSync(join(d, '.env.enc')));
    spawnSync('rm', [join(d, '.env.enc')]);
    ok(d, ['add', '-A']);
    ok(d, ['commit', '-qm', 'one']);
    const detached = (cmd: string, args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
        const c = spawn(cmd, args, { cwd: d, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: baseEnv(gitEnv()) });
        let out = '';
        let err = '';
        c.stdout.on('data', (b) => (out += b));
        c.stderr.on('data', (b) => (err += b));
        const backstop = setTimeout(() => {
          process.kill(-c.pid!, 'SIGKILL');
          reject(new Error('hung'));
        }, HANG_MS);
        c.on('error', reject);
        c.on('close', (code) => {
          clearTimeout(backstop);
          resolve({ code, out, err });
        });
      });
    const log = await detached('git', ['log', '-p', '-1']);
    expect(log.code).toBe(0);
    expect(log.out).toMatch(/\+DB_PASSWORD=aesp:2:A256GCM:/);
    expect(log.err).toContain('aes-payload: warning: no key');
    const strict = await detached(process.execPath, [BIN, 'git-textconv', '--strict', '.env']);
    expect(strict.code).toBe(3);
    expect(strict.out).toBe('');
    expect(oneLineError(strict.err)).toMatch(/no key/);
    // With a key: plaintext, nothing on stderr.
    const withKey = aes(d, ['git-textconv', '.env']);
    expect(withKey.code).toBe(0);
    expect(withKey.out).toBe('DB_PASSWORD=nokey-pw\n');
    expect(withKey.stderr).toBe('');
  });
});

describe('git-merge, called as git calls it', () => {
  it('a base in the clear (both sides encrypted it since) and an empty base (both added the file) merge by values', () => {
    const d = join(root, `m${n++}`);
    mkdirSync(d);
    const enc = (name: string, text: string) => {
      writeFileSync(join(d, `${name}.plain`), text);
      const r = aes(d, ['encrypt', '--fields', 'DB_PASSWORD', '--input-type', 'env', `${name}.plain`]);
      expect(r.code, r.stderr).toBe(0);
      writeFileSync(join(d, name), r.out);
    };
    writeFileSync(join(d, 'base'), 'DB_HOST=a\nDB_PASSWORD=base-pw\n');
    enc('ours', 'DB_HOST=a\nDB_PASSWORD=base-pw\nOURS=1\n');
    enc('theirs', 'DB_HOST=b\nDB_PASSWORD=base-pw\n');
    const m = aes(d, ['git-merge', 'base', 'ours', 'theirs', '.env']);
    expect(m.code, m.stderr).toBe(0);
    expect(aes(d, ['verify', 'ours']).code).toBe(0);
    expect(aes(d, ['decrypt', 'ours']).out).toBe('DB_HOST=b\nDB_PASSWORD=base-pw\nOURS=1\n');
    writeFileSync(join(d, 'empty'), '');
    enc('ours2', 'DB_PASSWORD=same\nX=1\n');
    enc('theirs2', 'DB_PASSWORD=same\nY=2\n');
    const m2 = aes(d, ['git-merge', 'empty', 'ours2', 'theirs2', '.env']);
    expect(m2.code, m2.stderr).toBe(0);
    expect(aes(d, ['decrypt', 'ours2']).out).toBe('DB_PASSWORD=same\nX=1\nY=2\n');
    enc('theirs3', 'DB_PASSWORD=other\nX=1\n');
    const m3 = aes(d, ['git-merge', 'empty', 'ours2', 'theirs3', '.env']);
    expect(m3.code).toBe(1);
    expect(oneLineError(m3.stderr)).toContain('.env: conflicting values at ["DB_PASSWORD"]');
    expect(readFileSync(join(d, 'ours2'), 'utf8')).not.toMatch(/other|same|<<<</);
  });
});

describe('filter (plaintext in the working tree, ciphertext in the repository)', () => {
  it('round-trips; git status is clean after checkout; unchanged values keep their tokens; no key: checked out encrypted with a warning', () => {
    const d = repo('rules:\n  - path: "secrets/*.env"\n    fields: ["*"]\n', { 'secrets/app.env': 'A=filter-one\nB=filter-two\n' }, ['--filter', '--diff', 'secrets/*.env']);
    ok(d, ['add', '-A']);
    ok(d, ['commit', '-qm', 'one']);
    const blob = ok(d, ['cat-file', 'blob', 'HEAD:secrets/app.env']);
    expect(blob).toMatch(/^A=aesp:2:A256GCM:\S+\nB=aesp:2:A256GCM:\S+\naesp=aesp:2:doc:/);
    expect(everythingInGit(d).includes('filter-one')).toBe(false);
    spawnSync('rm', [join(d, 'secrets/app.env')]);
    ok(d, ['checkout', '--', 'secrets/app.env']);
    expect(readFileSync(join(d, 'secrets/app.env'), 'utf8')).toBe('A=filter-one\nB=filter-two\n');
    spawnSync('touch', [join(d, 'secrets/app.env')]);
    expect(ok(d, ['status', '--porcelain'])).toBe('');
    expect(ok(d, ['diff'])).toBe('');
    writeFileSync(join(d, 'secrets/app.env'), 'A=filter-one\nB=filter-changed\n');
    expect(ok(d, ['diff'])).toContain('-B=filter-two\n+B=filter-changed');
    ok(d, ['commit', '-qam', 'two']);
    const blob2 = ok(d, ['cat-file', 'blob', 'HEAD:secrets/app.env']);
    expect(blob2.split('\n')[0]).toBe(blob.split('\n')[0]); // A kept its token
    expect(blob2.split('\n')[1]).not.toBe(blob.split('\n')[1]);
    expect(everythingInGit(d).includes('filter-changed')).toBe(false);
    expect(ok(d, ['status', '--porcelain'])).toBe('');
    spawnSync('rm', [join(d, 'secrets/app.env')]);
    const noKey = git(d, ['checkout', '--', 'secrets/app.env'], {});
    expect(noKey.code).toBe(0);
    expect(noKey.err).toContain('checked out encrypted');
    expect(readFileSync(join(d, 'secrets/app.env'), 'utf8')).toBe(blob2);
    // A made-up header line does not carry plaintext past clean, with or without a key.
    writeFileSync(join(d, 'secrets/app.env'), `A=forged-plain\nB=x\n${blob2.split('\n')[2]}\n`);
    for (const env of [{ AES_PAYLOAD_KEY: KEY }, {}]) expect(git(d, ['add', 'secrets/app.env'], env).code).not.toBe(0);
    expect(everythingInGit(d).includes('forged-plain')).toBe(false);
    // A clean with no key must never store plaintext: git add fails (filter.required).
    writeFileSync(join(d, 'secrets/new.env'), 'C=never-stored\n');
    const add = git(d, ['add', 'secrets/new.env'], {});
    expect(add.code).not.toBe(0);
    expect(everythingInGit(d).includes('never-stored')).toBe(false);
  });
});

describe('rules file and set', () => {
  it('edit (EDITOR as a script) and set encrypt new values the rules match; others stay in the clear with a warning', () => {
    const d = repo(RULES, FILES);
    encryptAll(d);
    const script = join(root, `add${n++}.sh`);
    writeFileSync(script, `#!/bin/sh\nprintf 'NEW_PASSWORD=edit-added-pw\\nNEW_HOST=clear-host\\n' >> "$1"\n`);
    chmodSync(script, 0o755);
    const e = aes(d, ['edit', '.env'], '', { AES_PAYLOAD_KEY: KEY, EDITOR: script });
    expect(e.code, e.stderr).toBe(0);
    const text = readFileSync(join(d, '.env'), 'utf8');
    expect(text).toMatch(/^NEW_PASSWORD=aesp:2:A256GCM:/m);
    expect(text).toMatch(/^NEW_HOST=clear-host$/m);
    expect(text).not.toContain('edit-added-pw');
    expect(e.stderr).toContain('left in the clear: ["NEW_HOST"]');
    // A new value the rules' regex selects: --plain is refused, and without it the value is encrypted.
    const refused = aes(d, ['set', '--plain', 'config/app.json', 'secret'], 'set-json-secret');
    expect(refused.code).toBe(2);
    expect(oneLineError(refused.stderr)).toContain('the rules select it');
    set(d, 'config/app.json', 'secret', 'set-json-secret');
    expect(readFileSync(join(d, 'config/app.json'), 'utf8')).toMatch(/"secret": "aesp:2:A256GCM:/);
    expect(aes(d, ['set', '--plain', 'config/app.json', 'db.password'], 'x').code).toBe(2);
    // set: the value comes from stdin only, one trailing newline dropped; every other token kept.
    const old = readFileSync(join(d, 'app.yaml'), 'utf8');
    set(d, 'app.yaml', 'db.token', 'from-stdin\n');
    const now = readFileSync(join(d, 'app.yaml'), 'utf8');
    expect(now).not.toContain('from-stdin');
    expect(now.split('\n').slice(0, 3)).toEqual(old.split('\n').slice(0, 3));
    expect(aes(d, ['verify', 'app.yaml']).code).toBe(0);
    expect(decrypted(d, 'app.yaml')).toContain('  token: from-stdin\n');
    set(d, 'app.yaml', 'port', '6543', ['--value-json', '--plain']);
    expect(decrypted(d, 'app.yaml')).toContain('\nport: 6543\n');
  });

  it('the rules file is parsed strictly: unknown keys, key-cmd and what is not a recipient are refused with their line', () => {
    const d = repo(RULES, FILES);
    const cases: [string, RegExp][] = [
      ['rules:\n  - path: .env\n    feilds: [A]\n', /line 3: unknown key "feilds"/],
      ['rules:\n  - path: .env\n    fields: [A]\n    key: {key-cmd: "sh -c evil"}\n', /line 4: key-cmd is not taken/],
      ['rules:\n  - path: .env\n    fields: ["*_PASSWORD"]\n    recipients: [AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSQ7YHA9S]\n', /line 4: recipients are age public keys/],
      ['version: 2\nrules: []\n', /line 1: version is 1/],
      ['rulez: []\n', /line 1: unknown key "rulez"/],
    ];
    for (const [rules, want] of cases) {
      writeFileSync(join(d, '.aes-payload.yaml'), rules);
      const r = aes(d, ['set', '.env', 'DB_PASSWORD'], 'x');
      expect(r.code).not.toBe(0);
      expect(oneLineError(r.stderr)).toMatch(want);
    }
    // --config and AES_PAYLOAD_CONFIG name another file.
    const other = join(root, `other${n++}.yaml`);
    writeFileSync(other, 'rules:\n  - path: .env\n    fields: [DB_HOST]\n');
    const r = aes(d, ['encrypt', '--config', other, '.env']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toMatch(/^DB_HOST=aesp:2:/m);
    expect(r.out).toMatch(/^DB_PASSWORD=base-env-pw$/m);
    const viaEnv = aes(d, ['encrypt', '.env'], '', { AES_PAYLOAD_KEY: KEY, AES_PAYLOAD_CONFIG: other });
    expect(viaEnv.out).toMatch(/^DB_HOST=aesp:2:/m);
  });

  it('YAML byte for byte: the first encryption rewrites only the values it encrypts, and PyYAML reads the output as intended', () => {
    const d = join(root, `y${n++}`);
    mkdirSync(d);
    const text = '# app\ndb:\n  host: db1  # primary\n\n  password: "hunter2"    # rotate\n  port: 5432\nlist: [a,  b]   # flow\n';
    writeFileSync(join(d, 'c.yaml'), text);
    const r = aes(d, ['encrypt', '--fields', 'db.password', 'c.yaml']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.out.split('\n');
    const want = text.split('\n');
    expect(lines[0]).toBe(want[0]);
    expect(lines[2]).toBe('  host: db1  # primary');
    expect(lines[4]).toMatch(/^  password: "aesp:2:A256GCM:[^"]+"    # rotate$/);
    expect(lines[6]).toBe('list: [a,  b]   # flow');
    expect(lines[7]).toMatch(/^aesp: aesp:2:doc:all:/);
    writeFileSync(join(d, 'c.enc.yaml'), r.out);
    const py = spawnSync(PYTHON, ['-c', 'import sys, yaml, json; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', join(d, 'c.enc.yaml')], { encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const v = JSON.parse(py.stdout);
    expect(v.db.host).toBe('db1');
    expect(v.db.port).toBe(5432);
    expect(v.db.password).toMatch(/^aesp:2:A256GCM:/);
    expect(v.list).toEqual(['a', 'b']);
    expect(aes(d, ['decrypt', 'c.enc.yaml']).out).toBe(text);
  });
});

// The outside review of issue 23 (findings 1-8, 14): each case as the reviewer ran it.
const KEY2 = 'b2'.repeat(32);

function commitBase(d: string): void {
  ok(d, ['add', '-A']);
  ok(d, ['commit', '-qm', 'base']);
}

describe('review: git-setup patterns from the rules file', () => {
  it('braces are expanded for git and a rules file in a subdirectory is prefixed; with --filter the files reach git encrypted; a "[" glob is refused', () => {
    const d = repo('rules:\n  - path: "conf/{prod,stage}.env"\n    fields: ["*_PASSWORD"]\n', { 'conf/prod.env': 'A_PASSWORD=brace-plain-secret\n' }, ['--filter']);
    expect(readFileSync(join(d, '.gitattributes'), 'utf8')).toBe('conf/prod.env diff=aes-payload merge=aes-payload filter=aes-payload\nconf/stage.env diff=aes-payload merge=aes-payload filter=aes-payload\n');
    commitBase(d);
    expect(ok(d, ['show', 'HEAD:conf/prod.env'])).toMatch(/^A_PASSWORD=aesp:2:A256GCM:/);
    expect(everythingInGit(d).includes('brace-plain-secret')).toBe(false);

    mkdirSync(join(d, 'sub'));
    writeFileSync(join(d, 'sub/.aes-payload.yaml'), 'rules:\n  - path: "*.env"\n    fields: ["*"]\n  - path: "cfg/{a,b}.json"\n    fields: [pw]\n');
    const s = aes(d, ['git-setup', '--json', '--config', 'sub/.aes-payload.yaml']);
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.out).gitattributes.added).toEqual(['sub/**/*.env diff=aes-payload merge=aes-payload', 'sub/cfg/a.json diff=aes-payload merge=aes-payload', 'sub/cfg/b.json diff=aes-payload merge=aes-payload']);
    expect(ok(d, ['check-attr', 'diff', '--', 'sub/x/y.env', 'sub/cfg/b.json', 'other.env'])).toBe('sub/x/y.env: diff: aes-payload\nsub/cfg/b.json: diff: aes-payload\nother.env: diff: unspecified\n');

    writeFileSync(join(d, 'sub/.aes-payload.yaml'), 'rules:\n  - path: "[ab].env"\n    fields: ["*"]\n');
    const bad = aes(d, ['git-setup', '--config', 'sub/.aes-payload.yaml']);
    expect(bad.code).toBe(2);
    expect(oneLineError(bad.stderr)).toMatch(/git reads differently/);
  });

  it('--filter alone also sets the diff and merge drivers: a merge of two branches under the filter keeps the file and both changes', () => {
    const d = repo('rules:\n  - path: "secrets/*.env"\n    fields: ["*"]\n', { 'secrets/app.env': 'A=one\nB=two\n' }, ['--filter', 'secrets/*.env']);
    expect(readFileSync(join(d, '.gitattributes'), 'utf8')).toBe('secrets/*.env diff=aes-payload merge=aes-payload filter=aes-payload\n');
    expect(ok(d, ['config', '--local', '--get', 'merge.aes-payload.driver'])).toBe(`${BIN} git-merge %O %A %B %P\n`);
    expect(ok(d, ['config', '--local', '--get', 'diff.aes-payload.textconv'])).toBe(`${BIN} git-textconv\n`);
    commitBase(d);
    ok(d, ['checkout', '-qb', 'other']);
    writeFileSync(join(d, 'secrets/app.env'), 'A=theirs-a\nB=two\n');
    ok(d, ['commit', '-qam', 'theirs']);
    ok(d, ['checkout', '-q', 'main']);
    writeFileSync(join(d, 'secrets/app.env'), 'A=one\nB=ours-b\n');
    ok(d, ['commit', '-qam', 'ours']);
    const m = git(d, ['merge', 'other', '-m', 'merge']);
    expect(m.code, m.err).toBe(0);
    expect(readFileSync(join(d, 'secrets/app.env'), 'utf8')).toBe('A=theirs-a\nB=ours-b\n');
    expect(ok(d, ['status', '--porcelain'])).toBe('');
    expect(everythingInGit(d).includes('theirs-a')).toBe(false);
  });
});

describe('review: keys named by a rules file', () => {
  it('a keyring entry (any file a rules file names) is never echoed in a message', () => {
    const d = repo('key: {keyring: pw.txt}\nrules:\n  - path: .env\n    fields: ["*_PASSWORD"]\n', { '.env': 'DB_PASSWORD=x\n' });
    writeFileSync(join(d, 'pw.txt'), 'password123\n', { mode: 0o600 });
    writeFileSync(join(d, 'ring.json'), JSON.stringify({ primary: 'hunter2-label', keys: { 'hunter2-label': 'not-a-key-hunter2' } }), { mode: 0o600 });
    const e = aes(d, ['encrypt', '.env', '-o', '.env.enc'], '', { AES_PAYLOAD_KEY: undefined, AES_PAYLOAD_CONFIG: join(d, 'none.yaml') });
    expect(e.code).toBe(2); // the named rules file does not exist
    const enc = run(['encrypt', '--fields', 'DB_PASSWORD', '--input-type', 'env', '-'], { input: 'DB_PASSWORD=x\n', env: { AES_PAYLOAD_KEY: KEY } });
    writeFileSync(join(d, 'x.env'), enc.stdout);
    const t = aes(d, ['git-textconv', 'x.env'], '', {});
    expect(t.code).toBe(0);
    expect(t.stderr).toContain('.aes-payload.yaml');
    expect(t.stderr).not.toContain('password123');
    const r = aes(d, ['decrypt', '--keyring', 'ring.json', 'x.env'], '', {});
    expect(r.code).toBe(3);
    expect(r.stderr).not.toContain('hunter2');
  });

  it('the environment key wins over a rules-file key for new secrets, with a warning when they differ; with no other key the rules key is used and its errors name the rules file', () => {
    const d = repo('key: {key-file: team.key}\nrules:\n  - path: "*.env"\n    fields: ["*_PASSWORD"]\n', { 'a.env': 'DB_PASSWORD=env-wins\n' });
    writeFileSync(join(d, 'team.key'), `${KEY2}\n`, { mode: 0o600 });
    const e = aes(d, ['encrypt', 'a.env', '-o', 'a.enc.env']);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stderr).toMatch(/\.aes-payload\.yaml names another key \(kid [0-9a-f]{16}\) than env AES_PAYLOAD_KEY .*; the environment's key is used/);
    expect(aes(d, ['decrypt', 'a.enc.env']).out).toBe('DB_PASSWORD=env-wins\n');
    expect(aes(d, ['decrypt', 'a.enc.env'], '', { AES_PAYLOAD_KEY: KEY2 }).code).not.toBe(0);
    const s = aes(d, ['set', 'a.enc.env', 'DB_PASSWORD'], 'set-env-wins');
    expect(s.code, s.stderr).toBe(0);
    expect(aes(d, ['decrypt', 'a.enc.env']).out).toBe('DB_PASSWORD=set-env-wins\n');
    // No other key: the rules file's.
    const r = aes(d, ['encrypt', 'a.env', '-o', 'b.enc.env'], '', {});
    expect(r.code, r.stderr).toBe(0);
    expect(aes(d, ['decrypt', 'b.enc.env'], '', { AES_PAYLOAD_KEY: KEY2 }).out).toBe('DB_PASSWORD=env-wins\n');
    spawnSync('rm', [join(d, 'team.key')]);
    const missing = aes(d, ['encrypt', 'a.env', '-o', 'c.enc.env'], '', {});
    expect(missing.code).not.toBe(0);
    expect(oneLineError(missing.stderr)).toMatch(/the key named in .*\.aes-payload\.yaml/);
  });
});

describe('review: textconv never stops git diff', () => {
  it('another key, bytes that are not UTF-8, a damaged token: the file as it is with a warning, exit 0; --strict fails', () => {
    const d = repo('rules:\n  - path: "*.env"\n    fields: ["*_PASSWORD"]\n', {});
    const enc = run(['encrypt', '--fields', 'DB_PASSWORD', '--input-type', 'env', '-'], { input: 'DB_PASSWORD=tc-secret\n', env: { AES_PAYLOAD_KEY: KEY } });
    writeFileSync(join(d, 'a.env'), enc.stdout);
    writeFileSync(join(d, 'b.env'), Buffer.from([0x41, 0x3d, 0xff, 0xfe, 0x0a]));
    writeFileSync(join(d, 'c.env'), enc.out.replace(/(DB_PASSWORD=aesp:2:A256GCM:\S{10})\S+/, '$1'));
    for (const [f, env] of [['a.env', { AES_PAYLOAD_KEY: KEY2 }], ['b.env', { AES_PAYLOAD_KEY: KEY }], ['c.env', { AES_PAYLOAD_KEY: KEY }]] as const) {
      const t = aes(d, ['git-textconv', f], '', env);
      expect(t.code, `${f}: ${t.stderr}`).toBe(0);
      expect(Buffer.compare(t.stdout, readFileSync(join(d, f))), f).toBe(0);
      expect(t.stderr, f).toMatch(/^aes-payload: warning: .*showing the file as it is\n$/);
      expect(aes(d, ['git-textconv', '--strict', f], '', env).code, f).not.toBe(0);
    }
    commitBase(d);
    const log = git(d, ['log', '-p', '-1'], { AES_PAYLOAD_KEY: KEY2 });
    expect(log.code, log.err).toBe(0);
    expect(log.out).toContain('+DB_PASSWORD=aesp:2:A256GCM:');
  });
});

describe('review: conflicts', () => {
  it('a .env conflict whose values hold \' and \\ is still written as a conflict value; verify fails on it; theirs is kept in it', () => {
    const d = repo(RULES, FILES);
    encryptAll(d);
    commitBase(d);
    ok(d, ['checkout', '-qb', 'other']);
    set(d, '.env', 'DB_PASSWORD', "it's-th\\x");
    ok(d, ['commit', '-qam', 'theirs']);
    ok(d, ['checkout', '-q', 'main']);
    set(d, '.env', 'DB_PASSWORD', "ours'pw");
    ok(d, ['commit', '-qam', 'ours']);
    const m = git(d, ['merge', 'other', '-m', 'merge']);
    expect(m.code).not.toBe(0);
    expect(m.err).toContain('.env: conflicting values at ["DB_PASSWORD"]');
    const v = aes(d, ['verify', '.env']);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain('unresolved merge conflict at ["DB_PASSWORD"]');
    const plain = decrypted(d, '.env');
    expect(plain).toContain(String.raw`DB_PASSWORD='<<<<<<< ours "ours\u0027pw" ||||||| base "base-env-pw" ======= theirs "it\u0027s-th\u005cx" >>>>>>> (keep one value)'`);
    // python-dotenv reads the conflict value as one value, nothing more.
    const py = spawnSync(PYTHON, ['-c', 'import sys,dotenv,io,json; print(json.dumps(dotenv.dotenv_values(stream=io.StringIO(sys.stdin.read()))))'], { input: plain });
    expect(Object.keys(JSON.parse(py.stdout.toString()))).toEqual(['DB_HOST', 'DB_PASSWORD', 'API_TOKEN']);
  });

  it('under the filter a conflict leaves markers in the plaintext working tree; the message says so, and git add refuses the file until resolved', () => {
    const d = repo('rules:\n  - path: "secrets/*.env"\n    fields: ["*"]\n', { 'secrets/app.env': 'A=one\n' }, ['--filter', 'secrets/*.env']);
    commitBase(d);
    ok(d, ['checkout', '-qb', 'other']);
    writeFileSync(join(d, 'secrets/app.env'), 'A=theirs-conflict\n');
    ok(d, ['commit', '-qam', 'theirs']);
    ok(d, ['checkout', '-q', 'main']);
    writeFileSync(join(d, 'secrets/app.env'), 'A=ours-conflict\n');
    ok(d, ['commit', '-qam', 'ours']);
    const m = git(d, ['merge', 'other', '-m', 'merge']);
    expect(m.code).not.toBe(0);
    expect(m.err).toContain('plaintext under filter=aes-payload');
    expect(readFileSync(join(d, 'secrets/app.env'), 'utf8')).toContain('<<<<<<< ours');
    const add = git(d, ['add', 'secrets/app.env']);
    expect(add.code).not.toBe(0);
    expect(add.err).toContain('unresolved merge conflict');
    writeFileSync(join(d, 'secrets/app.env'), 'A=resolved\n');
    ok(d, ['add', 'secrets/app.env']);
    ok(d, ['commit', '-qm', 'merged']);
    expect(everythingInGit(d).includes('<<<<<<<')).toBe(false);
  });
});

describe('review: set', () => {
  it('an empty stdin (no terminal) is refused unless --allow-empty', () => {
    const d = repo(RULES, FILES);
    encryptAll(d);
    const r = aes(d, ['set', '.env', 'DB_PASSWORD'], '');
    expect(r.code).toBe(2);
    expect(oneLineError(r.stderr)).toMatch(/empty.*--allow-empty/);
    expect(decrypted(d, '.env')).toContain('DB_PASSWORD=base-env-pw');
    set(d, '.env', 'DB_PASSWORD', '', ['--allow-empty']);
    expect(decrypted(d, '.env')).toContain('DB_PASSWORD=\n');
    const orphan = aes(d, ['set', 'config/app.json', 'db.none.password'], 'x');
    expect(orphan.code).toBe(2);
    expect(oneLineError(orphan.stderr)).toMatch(/its parent does not exist in the document; set the parent first/);
  });
});

describe('review: git-setup idempotence', () => {
  it('a wider run widens the line for the same pattern; a --no-checkout clone is told to check out first; cachetextconv is warned about', () => {
    const d = repo('rules:\n  - path: "secrets/*.env"\n    fields: ["*"]\n', {}, ['--diff', 'secrets/*.env']);
    writeFileSync(join(d, '.gitattributes'), `*.png binary\n${readFileSync(join(d, '.gitattributes'), 'utf8')}`);
    const s = aes(d, ['git-setup', '--filter', 'secrets/*.env']);
    expect(s.code, s.stderr).toBe(0);
    expect(readFileSync(join(d, '.gitattributes'), 'utf8')).toBe('*.png binary\nsecrets/*.env diff=aes-payload merge=aes-payload filter=aes-payload\n');
    const again = aes(d, ['git-setup', '--json', '--filter', '--diff', '--merge', 'secrets/*.env']);
    expect(JSON.parse(again.out).gitattributes.added).toEqual([]);
    ok(d, ['config', 'diff.aes-payload.cachetextconv', 'true']);
    const w = aes(d, ['git-setup']);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stderr).toMatch(/warning: diff\.aes-payload\.cachetextconv is set/);
    commitBase(d);
    const c = join(root, `clone${n++}`);
    ok(root, ['clone', '-q', '--no-checkout', d, c]);
    const nc = aes(c, ['git-setup', 'secrets/*.env']);
    expect(nc.code).toBe(2);
    expect(oneLineError(nc.stderr)).toMatch(/run git checkout first/);
  });
});
