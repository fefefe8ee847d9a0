// Outside review of recipients in field documents (issue 22, findings 22b): each finding's attack,
// run through the built CLI.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRecipient } from '../../src/formats/age/index.js';
import { oneLineError, run, tempDir, ageKeyAt } from '../helpers.js';

const dir = tempDir();
let n = 0;
const tmp = (name: string) => join(dir, `${n++}-${name}`);
const key = (): { file: string; recipient: string } => ageKeyAt(tmp('key.txt'));
const [A, B, C] = [key(), key(), key()];
const pubs = (ks: { recipient: string }[]) => ks.flatMap((k) => ['-r', k.recipient]);
function write(text: string, name: string): string {
  const f = tmp(name);
  writeFileSync(f, text);
  return f;
}
const BASE = { env: 'DB_PASSWORD=hunter2\nDB_HOST=db.local\n', json: '{\n  "DB_PASSWORD": "hunter2",\n  "DB_HOST": "db.local"\n}\n', yaml: 'DB_PASSWORD: hunter2\nDB_HOST: db.local\n' } as const;
type Kind = keyof typeof BASE;
const it_ = (kind: Kind) => (kind === 'json' ? [] : ['--input-type', kind]);
function sealed(kind: Kind, text: string = BASE[kind], to = [A, B]): string {
  const src = write(text, `base.${kind}`);
  const r = run(['encrypt', '--fields', 'DB_PASSWORD', ...pubs(to), ...it_(kind), src, '-o', `${src}.aesp`]);
  expect(r.code, r.stderr).toBe(0);
  return `${src}.aesp`;
}

describe('finding 1: a public-key writer never bricks the document', () => {
  for (const kind of ['env', 'json', 'yaml'] as const) {
    it(`${kind}: editing a value in place is refused (exit 2, nothing written, hint says append); appending replaces it on read and keeps the MAC`, () => {
      const f = sealed(kind);
      const text = readFileSync(f, 'utf8');
      // The reviewer's path: the new value written in the clear in place of the token.
      const inPlace = write(text.replace(/aesp:2:A256GCM:[A-Za-z0-9_:-]+/, 'newpw'), `inplace.${kind}`);
      const r = run(['encrypt', '--fields', 'DB_PASSWORD', ...pubs([A, B]), ...it_(kind), inPlace, '-o', `${inPlace}.out`]);
      expect(r.code).toBe(2);
      expect(oneLineError(r.stderr)).toMatch(/cannot change.*(append the line DB_PASSWORD|add "DB_PASSWORD": "value" as a new last member)/);
      expect(() => readFileSync(`${inPlace}.out`)).toThrow();
      // Also a plaintext value of the body (DB_HOST), which the MAC covers.
      const host = write(text.replace(/db\.local/, 'evil.example'), `host.${kind}`);
      expect(run(['encrypt', '--fields', 'DB_HOST', ...pubs([A, B]), ...it_(kind), host, '-o', `${host}.out`]).code).toBe(2);
      // What the hint says works: append after the recipients header.
      const add = {
        env: (t: string) => `${t}DB_PASSWORD=newpw\nDB_HOST=db2.local\n`,
        yaml: (t: string) => `${t}DB_PASSWORD: newpw\nDB_HOST: db2.local\n`,
        json: (t: string) => t.replace(/\n}\n$/, ',\n  "DB_PASSWORD": "newpw", "DB_HOST": "db2.local"\n}\n'),
      }[kind];
      const app = write(add(text), `app.${kind}`);
      const out = `${app}.out`;
      const s = run(['encrypt', '--fields', 'DB_PASSWORD,DB_HOST', ...pubs([A, B]), ...it_(kind), app, '-o', out]);
      expect(s.code, s.stderr).toBe(0);
      const after = readFileSync(out, 'utf8');
      expect(after).not.toContain('newpw');
      // The body (old values, tokens, MAC) is byte for byte the original's.
      const body = (t: string) => t.replace(/\n?.*aesp_pending.*\n?/, '\n');
      expect(body(after).replace(/\s+/g, '')).toBe(body(text).replace(/\s+/g, ''));
      const d = run(['decrypt', '-i', A.file, out]);
      expect(d.code, d.stderr).toBe(0);
      expect(d.out).toMatch(/newpw/);
      expect(d.out).toMatch(/db2\.local/);
      expect(d.out).not.toMatch(/hunter2/);
      expect(d.stderr).toMatch(/pending/);
      expect(d.stderr).toMatch(/replac/);
      const sealedNow = run(['recipients', 'seal', out, '-i', B.file]);
      expect(sealedNow.code, sealedNow.stderr).toBe(0);
      expect(run(['verify', '--strict', '-i', A.file, out]).code).toBe(0);
      const d2 = run(['decrypt', '-i', A.file, out]);
      expect(d2.out).toMatch(/newpw/);
      expect(d2.out).not.toMatch(/hunter2/);
    });
  }
});

