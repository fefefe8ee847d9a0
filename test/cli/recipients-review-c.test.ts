// Second outside review of recipients in field documents (issue 22, findings 22c): each
// finding's attack, run through the built CLI; forged inputs from the reviewer's own forger
// (test/peers/recipients_forge.py, written from the docs with Debian's python3-cryptography);
// YAML outputs judged by PyYAML and npm yaml.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRecipient } from '../../src/formats/age/index.js';
import { disagreements, readYaml } from '../consumers.js';
import { BIN, PYTHON, ROOT, oneLineError, run, runPeer, tempDir, ageKeyAt } from '../helpers.js';

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
type Kind = 'env' | 'json' | 'yaml';
const it_ = (kind: Kind) => (kind === 'json' ? [] : ['--input-type', kind]);
/** A document encrypted to recipients (public keys only), DB_PASSWORD sealed. */
function sealed(kind: Kind, text: string, to = [A, B], fields = 'DB_PASSWORD'): string {
  const src = write(text, `base.${kind}`);
  const r = run(['encrypt', '--fields', fields, ...pubs(to), ...it_(kind), src, '-o', `${src}.aesp`]);
  expect(r.code, r.stderr).toBe(0);
  return `${src}.aesp`;
}
/** The reviewer's forger. */
function forge(args: string[]): string {
  const r = runPeer(PYTHON, [join(ROOT, 'test/peers/recipients_forge.py'), ...args]);
  expect(r.code, r.stderr).toBe(0);
  return r.out.trim();
}
/** A document with one forged pending entry (name and value as Python literals), placed where the writer puts the trailer. */
function forgedPending(doc: string, name: string, value: string, kind: Kind): string {
  const trailer = forge(['pend', doc, name, value]);
  const text = readFileSync(doc, 'utf8');
  const line = kind === 'yaml' ? `aesp_pending: ${trailer}\naesp_recipients:` : `aesp_pending=${trailer}\naesp_recipients=`;
  return write(text.replace(kind === 'yaml' ? /^aesp_recipients:/m : /^aesp_recipients=/m, line), `forged.${kind}`);
}
const KEY = '11'.repeat(32);
const symEnv = { AES_PAYLOAD_KEY: KEY };
const kidOf = (file: string, ...args: string[]) => /OK \S+ \d+ fields? ([0-9a-f]{16})/.exec(run(['verify', ...args, file]).stderr)![1]!;

