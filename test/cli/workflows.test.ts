// Workflows from sops and dotenvx: .env field encryption, decrypt --extract,
// exec with a real child (environment, exit status, signals), key commands,
// --version --verbose. Real processes and files throughout.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, baseEnv, run, tempDir } from '../helpers.js';

const KEY = randomBytes(32).toString('hex');
const K = { AES_PAYLOAD_KEY: KEY };
const dir = tempDir();
const ENV_TEXT = [
  '# database',
  'export DB_PASSWORD="hunter 2" # rotate monthly',
  'DB_HOST=db.local',
  "API_TOKEN='t0k3n'",
  'MULTI="line1\nline2"',
  '',
  'EMPTY=',
  'QUOTED_HASH="a # not a comment"',
  '',
].join('\n');

function file(name: string, text: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function encEnv(name = '.env', fields = '*_PASSWORD,API_TOKEN,MULTI,QUOTED_HASH'): string {
  const src = file(name, ENV_TEXT);
  const r = run(['encrypt', '--fields', fields, src], { env: K });
  expect(r.code, r.stderr).toBe(0);
  return r.out;
}

describe('.env field encryption', () => {
  it('encrypts the selected values in place, keeping comments, order, export and quoting; decrypt gives the file back byte for byte', () => {
    const enc = encEnv();
    const lines = enc.split('\n');
    expect(lines[0]).toBe('# database');
    expect(lines[1]).toMatch(/^export DB_PASSWORD="aesp:2:A256GCM:[^"]+" # rotate monthly$/);
    expect(lines[2]).toBe('DB_HOST=db.local');
    expect(lines[3]).toMatch(/^API_TOKEN='aesp:2:[^']+'$/);
    expect(lines.at(-2)).toMatch(/^aesp=aesp:2:doc:all:[0-9a-f]{16}:/);
    expect(enc).not.toContain('hunter');
    expect(enc).not.toContain('t0k3n');
    const d = run(['decrypt', '-'], { env: K, input: enc });
    expect(d.code, d.stderr).toBe(0);
    expect(d.out).toBe(ENV_TEXT);
  });

  it('the format comes from the file name or --input-type; .env globs match names', () => {
    const viaType = run(['encrypt', '--fields', 'DB_*', '--input-type', 'env', '-'], { env: K, input: ENV_TEXT });
    expect(viaType.code, viaType.stderr).toBe(0);
    expect(viaType.out).toMatch(/^DB_HOST=aesp:2:/m);
    expect(viaType.stderr).toMatch(/encrypted 2 values/);
    // Without either, stdin is JSON: a .env text is not.
    expect(run(['encrypt', '--fields', 'DB_*', '-'], { env: K, input: ENV_TEXT }).code).toBe(4);
    expect(run(['encrypt', '--fields', 'NOPE_*', file('x.env', ENV_TEXT)], { env: K }).code).toBe(4);
  });

  it('authenticated as a whole: a changed plaintext value, a swapped token, a removed header or a removed line fails (exit 1)', () => {
    const enc = encEnv();
    const tokenOf = (name: string) => new RegExp(`^(export )?${name}=["']?(aesp:2:[^"'\\s]+)`, 'm').exec(enc)![2]!;
    const mutants = [
      enc.replace('DB_HOST=db.local', 'DB_HOST=evil.example'),
      enc.replace(tokenOf('API_TOKEN'), tokenOf('MULTI')).replace(/MULTI="[^"]+"/, `MULTI="${tokenOf('API_TOKEN')}"`),
      enc.replace(/^aesp=.*\n/m, ''),
      enc.replace(/^DB_HOST=.*\n/m, ''),
      `${enc}NEW=added\n`,
    ];
    for (const m of mutants) {
      const r = run(['decrypt', '-'], { env: K, input: m });
      expect(r.code, r.stderr).toBe(1);
      expect(r.out).toBe('');
    }
    // Comments and blank lines are not authenticated (FORMAT.md §11) and may change.
    expect(run(['decrypt', '-'], { env: K, input: enc.replace('# database', '# db') }).code).toBe(0);
  });

  it('values other readers would read otherwise are refused (exit 4, naming the line); quoted, they come back byte for byte', () => {
    for (const [text, line] of [['A_PASSWORD=x y\n', 1], ['B=2\nC=a\\b\n', 2], ['D="a\\nb"\n', 1], ['E = 1\n', 1], ['F=1\r\n', 1]] as const) {
      const e = run(['encrypt', '--fields', 'A_*,C,D,E,F', '--allow-missing', '--input-type', 'env', '-'], { env: K, input: text });
      expect(e.code, text).toBe(4);
      expect(e.stderr).toMatch(new RegExp(`\\.env line ${line}: `));
    }
    const text = "A_PASSWORD='x y'\nB=2\nC='a\\b'\nD=\"C:\\Users\\me\"\n";
    const e = run(['encrypt', '--fields', 'A_*,C,D', '--input-type', 'env', '-'], { env: K, input: text });
    expect(e.code, e.stderr).toBe(0);
    expect(run(['decrypt', '-'], { env: K, input: e.out }).out).toBe(text);
  });

  it('a name set twice, or a line that is not NAME=VALUE, is refused (exit 4) without quoting the line', () => {
    const twice = run(['encrypt', '--fields', 'A', file('dup.env', 'A=1\nA=2\n')], { env: K });
    expect(twice.code).toBe(4);
    expect(twice.stderr).toMatch(/line 2: A is set twice/);
    const bad = run(['encrypt', '--fields', 'A', file('bad.env', 'A=1\nsecret value here\n')], { env: K });
    expect(bad.code).toBe(4);
    expect(bad.stderr).toMatch(/line 2/);
    expect(bad.stderr).not.toContain('secret value');
  });

  it('verify, verify --require and rotate work on .env documents', () => {
    const p = file('v.env.aesp', encEnv());
    expect(run(['verify', p], { env: K }).code).toBe(0);
    const req = run(['verify', '--require', 'DB_*', p], { env: K });
    expect(req.code).toBe(4);
    expect(req.stderr).toMatch(/plaintext at \["DB_HOST"\]/);
    const NEW = randomBytes(32).toString('hex');
    const rot = run(['rotate', p, '--to-key-env', 'NEW'], { env: { ...K, NEW } });
    expect(rot.code, rot.stderr).toBe(0);
    expect(run(['decrypt', p], { env: { AES_PAYLOAD_KEY: NEW } }).out).toBe(ENV_TEXT);
    expect(run(['decrypt', p], { env: K }).code).toBe(1);
  });
});

describe('decrypt --extract', () => {
  const doc = '{"db":{"password":"hunter 2","port":5432,"tls":true},"list":[1,2]}';
  const enc = run(['encrypt', '--fields', 'db.password', '-'], { env: K, input: doc }).out;

  it('prints a string as is, anything else as its JSON', () => {
    expect(run(['decrypt', '--extract', 'db.password', '-'], { env: K, input: enc }).out).toBe('hunter 2');
    expect(run(['decrypt', '--extract', 'db.port', '-'], { env: K, input: enc }).out).toBe('5432');
    expect(run(['decrypt', '--extract', 'db', '-'], { env: K, input: enc }).out).toBe('{"password":"hunter 2","port":5432,"tls":true}');
    expect(run(['decrypt', '--extract', 'list[1]', '-'], { env: K, input: enc }).out).toBe('2');
    // A whole-document envelope too.
    const env = run(['encrypt', '-'], { env: K, input: doc }).out;
    expect(run(['decrypt', '--extract', 'db.password', '-'], { env: K, input: env }).out).toBe('hunter 2');
  });

  it('a name in a .env document', () => {
    expect(run(['decrypt', '--extract', 'MULTI', '-'], { env: K, input: encEnv() }).out).toBe('line1\nline2');
  });

  it('nothing at PATH is exit 4, several values exit 2, and a tampered input prints nothing (exit 1)', () => {
    expect(run(['decrypt', '--extract', 'db.user', '-'], { env: K, input: enc }).code).toBe(4);
    expect(run(['decrypt', '--extract', 'db.*', '-'], { env: K, input: enc }).code).toBe(2);
    const t = run(['decrypt', '--extract', 'db.port', '-'], { env: K, input: enc.replace('5432', '5433') });
    expect(t.code).toBe(1);
    expect(t.out).toBe('');
  });
});

/** Start the CLI as a child with pipes, for signal tests. */
function start(args: string[], env: Record<string, string>) {
  const p = spawn(process.execPath, [BIN, ...args], { env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout!.on('data', (b) => (out += b));
  p.stderr!.on('data', (b) => (err += b));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => p.on('close', (code, signal) => r({ code, signal }))); // close: exited, and its output read to the end
  return { p, exited, out: () => out, err: () => err };
}

describe('exec', () => {
  const vars = file('vars.json.aesp', run(['encrypt', '-'], { env: K, input: '{"API_URL":"https://api.example","RETRIES":3,"DEBUG":false,"SPACED":"a b"}' }).out);
  const dotenv = file('app.env.aesp', encEnv('app.env'));

  it('puts the variables of every file into the command\'s environment, runs it without a shell, and passes on its exit status', () => {
    const r = run(['exec', '-f', vars, '-f', dotenv, '--', 'sh', '-c', 'printf "%s|" "$API_URL" "$RETRIES" "$DEBUG" "$SPACED" "$DB_PASSWORD" "$MULTI" "$1"; exit 7', 'sh', '$HOME;*'], { env: K });
    expect(r.code, r.stderr).toBe(7);
    expect(r.out).toBe('https://api.example|3|false|a b|hunter 2|line1\nline2|$HOME;*|');
  });

  it('removes the key variables from the command\'s environment, unless --keep-key-env', () => {
    const show = ['--', 'sh', '-c', 'echo "[${AES_PAYLOAD_KEY:-}][${MY_KEY:-}]"'];
    expect(run(['exec', '-f', vars, ...show], { env: K }).out).toBe('[][]\n');
    expect(run(['exec', '-f', vars, '--key-env', 'MY_KEY', ...show], { env: { MY_KEY: KEY } }).out).toBe('[][]\n');
    expect(run(['exec', '-f', vars, '--keep-key-env', ...show], { env: K }).out).toBe(`[${KEY}][]\n`);
  });

  it('a clash with the environment: the file wins with a warning; --no-override keeps the environment\'s value', () => {
    const show = ['--', 'sh', '-c', 'echo "$API_URL"'];
    const wins = run(['exec', '-f', vars, ...show], { env: { ...K, API_URL: 'mine' } });
    expect(wins.out).toBe('https://api.example\n');
    expect(wins.stderr).toMatch(/warning: .* sets API_URL, which the environment already has/);
    const keeps = run(['exec', '--no-override', '-f', vars, ...show], { env: { ...K, API_URL: 'mine' } });
    expect(keeps.out).toBe('mine\n');
    expect(keeps.stderr).toBe('');
  });

  it('forwards SIGTERM, SIGINT and SIGHUP to the command, and takes its exit status', async () => {
    for (const [sig, code] of [['SIGTERM', 43], ['SIGINT', 42], ['SIGHUP', 41]] as const) {
      const c = start(['exec', '-f', vars, '--', 'sh', '-c', `trap 'echo got ${sig}; exit ${code}' ${sig.slice(3)}; echo ready; while :; do sleep 0.05; done`], K);
      await new Promise<void>((r) => {
        const t = setInterval(() => c.out().includes('ready') && (clearInterval(t), r()), 20);
      });
      c.p.kill(sig);
      const e = await c.exited;
      expect(e.code, c.err()).toBe(code);
      expect(c.out()).toBe(`ready\ngot ${sig}\n`);
    }
  });

  it('a command killed by a signal: aes-payload dies of the same signal', async () => {
    const c = start(['exec', '-f', vars, '--', 'sh', '-c', 'kill -KILL $$'], K);
    expect((await c.exited).signal).toBe('SIGKILL');
  });

  it('-f - reads stdin; a missing file is exit 5', () => {
    const r = run(['exec', '-f', '-', '--', 'sh', '-c', 'echo "$API_URL"'], { env: K, input: readFileSync(vars) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toBe('https://api.example\n');
    const m = run(['exec', '-f', join(dir, 'no-such-file'), '--', 'true'], { env: K });
    expect(m.code).toBe(5);
    expect(m.stderr).toMatch(/^aes-payload: cannot read/);
  });

  it('not found is 127; a wrong key, a tampered or a plaintext file stops before the command runs', () => {
    expect(run(['exec', '-f', vars, '--', 'no-such-command-here'], { env: K }).code).toBe(127);
    const marker = join(dir, 'ran');
    const touch = ['--', 'sh', '-c', `echo ran > ${marker}`];
    expect(run(['exec', '-f', vars, ...touch], { env: { AES_PAYLOAD_KEY: randomBytes(32).toString('hex') } }).code).toBe(1);
    expect(run(['exec', '-f', file('t.aesp', readFileSync(vars, 'utf8').replace(/"data":"(.)/, (_m, c: string) => `"data":"${c === 'A' ? 'B' : 'A'}`)), ...touch], { env: K }).code).toBe(1);
    expect(run(['exec', '-f', file('plain.json', '{"A":"1"}'), ...touch], { env: K }).code).toBe(4);
    const nested = file('nested.aesp', run(['encrypt', '-'], { env: K, input: '{"A":{"B":1}}' }).out);
    expect(run(['exec', '-f', nested, ...touch], { env: K }).code).toBe(4);
    const badName = file('badname.aesp', run(['encrypt', '-'], { env: K, input: '{"A=B":"1"}' }).out);
    expect(run(['exec', '-f', badName, ...touch], { env: K }).code).toBe(4);
    expect(readdirSync(dir)).not.toContain('ran');
  });
});

describe('--key-cmd and AES_PAYLOAD_KEY_CMD', () => {
  const log = join(dir, 'kids.log');
  const cmd = file('key-cmd.sh', `#!/bin/sh\necho "kid=\${AES_PAYLOAD_KID:-none} args=$*" >> ${log}\necho ${KEY}\n`);
  chmodSync(cmd, 0o700);
  const enc = run(['encrypt', '-'], { env: K, input: 'hello' }).out;

  it('reads the key from the command\'s stdout, with AES_PAYLOAD_KID set to the kid the input names; argv split as sh does, with no expansion', () => {
    writeFileSync(log, '');
    const r = run(['decrypt', '--key-cmd', `${cmd} 'a b' "c\\"d" $HOME`, '-'], { input: enc });
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toBe('hello');
    const kid = JSON.parse(enc).kid as string;
    expect(readFileSync(log, 'utf8')).toBe(`kid=${kid} args=a b c"d $HOME\n`);
    const viaEnv = run(['decrypt', '-'], { input: enc, env: { AES_PAYLOAD_KEY_CMD: cmd } });
    expect(viaEnv.out).toBe('hello');
    expect(run(['encrypt', '-'], { input: 'x', env: { AES_PAYLOAD_KEY_CMD: cmd } }).code).toBe(0);
    expect(readFileSync(log, 'utf8').split('\n')).toContain('kid=none args=');
  });

  it('a failing command is exit 3 with its stderr shown and its stdout never; a timeout and a missing program too', () => {
    const leak = 'DO-NOT-SHOW-THIS-STDOUT';
    const f = run(['decrypt', '--key-cmd', `sh -c 'echo ${leak}; echo vault: permission denied >&2; exit 2'`, '-'], { input: enc });
    expect(f.code).toBe(3);
    expect(f.stderr).toMatch(/key command sh exited with status 2: vault: permission denied/);
    expect(f.stderr).not.toContain(leak);
    expect(f.out).toBe('');
    // A command that would never end by itself: only the timeout can stop it (else run()'s hang backstop fails the test).
    const slow = run(['decrypt', '--key-cmd', 'sleep 100000', '--key-cmd-timeout', '0.5', '-'], { input: enc });
    expect(slow.code).toBe(3);
    expect(slow.stderr).toMatch(/did not finish within 0.5 s/);
    expect(run(['decrypt', '--key-cmd', 'no-such-key-command', '-'], { input: enc }).code).toBe(3);
    expect(run(['decrypt', '--key-cmd', 'true', '-'], { input: enc }).stderr).toMatch(/printed nothing/);
    expect(run(['decrypt', '--key-cmd', 'x', '--key-env', 'Y', '-'], { input: enc }).code).toBe(2);
    // The output may be a JWK, as in a key file.
    const jwk = file('jwk.json', JSON.stringify({ kty: 'oct', k: Buffer.from(KEY, 'hex').toString('base64url') }));
    expect(run(['decrypt', '--key-cmd', `cat ${jwk}`, '-'], { input: enc }).out).toBe('hello');
  });
});

describe('--version', () => {
  it('prints the version; with --verbose also Node, platform and OpenSSL', () => {
    const v = run(['--version']);
    expect(v.out).toBe(`${JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')).version}\n`);
    const vv = run(['--version', '--verbose']).out.split('\n');
    expect(vv[0]).toBe(`aes-payload ${v.out.trim()}`);
    expect(vv[1]).toBe(`node ${process.version}`);
    expect(vv[2]).toBe(`platform ${process.platform}-${process.arch}`);
    expect(vv[3]).toMatch(/^openssl \d/);
  });
});

describe('edit', () => {
  /** An EDITOR script: records the temp file's path and modes, then runs `action` on it. */
  function editor(name: string, action: string): string {
    const log = join(dir, `${name}.log`);
    const p = file(`${name}.sh`, `#!/bin/sh\nf="$1"\nstat -c '%a' "$(dirname "$f")" "$f" > ${log}\necho "$f" >> ${log}\n${action}\n`);
    chmodSync(p, 0o700);
    return p;
  }
  const logOf = (name: string) => readFileSync(join(dir, `${name}.log`), 'utf8').trim().split('\n');
  const tmp = tempDir();
  const envFor = (ed: string) => ({ ...K, EDITOR: ed, TMPDIR: tmp });
  const doc = '{"db":{"password":"hunter2","user":"app"},"api":{"token":"t0k3n","url":"https://x"}}';

  it('runs the editor on a 0600 file in a 0700 dir, re-encrypts, keeps the tokens of unchanged values and the document id, and removes the temp dir', () => {
    const p = file('cfg.enc.json', run(['encrypt', '--fields', 'db.password,api.token', '-'], { env: K, input: doc }).out);
    const before = readFileSync(p, 'utf8');
    const r = run(['edit', p], { env: envFor(editor('ed1', 'sed -i s/hunter2/hunter3/ "$f"')) });
    expect(r.code, r.stderr).toBe(0);
    const [dmode, fmode, path] = logOf('ed1');
    expect([dmode, fmode]).toEqual(['700', '600']);
    expect(path!.endsWith('/cfg.enc.json')).toBe(true); // the name without .aesp/.enc, so editors know the type
    expect(readdirSync(tmp)).toEqual([]);
    const after = readFileSync(p, 'utf8');
    const tok = (t: string, at: string) => new RegExp(`"${at}":"(aesp:2:[^"]+)"`).exec(t)![1];
    expect(tok(after, 'token')).toBe(tok(before, 'token'));
    expect(tok(after, 'password')).not.toBe(tok(before, 'password'));
    const docId = (t: string) => /aesp:2:doc:all:[0-9a-f]{16}:([^:]+):/.exec(t)![1];
    expect(docId(after)).toBe(docId(before));
    expect(run(['decrypt', p], { env: K }).out).toBe(doc.replace('hunter2', 'hunter3'));
    expect(run(['verify', p], { env: K }).code).toBe(0);
  });

  it('an unchanged file is not rewritten; an editor that fails leaves it as it was', () => {
    const p = file('same.enc.json', run(['encrypt', '--fields', 'db.password', '-'], { env: K, input: doc }).out);
    const ino = statSync(p).ino;
    const r = run(['edit', p], { env: envFor(editor('ed2', 'true')) });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/unchanged/);
    expect(statSync(p).ino).toBe(ino);
    const before = readFileSync(p, 'utf8');
    const f = run(['edit', p], { env: envFor(editor('ed3', 'sed -i s/app/root/ "$f"; exit 3')) });
    expect(f.code).toBe(5);
    expect(f.stderr).toMatch(/exited with status 3/);
    expect(readFileSync(p, 'utf8')).toBe(before);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('invalid JSON after editing, off a terminal: exit 4, the file unchanged, nothing left behind', () => {
    const p = file('bad.enc.json', run(['encrypt', '--fields', 'db.password', '-'], { env: K, input: doc }).out);
    const before = readFileSync(p, 'utf8');
    const r = run(['edit', p], { env: envFor(editor('ed4', 'echo "{oops" > "$f"')) });
    expect(r.code).toBe(4);
    expect(readFileSync(p, 'utf8')).toBe(before);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('.env documents and whole-file envelopes; new values are warned about, --fields encrypts them', () => {
    const p = file('edit.env.aesp', encEnv('edit.env'));
    const r = run(['edit', p], { env: envFor(editor('ed5', 'sed -i s/db.local/db.prod/ "$f"; echo NEW_PASSWORD=s3cret >> "$f"')) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/left in the clear: \["NEW_PASSWORD"\]/);
    expect(readFileSync(p, 'utf8')).toMatch(/^DB_HOST=db.prod$/m);
    const again = run(['edit', '--fields', 'NEW_*', p], { env: envFor(editor('ed6', 'true')) });
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(p, 'utf8')).toMatch(/^NEW_PASSWORD=aesp:2:/m);
    expect(run(['decrypt', '--extract', 'NEW_PASSWORD', p], { env: K }).out).toBe('s3cret');
    const whole = file('whole.aesp', run(['encrypt', '-'], { env: K, input: 'line one\n' }).out);
    expect(run(['edit', whole], { env: envFor(editor('ed7', 'echo "line two" >> "$f"')) }).code).toBe(0);
    expect(run(['decrypt', whole], { env: K }).out).toBe('line one\nline two\n');
  });

  it('SIGTERM while the editor runs: the temp dir is removed, exit 143', async () => {
    const p = file('sig.enc.json', run(['encrypt', '--fields', 'db.password', '-'], { env: K, input: doc }).out);
    // The editor runs until its file is removed (by aes-payload's signal handler): no time in it.
    const c = start(['edit', p], envFor(editor('ed8', 'echo started; while [ -e "$f" ]; do sleep 0.05; done')));
    await new Promise<void>((r) => {
      const t = setInterval(() => c.out().includes('started') && (clearInterval(t), r()), 20);
    });
    expect(readdirSync(tmp).length).toBe(1);
    c.p.kill('SIGTERM');
    const e = await c.exited;
    expect(e.code).toBe(143);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe('YAML field encryption', () => {
  const YAML_TEXT = ['# application config', 'db:', '  host: db.local # the primary', '  password: "hunter 2"', '  port: 5432', 'api:', '  tokens: [abc, def]', '  url: https://api.example', ''].join('\n');
  const enc = () => {
    const r = run(['encrypt', '--fields', 'db.password,api.tokens[*]', file('app.yaml', YAML_TEXT)], { env: K });
    expect(r.code, r.stderr).toBe(0);
    return r.out;
  };

  it('encrypts in place keeping comments, order and quoting, and decrypts back to the same text', () => {
    const e = enc();
    expect(e).toMatch(/^# application config\ndb:\n {2}host: db.local # the primary\n {2}password: "aesp:2:A256GCM:[^"]+"\n {2}port: 5432\n/);
    expect(e).toMatch(/^aesp: aesp:2:doc:all:/m);
    expect(e).not.toContain('hunter');
    expect(e).not.toMatch(/\babc\b/);
    const d = run(['decrypt', '-'], { env: K, input: e });
    expect(d.code, d.stderr).toBe(0);
    expect(d.out).toBe(YAML_TEXT);
  });

  it('authenticated as a whole: changed values, swapped tokens or a removed header fail (exit 1)', () => {
    const e = enc();
    const toks = [...e.matchAll(/aesp:2:A256GCM:[^,\]"\s]+/g)].map((m) => m[0]);
    for (const m of [e.replace('5432', '5433'), e.replace(toks[1]!, '@@SWAP@@').replace(toks[2]!, toks[1]!).replace('@@SWAP@@', toks[2]!), e.replace(/^aesp: .*\n/m, '')]) {
      const r = run(['decrypt', '-'], { env: K, input: m });
      expect(r.code, r.stderr).toBe(1);
      expect(r.out).toBe('');
    }
  });

  it('verify, rotate, --extract, exec and edit work on YAML', () => {
    const p = file('cfg.enc.yaml', enc());
    expect(run(['verify', p], { env: K }).code).toBe(0);
    expect(run(['decrypt', '--extract', 'db.password', p], { env: K }).out).toBe('hunter 2');
    expect(run(['decrypt', '--extract', 'api.tokens', p], { env: K }).out).toBe('["abc","def"]');
    const NEW = randomBytes(32).toString('hex');
    expect(run(['rotate', p, '--to-key-env', 'NEW'], { env: { ...K, NEW } }).code).toBe(0);
    const K2 = { AES_PAYLOAD_KEY: NEW };
    expect(run(['decrypt', p], { env: K2 }).out).toBe(YAML_TEXT);
    const flat = file('flat.enc.yaml', run(['encrypt', '--fields', 'PASSWORD', file('flat.yaml', 'PASSWORD: s3cret # yes\nPORT: 8080\n')], { env: K2 }).out);
    expect(run(['exec', '-f', flat, '--', 'sh', '-c', 'echo "$PASSWORD:$PORT"'], { env: K2 }).out).toBe('s3cret:8080\n');
    const ed = file('yaml-ed.sh', '#!/bin/sh\nsed -i s/db.local/db.prod/ "$1"\n');
    chmodSync(ed, 0o700);
    const before = readFileSync(p, 'utf8');
    expect(run(['edit', p], { env: { ...K2, EDITOR: ed, TMPDIR: tempDir() } }).code).toBe(0);
    const after = readFileSync(p, 'utf8');
    expect(after).toContain('host: db.prod # the primary');
    expect(/password: "(aesp:[^"]+)"/.exec(after)![1]).toBe(/password: "(aesp:[^"]+)"/.exec(before)![1]);
  });

  it('anchors, aliases, custom tags and several documents are refused (exit 4)', () => {
    for (const y of ['a: &x 1\nb: *x\n', 'a: !secret 1\n', 'a: 1\n---\nb: 2\n', 'a: [1\n']) {
      const r = run(['encrypt', '--fields', 'a', '--input-type', 'yaml', '-'], { env: K, input: y });
      expect(r.code, `${y}: ${r.stderr}`).toBe(4);
    }
  });
});