describe('findings 2 and 3: exec and values nobody authenticated', () => {
  it('a whole document forged with the public keys: exec refuses code-loading names from it; --expect-kid pins the real one', () => {
    // The forger needs only the public keys: a new document, verify passes (nothing says who wrote it).
    const forged = sealed('env', 'DB_PASSWORD=attacker\nLD_PRELOAD=/tmp/x.so\nBROWSER=/tmp/x\nPYTHONWARNINGS=ignore::antigravity.x\n');
    expect(run(['verify', '--strict', '-i', B.file, forged]).code).toBe(0);
    const x = run(['exec', '-f', forged, '-i', A.file, '--', 'true']);
    expect(x.code).toBe(4);
    expect(oneLineError(x.stderr)).toMatch(/LD_PRELOAD, BROWSER, PYTHONWARNINGS can make the command load or run other code.*does not say who wrote it.*--expect-kid/);
    expect(run(['exec', '--allow-unauthenticated', '-f', forged, '-i', A.file, '--', 'true']).code).toBe(4);
    // The real document, pinned by the kid of its data key: passed on (the user's own PATH-like settings work).
    const real = sealed('env', 'DB_PASSWORD=hunter2\nPYTHONWARNINGS=ignore\n');
    const kid = /OK \S+ 1 field ([0-9a-f]{16})/.exec(run(['verify', '-i', A.file, real]).stderr)![1]!;
    const ok = run(['exec', '--expect-kid', kid, '-f', real, '-i', A.file, '--', 'sh', '-c', 'printf %s "$PYTHONWARNINGS"']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.out).toBe('ignore');
    // The forged one under the same pin: exit 1, nothing run.
    const bad = run(['exec', '--expect-kid', kid, '-f', forged, '-i', A.file, '--', 'sh', '-c', 'echo ran']);
    expect(bad.code).toBe(1);
    expect(bad.out).toBe('');
    expect(oneLineError(bad.stderr)).toMatch(/not one given with --expect-kid/);
    // A document without such names still runs unpinned.
    const plain = sealed('env', 'DB_PASSWORD=hunter2\nDB_HOST=h\n');
    expect(run(['exec', '-f', plain, '-i', A.file, '--', 'sh', '-c', 'test "$DB_HOST" = h']).code).toBe(0);
  });

  it('the denylist holds the names the review found passed on (each refused as a pending value, even with --allow-unauthenticated)', async () => {
    const { setPendingValue } = await import('../../src/ops/recipients.js');
    const names = ['OPENSSL_CONF', 'OPENSSL_ENGINES', 'OPENSSL_MODULES', 'GLIBC_TUNABLES', 'LUA_INIT', 'LUA_PATH', 'DOTNET_STARTUP_HOOKS', 'CORECLR_PROFILER_PATH', 'COR_PROFILER_PATH', 'NODE_REPL_EXTERNAL_MODULE', 'npm_config_script_shell', 'NPM_CONFIG_SCRIPT_SHELL', 'PYTHONBREAKPOINT', 'PERL5DB', 'ZDOTDIR', 'LESSOPEN', 'SSH_ASKPASS', 'VIMINIT', 'EXINIT', 'RUBYGEMS_GEMDEPS', 'BUNDLE_GEMFILE', 'CLASSPATH', 'PHPRC', 'PHP_INI_SCAN_DIR', 'MAKEFLAGS', 'RUSTC_WRAPPER', 'ELECTRON_RUN_AS_NODE', 'BROWSER', 'PYTHONWARNINGS', 'NODE_TLS_REJECT_UNAUTHORIZED', 'SSLKEYLOGFILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'http_proxy', 'HTTPS_PROXY'];
    const f = sealed('env');
    let text = readFileSync(f, 'utf8');
    for (const name of names) text = setPendingValue(text, name, '/tmp/x', [parseRecipient(A.recipient), parseRecipient(B.recipient)], undefined);
    const g = write(text, 'many.env');
    const x = run(['exec', '--allow-unauthenticated', '-f', g, '-i', A.file, '--', 'true']);
    expect(x.code).toBe(4);
    expect(oneLineError(x.stderr)).toMatch(/load or run other code/);
    // Each one alone, in the body of a document nobody pinned.
    const body = sealed('env', `DB_PASSWORD=x\n${names.map((nm) => `${nm}=/tmp/x`).join('\n')}\n`);
    const y = run(['exec', '-f', body, '-i', A.file, '--', 'true']);
    expect(y.code).toBe(4);
    for (const nm of names.slice(0, 5)) expect(y.stderr).toContain(nm);
    // Every name, through the predicate exec uses; and ordinary names are not caught.
    const { loadsCode } = await import('../../src/cli/exec.js');
    expect(names.filter((nm) => !loadsCode(nm))).toEqual([]);
    expect(['DB_PASSWORD', 'API_TOKEN', 'PORT', 'DATABASE_URL', 'PATHNAME', 'LDAP_URL'].filter(loadsCode)).toEqual([]);
  });
});

describe('findings 5 and 6: pending names follow the rules of the document\'s own names', () => {
  /** A real pending entry with its name field replaced (what a forger can write with public keys). */
  async function withPendingName(kind: Kind, name: string): Promise<string> {
    const { setPendingValue } = await import('../../src/ops/recipients.js');
    const f = sealed(kind);
    const yaml = kind === 'yaml' ? (await import('../../src/formats/fields/yamlfields.js')) : undefined;
    if (yaml) await yaml.loadYaml();
    const t = setPendingValue(readFileSync(f, 'utf8'), 'PLACEHOLDER', 'evil', [parseRecipient(A.recipient), parseRecipient(B.recipient)], yaml ? (x) => yaml.yamlToJson(x) : undefined);
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    return write(t.replace(b64('PLACEHOLDER'), b64(name)), `named.${kind}`);
  }
  const cases: [Kind, string][] = [
    ['env', 'aesp_recipients'], ['env', 'aesp'], ['env', 'API-TOKEN'], ['json', 'aesp_pending'], ['json', 'aesp'], ['yaml', 'aesp_recipients'],
    ...(['on', 'true', 'null', 'yes', 'no', 'TRUE', 'Null', 'off'].map((nm) => ['yaml', nm] as [Kind, string])),
  ];
  for (const [kind, name] of cases) {
    it(`${kind}: a pending value named ${name} is refused on reading (exit 4): decrypt, verify, exec, seal`, async () => {
      const g = await withPendingName(kind, name);
      for (const args of [['decrypt', '-i', A.file, g], ['verify', '-i', A.file, g], ['recipients', 'seal', g, '-i', A.file]]) {
        const r = run(args);
        expect(r.code, `${args[0]} ${r.stderr}`).toBe(4);
        expect(r.stdout.length).toBe(0);
        expect(oneLineError(r.stderr)).toMatch(/pending value is refused/);
      }
      if (kind === 'env') expect(run(['exec', '--allow-unauthenticated', '-f', g, '-i', A.file, '--', 'true']).code).toBe(4);
      // The file was not changed by the refused seal.
      expect(readFileSync(g, 'utf8')).toContain(Buffer.from(name).toString('base64url'));
    });
  }
  it('a writer with public keys cannot add those names either (exit 2); the YAML key "on" is refused, "ON_CALL" is fine', () => {
    const f = sealed('yaml');
    const text = readFileSync(f, 'utf8');
    const bad = write(`${text}'on': x\n`, 'on.yaml');
    const r = run(['encrypt', '--fields', 'on', ...pubs([A, B]), '--input-type', 'yaml', bad, '-o', `${bad}.out`]);
    expect(r.code).toBe(2);
    expect(oneLineError(r.stderr)).toMatch(/not read as a string key/);
    const good = write(`${text}ON_CALL: x\n`, 'oncall.yaml');
    expect(run(['encrypt', '--fields', 'ON_CALL', ...pubs([A, B]), '--input-type', 'yaml', good, '-o', `${good}.out`]).code).toBe(0);
    const j = sealed('json');
    const jt = readFileSync(j, 'utf8').replace(/\n}\n$/, ',\n  "aesp_pending": "x"\n}\n');
    const jr = run(['encrypt', '--fields', 'aesp_pending', ...pubs([A, B]), write(jt, 'ap.json')]);
    expect(jr.code).toBe(2);
  });
});