describe('finding 1: exec never sets aes-payload\'s own variables or other tools\' keys from a document', () => {
  it('the reviewer\'s attack: AES_PAYLOAD_KEY_CMD in a document written with public keys only is refused, and nothing runs', () => {
    const mark = tmp('PWNED');
    const evil = sealed('env', `AES_PAYLOAD_KEY_CMD='sh -c "id > ${mark}; echo ${'0'.repeat(64)}"'\nDB_PASSWORD=x\n`);
    const other = tmp('other.json');
    expect(run(['encrypt', '-o', other], { input: '{"x":"y"}', env: symEnv }).code).toBe(0);
    const x = run(['exec', '-f', evil, '-i', A.file, '--', process.execPath, BIN, 'decrypt', other], { env: symEnv });
    expect(x.code).toBe(4);
    expect(oneLineError(x.stderr)).toMatch(/AES_PAYLOAD_KEY_CMD .*never/);
    expect(existsSync(mark)).toBe(false);
    expect(x.out).toBe('');
    // Not even pinned (--expect-kid), nor with --allow-unauthenticated.
    const kid = kidOf(evil, '-i', A.file);
    expect(run(['exec', '--expect-kid', kid, '--allow-unauthenticated', '-f', evil, '-i', A.file, '--', 'true'], { env: symEnv }).code).toBe(4);
    expect(existsSync(mark)).toBe(false);
  });

  const NAMES = ['AES_PAYLOAD_KEY', 'AES_PAYLOAD_KEYRING', 'AES_PAYLOAD_KEY_CMD', 'AES_PAYLOAD_PKCS11_MODULE', 'AES_PAYLOAD_CONFIG', 'AES_PAYLOAD_KDF_BUDGET', 'AES_PAYLOAD_THREADS', 'AES_PAYLOAD_KID', 'SOPS_AGE_KEY', 'SOPS_AGE_KEY_FILE', 'SOPS_AGE_KEY_CMD', 'SOPS_GPG_EXEC'];
  it('each name, from a symmetric envelope the user\'s own key wrote (refused unconditionally: exit 4, nothing run)', async () => {
    const { neverFromDocument } = await import('../../src/cli/exec.js');
    expect(NAMES.filter((nm) => !neverFromDocument(nm))).toEqual([]);
    expect(['DB_PASSWORD', 'AES_KEY', 'PAYLOAD', 'SOPS', 'API_TOKEN'].filter((nm) => neverFromDocument(nm))).toEqual([]);
    for (const name of NAMES) {
      const f = tmp('sym.json');
      expect(run(['encrypt', '-o', f], { input: JSON.stringify({ [name]: 'v', OK: '1' }), env: symEnv }).code).toBe(0);
      const x = run(['exec', '--keep-key-env', '-f', f, '--', 'sh', '-c', 'echo ran'], { env: symEnv });
      expect(x.code, name).toBe(4);
      expect(x.out).toBe('');
      expect(oneLineError(x.stderr)).toContain(name);
    }
  });

  it('from a pinned recipient document, a pending value and a --mac-only-encrypted plaintext, with --allow-unauthenticated; and the --key-env variable', async () => {
    const pinned = sealed('env', 'DB_PASSWORD=x\nAES_PAYLOAD_KEY=00\n');
    const kid = kidOf(pinned, '-i', A.file);
    expect(run(['exec', '--expect-kid', kid, '-f', pinned, '-i', A.file, '--', 'true']).code).toBe(4);
    const { setPendingValue } = await import('../../src/ops/recipients.js');
    const base = sealed('env', 'DB_PASSWORD=x\n');
    const pend = write(setPendingValue(readFileSync(base, 'utf8'), 'SOPS_AGE_KEY_CMD', 'sh -c id', [parseRecipient(A.recipient), parseRecipient(B.recipient)], undefined), 'pend.env');
    const p = run(['exec', '--allow-unauthenticated', '-f', pend, '-i', A.file, '--', 'true']);
    expect(p.code).toBe(4);
    expect(oneLineError(p.stderr)).toContain('SOPS_AGE_KEY_CMD');
    const src = write('DB_PASSWORD=x\nAES_PAYLOAD_KEYRING=x\n', 'mac.env');
    expect(run(['encrypt', '--fields', 'DB_PASSWORD', '--mac-only-encrypted', src, '-o', `${src}.aesp`], { env: symEnv }).code).toBe(0);
    const m = run(['exec', '--allow-unauthenticated', '-f', `${src}.aesp`, '--', 'true'], { env: symEnv });
    expect(m.code).toBe(4);
    expect(oneLineError(m.stderr)).toContain('AES_PAYLOAD_KEYRING');
    // The variable --key-env names (exec removes it from CMD's environment) is not put back by a document either.
    const prod = tmp('prod.json');
    expect(run(['encrypt', '--key-env', 'PROD_KEY', '-o', prod], { input: '{"PROD_KEY":"00","A":"1"}', env: { PROD_KEY: KEY } }).code).toBe(0);
    const k = run(['exec', '--key-env', 'PROD_KEY', '-f', prod, '--', 'true'], { env: { PROD_KEY: KEY } });
    expect(k.code).toBe(4);
    expect(oneLineError(k.stderr)).toContain('PROD_KEY');
  });
});

describe('finding 2: a JWE encrypted to a public key does not say who wrote it', () => {
  for (const alg of ['ECDH-ES', 'RSA-OAEP-256'] as const) {
    it(`${alg}: exec refuses code-loading names from it, pinned by kid or not; ordinary names pass`, () => {
      const k = tmp('rp.pem');
      expect(run(['keygen', '--alg', alg, ...(alg === 'ECDH-ES' ? ['--crv', 'P-256'] : ['--bits', '2048']), '-o', k]).code).toBe(0);
      const evil = tmp('m.jwe');
      expect(run(['encrypt', '--format', 'jwe', '--recipient', `${k}.pub`, '-o', evil], { input: '{"LD_PRELOAD":"/nonexistent/evil.so","BASH_ENV":"/tmp/x","A":"1"}' }).code).toBe(0);
      const x = run(['exec', '-f', evil, '--key-file', k, '--', 'sh', '-c', 'echo ran']);
      expect(x.code).toBe(4);
      expect(x.out).toBe('');
      expect(oneLineError(x.stderr)).toMatch(/LD_PRELOAD, BASH_ENV .*public key/);
      const kid = /"kid":"([^"]+)"/.exec(Buffer.from(readFileSync(evil, 'utf8').split('.')[0]!, 'base64url').toString())?.[1];
      if (kid) expect(run(['exec', '--expect-kid', kid, '-f', evil, '--key-file', k, '--', 'true']).code).not.toBe(0);
      const ok = tmp('ok.jwe');
      expect(run(['encrypt', '--format', 'jwe', '--recipient', `${k}.pub`, '-o', ok], { input: '{"A":"1"}' }).code).toBe(0);
      const y = run(['exec', '-f', ok, '--key-file', k, '--', 'sh', '-c', 'printf %s "$A"']);
      expect(y.code, y.stderr).toBe(0);
      expect(y.out).toBe('1');
    });
  }
  it('a JWE under the user\'s symmetric key (dir) is authenticated: such names pass, as for envelopes', () => {
    const f = tmp('dir.jwe');
    expect(run(['encrypt', '--format', 'jwe', '-o', f], { input: '{"PYTHONWARNINGS":"ignore"}', env: symEnv }).code).toBe(0);
    const y = run(['exec', '-f', f, '--', 'sh', '-c', 'printf %s "$PYTHONWARNINGS"'], { env: symEnv });
    expect(y.code, y.stderr).toBe(0);
    expect(y.out).toBe('ignore');
  });
  it('age files are not read by exec at all (exit 4, nothing run)', () => {
    const f = tmp('x.age');
    expect(run(['encrypt', '--format', 'age', ...pubs([A]), '-o', f], { input: '{"LD_PRELOAD":"x"}' }).code).toBe(0);
    const x = run(['exec', '-f', f, '-i', A.file, '--', 'sh', '-c', 'echo ran']);
    expect(x.code).toBe(4);
    expect(x.out).toBe('');
  });
});