describe('finding 4: recipients remove re-keys by default', () => {
  const headerOf = (t: string) => /^aesp_recipients=.*$/m.exec(t)![0];
  it('remove draws a new data key (every token changes); an old header spliced back opens for nobody, new values included', () => {
    const f = sealed('env', 'DB_PASSWORD=hunter2\nDB_HOST=db.local\n', [A, B, C]);
    const old = readFileSync(f, 'utf8');
    const r = run(['recipients', 'remove', f, '-i', A.file, '-r', C.recipient]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/re-keyed: 1 value re-encrypted under a new data key/);
    expect(r.stderr).toMatch(/may still hold old copies/);
    const now = readFileSync(f, 'utf8');
    const tok = (t: string) => /^DB_PASSWORD=(.*)$/m.exec(t)![1];
    expect(tok(now)).not.toBe(tok(old));
    expect(run(['decrypt', '-i', C.file, f]).code).toBe(1);
    expect(run(['decrypt', '-i', B.file, f]).out).toBe('DB_PASSWORD=hunter2\nDB_HOST=db.local\n');
    // A value is added afterwards (a CI job appends it, Alice reviews and seals it under the new data key).
    const added = write(`${now}NEW=fresh\n`, 'added.env');
    const e = run(['encrypt', '--fields', 'NEW', ...pubs([A, B]), added, '-o', `${added}.out`]);
    expect(e.code, e.stderr).toBe(0);
    expect(run(['recipients', 'seal', `${added}.out`, '-i', A.file]).code).toBe(0);
    const withNew = readFileSync(`${added}.out`, 'utf8');
    expect(run(['decrypt', '-i', B.file, `${added}.out`]).out).toContain('NEW=fresh');
    expect(withNew).not.toContain('fresh');
    // Carol splices the old header (which still wraps the old key to her) back in: nobody's reading validates.
    const spliced = write(withNew.replace(headerOf(withNew), headerOf(old)), 'spliced.env');
    const c = run(['decrypt', '-i', C.file, spliced]);
    expect(c.code).toBe(1);
    expect(c.stdout.length).toBe(0);
    expect(run(['verify', '-i', A.file, spliced]).code).toBe(1);
    expect(run(['verify', '-i', C.file, spliced]).code).toBe(1);
  });
  it('--no-rotate keeps the key and says what that leaves open', () => {
    const f = sealed('env', BASE.env, [A, B, C]);
    const old = readFileSync(f, 'utf8');
    const r = run(['recipients', 'remove', '--no-rotate', f, '-i', A.file, '-r', C.recipient]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/without rotating.*every value added before the next rotate.*old recipients header/);
    expect(/^DB_PASSWORD=(.*)$/m.exec(readFileSync(f, 'utf8'))![1]).toBe(/^DB_PASSWORD=(.*)$/m.exec(old)![1]);
  });
});