describe('finding 3: the pending trailer is bounded before anything is unwrapped', () => {
  const base = () => sealed('env', 'DB_PASSWORD=hunter2\nDB_HOST=db.local\n');
  it('101 entries: refused (exit 4, the cap named) with no identity, a wrong one, or a right one; drop still removes them', () => {
    const big = tmp('big.env');
    forge(['dos', base(), '101', '2', big]);
    // No identity at all: refused for its shape (4), not asked for an identity (3): nothing was unwrapped.
    const none = run(['decrypt', big]);
    expect(none.code).toBe(4);
    expect(oneLineError(none.stderr)).toMatch(/101 pending values; at most 100/);
    // An identity that matches nothing would be exit 1 after unwrapping: 4 means the cap came first.
    expect(run(['verify', '-i', C.file, big]).code).toBe(4);
    for (const args of [['decrypt', '-i', A.file, big], ['verify', '-i', A.file, big], ['exec', '--allow-unauthenticated', '-f', big, '-i', A.file, '--', 'true'], ['recipients', 'seal', big, '-i', A.file]]) {
      const r = run(args);
      expect(r.code, args[0]).toBe(4);
      expect(r.stdout.length).toBe(0);
    }
    const names = Array.from({ length: 101 }, (_, i) => `V${i}`).join(',');
    expect(run(['recipients', 'drop', big, names]).code).toBe(0);
    expect(run(['verify', '--strict', '-i', A.file, big]).code).toBe(0);
  });
  it('1,002 stanzas over 2 entries: refused (exit 4) before unwrapping; 100 entries, and 1,000 stanzas, are read', async () => {
    const many = tmp('many.env');
    forge(['dos', base(), '2', '501', many]);
    const r = run(['verify', '-i', C.file, many]);
    expect(r.code).toBe(4);
    expect(oneLineError(r.stderr)).toMatch(/1002 stanzas; at most 1000/);
    const atCap = tmp('cap.env');
    forge(['dos', base(), '100', '2', atCap]);
    const d = run(['decrypt', '-i', A.file, atCap]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.out).toContain('V99=x');
    // A writer does not add the 101st.
    const { setPendingValue } = await import('../../src/ops/recipients.js');
    expect(() => setPendingValue(readFileSync(atCap, 'utf8'), 'NEW', 'x', [parseRecipient(A.recipient), parseRecipient(B.recipient)], undefined)).toThrow(/101 pending values; at most 100/);
    const stanzas = tmp('stanzas.env');
    forge(['dos', base(), '2', '500', stanzas]);
    expect(run(['decrypt', '-i', B.file, stanzas]).code).toBe(0);
  });
});

describe('finding 4: YAML pending values pass the checks of every YAML value', () => {
  const BAD: [string, string][] = [['NEL', '\\x85'], ['LS', '\\u2028'], ['PS', '\\u2029'], ['DEL', '\\x7f'], ['C1', '\\x9f'], ['FFFE', '\\ufffe'], ['FFFF', '\\uffff'], ['CR', '\\r']];
  it('the writer refuses them as the normal path does (exit 4)', () => {
    const doc = sealed('yaml', 'db:\n  password: hunter2\nport: 5432\nDB_PASSWORD: x\n');
    const text = readFileSync(doc, 'utf8');
    for (const [what, esc] of [['NEL', '\\N'], ['DEL', '\\x7f'], ['LS', '\\L'], ['surrogate pair escape', '\\ud83d\\ude00']]) {
      const ci = write(`${text}API: "a${esc}b"\n`, 'ci.yaml');
      const r = run(['encrypt', '--fields', 'API', ...pubs([A, B]), '--input-type', 'yaml', ci, '-o', `${ci}.out`]);
      expect(r.code, `${what} ${r.stderr}`).toBe(4);
      expect(existsSync(`${ci}.out`)).toBe(false);
      // The same value through the normal path (a key holder): the same exit.
      const plain = write(`API: "a${esc}b"\n`, 'plain.yaml');
      expect(run(['encrypt', '--fields', 'API', '--input-type', 'yaml', plain], { env: symEnv }).code).toBe(4);
    }
  });
  it('a forged entry holding any of them is refused on reading: decrypt, verify, seal, exec (exit 4, nothing released)', () => {
    const doc = sealed('yaml', 'DB_PASSWORD: hunter2\nPORT: "5432"\n');
    for (const [what, esc] of BAD) {
      const g = forgedPending(doc, "'V'", `'a${esc}b'`, 'yaml');
      for (const args of [['decrypt', '-i', A.file, g], ['verify', '-i', A.file, g], ['recipients', 'seal', g, '-i', A.file], ['exec', '--allow-unauthenticated', '-f', g, '-i', A.file, '--', 'true']]) {
        const r = run(args);
        expect(r.code, `${what} ${args[0]} ${r.stderr}`).toBe(4);
        expect(r.stdout.length).toBe(0);
      }
    }
  });
  it('a pending value for a name the body has as a quoted key replaces it (no second key): PyYAML and npm yaml agree', () => {
    const doc = sealed('yaml', "DB_PASSWORD: hunter2\n'API': old\n");
    const ci = write(`${readFileSync(doc, 'utf8')}API: new\n`, 'q.yaml');
    expect(run(['encrypt', '--fields', 'API', ...pubs([A, B]), '--input-type', 'yaml', ci, '-o', `${ci}.out`]).code).toBe(0);
    const d = run(['decrypt', '-i', A.file, `${ci}.out`]);
    expect(d.code, d.stderr).toBe(0);
    expect(disagreements(readYaml([d.out]), [{ DB_PASSWORD: 'hunter2', API: 'new' }]).flat()).toEqual([]);
  });
  it('odd but portable pending values come out as PyYAML and npm yaml both read them', () => {
    const doc = sealed('yaml', 'DB_PASSWORD: hunter2\nPORT: "5432"\n');
    const values: Record<string, string> = { Q: '"quoted"', C: 'a: b #c', YS: 'yes', M: 'two\nlines', E: '\u{1F600}', S: ' lead', T: 'tab\there', K: 'back\\slash', Z: '', OCT: '017', D: '2001-12-14' };
    let text = readFileSync(doc, 'utf8');
    for (const [name, value] of Object.entries(values)) text += `${name}: ${JSON.stringify(value)}\n`;
    const ci = write(text, 'ci.yaml');
    const out = `${ci}.out`;
    const e = run(['encrypt', '--fields', Object.keys(values).join(','), ...pubs([A, B]), '--input-type', 'yaml', ci, '-o', out]);
    expect(e.code, e.stderr).toBe(0);
    const d = run(['decrypt', '-i', A.file, out]);
    expect(d.code, d.stderr).toBe(0);
    const want = { DB_PASSWORD: 'hunter2', PORT: '5432', ...values };
    expect(disagreements(readYaml([d.out]), [want]).flat()).toEqual([]);
    expect(run(['verify', '-i', B.file, out]).code).toBe(0);
    expect(run(['recipients', 'seal', out, '-i', B.file]).code).toBe(0);
    const d2 = run(['decrypt', '-i', B.file, out]);
    expect(disagreements(readYaml([d2.out]), [want]).flat()).toEqual([]);
  });
});