describe('findings 7 and 8: list with pending values; keys given in the wrong place', () => {
  it('recipients list lists a document that has pending values (exit 0, a note on stderr)', () => {
    const f = sealed('env');
    const ci = write(`${readFileSync(f, 'utf8')}NEW=v\n`, 'ci.env');
    expect(run(['encrypt', '--fields', 'NEW', ...pubs([A, B]), ci, '-o', `${ci}.out`]).code).toBe(0);
    const l = run(['recipients', 'list', `${ci}.out`]);
    expect(l.code, l.stderr).toBe(0);
    expect(l.out).toBe(`${A.recipient}\n${B.recipient}\n`);
    expect(l.stderr).toMatch(/1 pending value \(NEW\)/);
  });
  it('-r with a secret key says it is an identity and shows none of it; -i with a public key says it is a recipient', () => {
    const secret = readFileSync(A.file, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
    const src = write(BASE.env, 'x.env');
    const r = run(['encrypt', '--fields', 'DB_PASSWORD', '-r', secret, src]);
    expect(r.code).toBe(3);
    expect(oneLineError(r.stderr)).toMatch(/this is an age identity \(a secret key\), not a recipient/);
    // Not a single character of the key after its fixed prefix.
    expect(r.stderr).not.toContain(secret.slice(16, 20));
    expect(r.stderr).not.toContain(secret.slice(0, 20));
    const f = sealed('env');
    const pub = write(`${A.recipient}\n`, 'pub.txt');
    const i = run(['decrypt', '-i', pub, f]);
    expect(i.code).toBe(3);
    expect(oneLineError(i.stderr)).toMatch(/this is a recipient \(public key\), not an identity/);
  });
});

describe('finding 9: one authentication message', () => {
  it('a recipients header whose list MAC fails gives the one message, naming no check', () => {
    const f = sealed('env');
    const text = readFileSync(f, 'utf8');
    const h = /^aesp_recipients=(.*)$/m.exec(text)![1]!;
    const parts = h.split(':');
    const mac = Buffer.from(parts[5]!, 'base64url');
    mac[0]! ^= 1;
    parts[5] = mac.toString('base64url');
    const g = write(text.replace(h, parts.join(':')), 'listmac.env');
    const r = run(['decrypt', '-i', A.file, g]);
    expect(r.code).toBe(1);
    expect(oneLineError(r.stderr)).toBe('aes-payload: authentication failed: wrong key or tampered data');
  });
});

describe('finding 11: choosing which pending values to keep', () => {
  it('seal --only folds in one and leaves the other pending; drop removes one unopened (even one not sealed to you)', async () => {
    const f = sealed('env');
    const ci = write(`${readFileSync(f, 'utf8')}ONE=1\nTWO=2\n`, 'two.env');
    const out = `${ci}.out`;
    expect(run(['encrypt', '--fields', 'ONE,TWO', ...pubs([A, B]), ci, '-o', out]).code).toBe(0);
    const s = run(['recipients', 'seal', out, '-i', A.file, '--only', 'ONE']);
    expect(s.code, s.stderr).toBe(0);
    const d = run(['decrypt', '-i', B.file, out]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.out).toContain('ONE=1');
    expect(d.out).toContain('TWO=2');
    expect(d.stderr).toMatch(/TWO is a pending value/);
    expect(d.stderr).not.toMatch(/ONE/);
    const x = run(['recipients', 'drop', out, 'TWO']);
    expect(x.code, x.stderr).toBe(0);
    const d2 = run(['decrypt', '-i', B.file, out]);
    expect(d2.out).toContain('ONE=1');
    expect(d2.out).not.toContain('TWO');
    expect(run(['verify', '--strict', '-i', A.file, out]).code).toBe(0);
    expect(run(['recipients', 'drop', out, 'TWO']).code).toBe(2);
    // An entry sealed to A only blocks B; B drops it without opening it.
    const { sealPending, encodePending, docIdOf } = await import('../../src/formats/fields/pending.js');
    const text = readFileSync(out, 'utf8');
    const entry = encodePending([sealPending('DB_HOST', 'evil', docIdOf(text), [parseRecipient(A.recipient)])]);
    const g = write(text.replace(/^aesp_recipients=/m, `aesp_pending=${entry}\naesp_recipients=`), 'blocked.env');
    expect(run(['decrypt', '-i', B.file, g]).code).toBe(1);
    expect(run(['recipients', 'drop', g, 'DB_HOST']).code).toBe(0);
    expect(run(['decrypt', '-i', B.file, g]).out).toContain('DB_HOST=db.local');
  });
});