describe('finding 5: the denylist gaps the review found', () => {
  const GAPS = ['MANPAGER', 'RSYNC_RSH', 'CVS_RSH', 'CARGO_BUILD_RUSTC_WRAPPER', 'GOFLAGS', 'GOTOOLCHAIN', 'GOPROXY', 'JAVA_OPTS', 'SBT_OPTS', 'ANT_OPTS', 'CATALINA_OPTS', 'ANSIBLE_LIBRARY', 'HELM_PLUGINS', 'R_PROFILE_USER', 'TCLLIBPATH', 'PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL', 'PIP_CONFIG_FILE', 'UV_INDEX_URL', 'KUBECONFIG', 'CC', 'GNUPGHOME', 'SSH_AUTH_SOCK',
    'CXX', 'LD', 'AR', 'CFLAGS', 'LDFLAGS', 'GIT_SSH_COMMAND', 'GIT_CONFIG_COUNT', 'MAVEN_OPTS', 'GRADLE_OPTS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'NODE_PATH', 'DOCKER_HOST', 'XDG_CONFIG_HOME', 'LESS', 'CMAKE_C_COMPILER_LAUNCHER', 'JAVA_HOME', 'YARN_YARN_PATH'];
  it('each is refused from a document nobody pinned; ordinary names are not', async () => {
    const { loadsCode } = await import('../../src/cli/exec.js');
    expect(GAPS.filter((nm) => !loadsCode(nm))).toEqual([]);
    expect(['DB_PASSWORD', 'API_TOKEN', 'PORT', 'DATABASE_URL', 'PATHNAME', 'LDAP_URL', 'CARGO_REGISTRY_TOKEN', 'GITHUB_TOKEN', 'NPM_TOKEN', 'VAULT_TOKEN', 'DOTENV_PRIVATE_KEY_PRODUCTION', 'CCACHE_DIR', 'ASSET_URL', 'LESS_SECRET'].filter((nm) => loadsCode(nm))).toEqual([]);
    // The reviewer's MANPAGER document, through exec: refused, nothing run.
    const mark = tmp('pwned-manpager');
    const mp = sealed('env', `MANPAGER='sh -c "id > ${mark}"'\nDB_PASSWORD=x\n`);
    const x = run(['exec', '-f', mp, '-i', A.file, '--', 'sh', '-c', 'eval "$MANPAGER"']);
    expect(x.code).toBe(4);
    expect(oneLineError(x.stderr)).toMatch(/MANPAGER can make the command load or run other code/);
    expect(existsSync(mark)).toBe(false);
  });
});

describe('findings 6 and 7: pending values in verify --json, and which ones replace an authenticated value', () => {
  function withPending(): string {
    const f = sealed('env', 'DB_PASSWORD=hunter2\nDB_HOST=db.local\n');
    const ci = write(`${readFileSync(f, 'utf8')}API=x\nDB_HOST=evil\n`, 'ci.env');
    expect(run(['encrypt', '--fields', 'API,DB_HOST', ...pubs([A, B]), ci, '-o', `${ci}.out`]).code).toBe(0);
    return `${ci}.out`;
  }
  it('verify --json names them in the row; --strict keeps format, kid and tokens in the failing row', () => {
    const p = withPending();
    const clean = sealed('env', 'DB_PASSWORD=hunter2\n');
    const v = run(['verify', '--json', '-i', A.file, p, clean]);
    expect(v.code, v.stderr).toBe(0);
    const rows = JSON.parse(v.out) as Record<string, unknown>[];
    expect(rows[0]).toMatchObject({ ok: true, format: 'env', tokens: 1, pending: [{ name: 'API', replaces: false }, { name: 'DB_HOST', replaces: true }] });
    expect(rows[1]).toMatchObject({ ok: true, pending: [] });
    const s = run(['verify', '--strict', '--json', '-i', A.file, p]);
    expect(s.code).toBe(1);
    const [row] = JSON.parse(s.out) as Record<string, unknown>[];
    expect(row).toMatchObject({ ok: false, format: 'env', tokens: 1, pending: [{ name: 'API', replaces: false }, { name: 'DB_HOST', replaces: true }] });
    expect(row!.kid).toMatch(/^[0-9a-f]{16}$/);
    expect(row!.error).toMatch(/pending/);
    // --no-key: the structure says the same.
    const nk = run(['verify', '--no-key', '--json', p]);
    expect((JSON.parse(nk.out) as Record<string, unknown>[])[0]).toMatchObject({ pending: [{ name: 'API', replaces: false }, { name: 'DB_HOST', replaces: true }] });
  });
  it('the warning tells a new name from one that overrides an authenticated value; seal says which it replaced', () => {
    const p = withPending();
    for (const args of [['decrypt', '-i', A.file, p], ['verify', '-i', A.file, p]]) {
      const r = run(args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/DB_HOST replaces the document's own authenticated value/);
      expect(r.stderr).toMatch(/API is new to the document/);
      expect(r.stderr).not.toMatch(/API replaces/);
    }
    const s = run(['recipients', 'seal', p, '-i', A.file]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/replaced the document's own value of DB_HOST/);
    expect(s.stderr).toMatch(/added API/);
  });
});

describe('finding 8: value text is never altered silently', () => {
  it('a token or a pending value whose plaintext is not UTF-8 is refused (exit 4), not turned into U+FFFD', () => {
    const w = tmp('w.env');
    forge(['wholedoc', w, `${A.recipient},${B.recipient}`, 'A=b\'"\\xff"\'|1', 'B=b\'x\'|0']);
    for (const args of [['decrypt', '-i', A.file, w], ['verify', '-i', A.file, w], ['exec', '-f', w, '-i', A.file, '--', 'true']]) {
      const r = run(args);
      expect(r.code, `${args[0]} ${r.stderr}`).toBe(4);
      expect(r.stdout.length).toBe(0);
      expect(oneLineError(r.stderr)).toMatch(/not valid UTF-8/);
    }
    const doc = sealed('env', 'DB_PASSWORD=hunter2\n');
    const g = forgedPending(doc, "'N'", "b'\\xff\\xfe'", 'env');
    const r = run(['decrypt', '-i', A.file, g]);
    expect(r.code).toBe(4);
    expect(r.stdout.length).toBe(0);
    expect(oneLineError(r.stderr)).toMatch(/not valid UTF-8/);
  });
  it('the JSON public-key writer refuses a lone surrogate (exit 4), as the origin value writer does', () => {
    const doc = sealed('json', '{"DB_PASSWORD": "x"}\n');
    const ci = write(readFileSync(doc, 'utf8').replace(/}\s*$/, ',"API": "\\ud800"}\n'), 'ci.json');
    const r = run(['encrypt', '--fields', 'API', ...pubs([A, B]), ci, '-o', `${ci}.out`]);
    expect(r.code).toBe(4);
    expect(oneLineError(r.stderr)).toMatch(/lone UTF-16 surrogate/);
    expect(existsSync(`${ci}.out`)).toBe(false);
  });
});

describe('finding 10: -q after a recipients subcommand', () => {
  it('recipients add|seal|rotate … -q print nothing on success', () => {
    const f = sealed('env', 'DB_PASSWORD=x\n');
    const a = run(['recipients', 'add', f, '-i', A.file, '-r', C.recipient, '-q']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toBe('');
    const r = run(['recipients', 'rotate', f, '-i', A.file, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(run(['recipients', 'list', f, '-q']).code).toBe(0);
  });
});

describe('finding 11: the smaller points', () => {
  it('YAML pending names y, n, Y, N: PyYAML reads them as strings, but go-yaml v2 (YAML 1.1\'s type repository) as booleans: refused, and the message says why', () => {
    const py = runPeer(PYTHON, ['-c', 'import yaml, json; print(json.dumps([yaml.safe_load(k + ": x") for k in ["y", "n", "Y", "N"]]))']);
    expect(JSON.parse(py.out)).toEqual([{ y: 'x' }, { n: 'x' }, { Y: 'x' }, { N: 'x' }]);
    const doc = sealed('yaml', 'DB_PASSWORD: x\n');
    const ci = write(`${readFileSync(doc, 'utf8')}'N': v\n`, 'n.yaml');
    const r = run(['encrypt', '--fields', 'N', ...pubs([A, B]), '--input-type', 'yaml', ci]);
    expect(r.code).toBe(2);
    expect(oneLineError(r.stderr)).toMatch(/go-yaml/);
  });
  it('a null value: the message says null', () => {
    const doc = sealed('json', '{"DB_PASSWORD": "x"}\n');
    const ci = write(readFileSync(doc, 'utf8').replace(/}\s*$/, ',"API": null}\n'), 'null.json');
    const r = run(['encrypt', '--fields', 'API', ...pubs([A, B]), ci]);
    expect(r.code).toBe(2);
    expect(oneLineError(r.stderr)).toMatch(/it has null\)/);
  });
  it('exec --expect-kid with something that is not a kid is a usage error (exit 2); several are a set over all files', () => {
    const f = sealed('env', 'DB_PASSWORD=x\n');
    const g = sealed('env', 'DB_PASSWORD=y\n');
    const x = run(['exec', '--expect-kid', 'zz', '-f', f, '-i', A.file, '--', 'true']);
    expect(x.code).toBe(2);
    expect(oneLineError(x.stderr)).toMatch(/--expect-kid/);
    const [kf, kg] = [kidOf(f, '-i', A.file), kidOf(g, '-i', A.file)];
    expect(run(['exec', '--expect-kid', kf, '--expect-kid', kg, '-f', f, '-f', g, '-i', A.file, '--', 'true']).code).toBe(0);
    expect(run(['exec', '--expect-kid', kf, '-f', f, '-f', g, '-i', A.file, '--', 'true']).code).toBe(1);
  });
  it('aesp_pending is read only as the last entry of the document (before the recipients header, or after it); elsewhere exit 4', async () => {
    const { setPendingValue } = await import('../../src/ops/recipients.js');
    const doc = sealed('env', 'DB_PASSWORD=hunter2\nDB_HOST=h\n');
    const good = setPendingValue(readFileSync(doc, 'utf8'), 'API', 'v', [parseRecipient(A.recipient), parseRecipient(B.recipient)], undefined);
    const line = /^aesp_pending=.*\n/m.exec(good)![0];
    const without = good.replace(line, '');
    expect(run(['decrypt', '-i', A.file, write(good, 'good.env')]).code).toBe(0);
    expect(run(['decrypt', '-i', A.file, write(without + line, 'after.env')]).code).toBe(0);
    for (const [what, text] of [['first line', line + without], ['before the aesp header', without.replace(/^aesp=/m, `${line}aesp=`)]]) {
      const r = run(['decrypt', '-i', A.file, write(text!, 'moved.env')]);
      expect(r.code, what).toBe(4);
      expect(oneLineError(r.stderr)).toMatch(/aesp_pending/);
    }
    const jdoc = sealed('json', '{"DB_PASSWORD": "x", "B": "y"}\n');
    const jgood = setPendingValue(readFileSync(jdoc, 'utf8'), 'API', 'v', [parseRecipient(A.recipient), parseRecipient(B.recipient)], undefined);
    expect(run(['decrypt', '-i', A.file, write(jgood, 'good.json')]).code).toBe(0);
    const member = /,\s*"aesp_pending"\s*:\s*"[^"]*"/.exec(jgood)![0];
    const jfirst = jgood.replace(member, '').replace(/^\{/, `{${member.slice(1)},`);
    expect(run(['decrypt', '-i', A.file, write(jfirst, 'first.json')]).code).toBe(4);
  });
  it('recipients remove of the only recipient your identities match warns that you can no longer read the result', () => {
    const f = sealed('env', 'DB_PASSWORD=x\n', [A, B]);
    const r = run(['recipients', 'remove', f, '-i', A.file, '-r', A.recipient]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/none of the identities given .*can read the result/);
    expect(run(['decrypt', '-i', A.file, f]).code).toBe(1);
    const g = sealed('env', 'DB_PASSWORD=x\n', [A, B, C]);
    const s = run(['recipients', 'remove', g, '-i', A.file, '-r', C.recipient]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).not.toMatch(/none of the identities/);
  });
});

describe('third review, finding 3: a pending .env value that no .env text can hold', () => {
  it('is refused by the public-key writer (exit 4, as set -i refuses it) and, forged, by verify and exec as well as decrypt', () => {
    const doc = sealed('env', 'DB_PASSWORD=x\nB_PASSWORD=y\n');
    const before = readFileSync(doc, 'utf8');
    const w = run(['set', ...pubs([A, B]), doc, 'B_PASSWORD'], { input: 'a\'b"c' });
    expect(w.code).toBe(4);
    expect(oneLineError(w.stderr)).toMatch(/cannot be written in a \.env file so that sh, python-dotenv, npm dotenv and Node read it alike/);
    expect(readFileSync(doc, 'utf8')).toBe(before);
    const f = forgedPending(doc, "'B_PASSWORD'", `'a\\'b"c'`, 'env');
    for (const args of [['verify', '-i', A.file, f], ['decrypt', '-i', A.file, f], ['exec', '-f', f, '-i', A.file, '--allow-unauthenticated', '--', 'true']]) {
      const r = run(args);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(4);
      expect(r.out).toBe('');
    }
  });
});
