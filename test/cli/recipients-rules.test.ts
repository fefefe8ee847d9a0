// The rules file's `recipients` (docs/FORMAT.md §16, §17) through the built CLI: `encrypt FILE`
// and `set` write documents encrypted to the rule's age recipients with no key; `set` and `edit`
// work on them with an identity, and `set` with public keys only adds a pending value; flags and
// the environment win over the rules file; a rules file can never add a recipient to an existing
// document. What comes out is read by the real consumers (python-dotenv, npm dotenv, PyYAML) and
// the embedded header by the real age.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIdentityFile } from '../../src/formats/age/index.js';
import { sealPayload } from '../../src/formats/age/payload.js';
import { bufferReader } from '../../src/formats/age/reader.js';
import { b64urlDecodeStrict } from '../../src/formats/common/base64.js';
import { decodeHeader, openHeader } from '../../src/formats/fields/recipients.js';
import { disagreements, readEnv, readYaml, yamlTyped } from '../consumers.js';
import { oneLineError, run, runPeer, tempDir, ageKeyAt } from '../helpers.js';

const root = tempDir();
let n = 0;

const key = (): { file: string; recipient: string } => ageKeyAt(join(root, `key${n++}.txt`));
const [A, B, C] = [key(), key(), key()];

/** A project: a directory with `.git` (where the rules file search stops), the rules file and files. */
function project(rules: string, files: Record<string, string>): string {
  const d = join(root, `p${n++}`);
  mkdirSync(join(d, '.git'), { recursive: true });
  writeFileSync(join(d, '.aes-payload.yaml'), rules);
  for (const [f, t] of Object.entries(files)) {
    mkdirSync(join(d, f, '..'), { recursive: true });
    writeFileSync(join(d, f), t);
  }
  writeFileSync(join(d, 'k'), 'a1'.repeat(32), { mode: 0o600 });
  return d;
}

const RULES = (to: string) => `rules:
  - path: .env
    fields: ["*_PASSWORD", API_TOKEN]
    recipients: ${to}
  - path: "config/*.json"
    fields: [db.password]
    recipients-file: team.txt
  - path: "*.yaml"
    fields-regex: "^(password|token)$"
    recipients: ${to}
`;
const ENV = '# db\nDB_PASSWORD=hunter2\nDB_HOST=db.local\nAPI_TOKEN="tok en"\n';
const JSON_DOC = '{\n  "db": {"password": "p4ss", "port": 5432},\n  "name": "x"\n}\n';
const YAML_DOC = 'db:\n  password: p4ss # rotate me\n  port: 5432\napi:\n  token: "t0k"\nname: x\n';

function inPlace(d: string, file: string, extra: string[] = [], env: Record<string, string> = {}) {
  const r = run(['encrypt', file, '-o', `${file}.tmp`, '--force', ...extra], { cwd: d, env });
  if (r.code === 0) writeFileSync(join(d, file), readFileSync(join(d, `${file}.tmp`)));
  return r;
}
const listed = (d: string, file: string) => run(['recipients', 'list', file], { cwd: d }).out.trim().split('\n');
const read = (d: string, file: string) => readFileSync(join(d, file), 'utf8');

/** A standard team project, everything encrypted by the rules (A and B; team.txt lists them too). */
function team(): string {
  const d = project(RULES(`"${A.recipient}, ${B.recipient}"`), { '.env': ENV, 'config/app.json': JSON_DOC, 'app.yaml': YAML_DOC, 'team.txt': `# the team\n${A.recipient}\n${B.recipient}\n` });
  for (const f of ['.env', 'config/app.json', 'app.yaml']) {
    const r = inPlace(d, f);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/to 2 recipients named in .*\.aes-payload\.yaml \(line (2|5|8)\)/);
  }
  return d;
}

describe('encrypt FILE with a rule naming recipients', () => {
  it('.env, JSON (recipients-file) and YAML (fields-regex): encrypted to the rule\'s recipients with no key; each identity reads it; the rest stays in the clear', () => {
    const d = team();
    expect(read(d, '.env')).toMatch(/^# db\nDB_PASSWORD=aesp:2:A256GCM:[^\n]*\nDB_HOST=db\.local\nAPI_TOKEN="aesp:2:A256GCM:[^\n]*"\naesp=[^\n]*\naesp_recipients=aesp:2:rcpt:[^\n]*\n$/);
    expect(read(d, 'config/app.json')).toMatch(/"password": "aesp:2:A256GCM:/);
    expect(read(d, 'app.yaml')).toMatch(/^db:\n {2}password: aesp:2:A256GCM:[^\n]* # rotate me\n {2}port: 5432\napi:\n {2}token: "aesp:2:A256GCM:[^\n]*"\nname: x\naesp: /);
    for (const [f, plain] of [['.env', ENV], ['config/app.json', JSON_DOC], ['app.yaml', YAML_DOC.replace('"t0k"', 't0k')]] as const) {
      expect(listed(d, f)).toEqual([A.recipient, B.recipient]);
      for (const k of [A, B]) {
        const r = run(['decrypt', '-i', k.file, f], { cwd: d });
        expect(r.code, r.stderr).toBe(0);
        expect(r.out).toBe(f === 'app.yaml' ? YAML_DOC : plain);
      }
      const c = run(['decrypt', '-i', C.file, f], { cwd: d });
      expect(c.code).toBe(1);
      expect(oneLineError(c.stderr)).toMatch(/no identity given matches a recipient of this document \(2:/);
    }
  });

  it('a key flag or a key in the environment wins over the rule\'s recipients (a symmetric document), with a warning; -r/-R win too', () => {
    const d = project(RULES(`[${A.recipient}]`), { '.env': ENV });
    const e = inPlace(d, '.env', [], { AES_PAYLOAD_KEY: 'a1'.repeat(32) });
    expect(e.code, e.stderr).toBe(0);
    expect(e.stderr).toMatch(/warning: .*\.aes-payload\.yaml \(line 2\) says this file is encrypted to age recipients, but env AES_PAYLOAD_KEY names a key: the environment's key is used/);
    expect(read(d, '.env')).not.toContain('aesp_recipients');
    expect(run(['decrypt', '--key-file', 'k', '.env'], { cwd: d }).out).toBe(ENV);
    writeFileSync(join(d, '.env'), ENV);
    const f = inPlace(d, '.env', ['--key-file', 'k']);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stderr).toMatch(/--key-file names a key: the flag's key is used/);
    expect(read(d, '.env')).not.toContain('aesp_recipients');
    writeFileSync(join(d, '.env'), ENV);
    const r = inPlace(d, '.env', ['-r', C.recipient]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: -r\/-R name other recipients than .*\(line 2\); -r\/-R are used/);
    expect(listed(d, '.env')).toEqual([C.recipient]);
    expect(run(['decrypt', '-i', C.file, '.env'], { cwd: d }).out).toBe(ENV);
  });

  it('a rule with both "key" and recipients is refused (exit 4); a missing recipients-file is an I/O error naming it (exit 5)', () => {
    const d = project(`rules:\n  - path: .env\n    fields: [A]\n    key: {key-file: k}\n    recipients: [${A.recipient}]\n`, { '.env': 'A=1\n' });
    const r = run(['encrypt', '.env'], { cwd: d });
    expect(r.code).toBe(4);
    expect(oneLineError(r.stderr)).toMatch(/line 2: a rule takes "key" or "recipients", not both/);
    const m = project('rules:\n  - path: .env\n    fields: [A]\n    recipients-file: nobody.txt\n', { '.env': 'A=1\n' });
    const x = run(['encrypt', '.env'], { cwd: m });
    expect(x.code).toBe(5);
    expect(oneLineError(x.stderr)).toMatch(/line 2: cannot read the recipients-file .*nobody\.txt/);
  });

  it('the decrypted documents are what python-dotenv, npm dotenv, node and sh (.env) and PyYAML and npm yaml (YAML) read from the original; so are the encrypted ones', () => {
    const d = team();
    const env = run(['decrypt', '-i', A.file, '.env'], { cwd: d }).out;
    const yaml = run(['decrypt', '-i', B.file, 'app.yaml'], { cwd: d }).out;
    const original = { DB_PASSWORD: 'hunter2', DB_HOST: 'db.local', API_TOKEN: 'tok en' };
    expect(disagreements(readEnv([env, ENV]), [original, original]).flat()).toEqual([]);
    expect(disagreements(readYaml([yaml]), [yamlTyped(YAML_DOC)]).flat()).toEqual([]);
    // The encrypted files themselves: every reader sees the same variables and values (tokens, header lines).
    const encEnv = read(d, '.env');
    const vars = Object.fromEntries(encEnv.split('\n').filter((l) => /^[A-Za-z_]/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^"(.*)"$/, '$1')]));
    expect(vars.DB_HOST).toBe('db.local');
    expect(disagreements(readEnv([encEnv]), [vars]).flat()).toEqual([]);
    const encYaml = read(d, 'app.yaml');
    expect(disagreements(readYaml([encYaml]), [yamlTyped(encYaml)]).flat()).toEqual([]);
  });

  it('the recipients header of a document the rules wrote is a real age header: age -d -i opens it for each recipient', async () => {
    const d = team();
    for (const f of ['.env', 'app.yaml']) {
      const h = /aesp_recipients[=:] ?(aesp:2:rcpt:[A-Za-z0-9_:-]+)/.exec(read(d, f))![1]!;
      const { fileKey } = openHeader(decodeHeader(h), parseIdentityFile(readFileSync(A.file, 'utf8'), 'A'));
      const chunks: Buffer[] = [b64urlDecodeStrict(h.split(':')[4]!, 'h')];
      await sealPayload(fileKey, bufferReader(Buffer.from(`the data key of ${f}`)), (parts) => void chunks.push(...parts.map((p) => Buffer.from(p))));
      const file = join(d, `${f}.age`);
      writeFileSync(file, Buffer.concat(chunks));
      for (const k of [A, B]) {
        const r = runPeer('/usr/bin/age', ['-d', '-i', k.file, file]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.out).toBe(`the data key of ${f}`);
      }
      expect(runPeer('/usr/bin/age', ['-d', '-i', C.file, file]).code).not.toBe(0);
    }
  });
});

describe('set and edit on documents encrypted to recipients', () => {
  it('set -i: the value goes into the document under its data key; every other token and the header stay byte for byte', () => {
    const d = team();
    const before = read(d, '.env');
    const r = run(['set', '-i', A.file, '.env', 'DB_PASSWORD'], { cwd: d, input: 'changed\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\.env: DB_PASSWORD set, encrypted under the document's data key/);
    const after = read(d, '.env');
    const line = (t: string, name: string) => t.split('\n').find((l) => l.startsWith(`${name}=`));
    for (const name of ['API_TOKEN', 'DB_HOST', 'aesp_recipients']) expect(line(after, name)).toBe(line(before, name));
    expect(line(after, 'DB_PASSWORD')).not.toBe(line(before, 'DB_PASSWORD'));
    const v = run(['verify', '--strict', '-i', B.file, '.env'], { cwd: d });
    expect(v.code, v.stderr).toBe(0);
    expect(run(['decrypt', '-i', B.file, '.env'], { cwd: d }).out).toBe(ENV.replace('hunter2', 'changed'));
    // A nested YAML value, and a new value the fields-regex selects: encrypted.
    const y = run(['set', '--identity-env', 'ID', 'app.yaml', 'db.token'], { cwd: d, input: 'y-tok', env: { ID: readFileSync(B.file, 'utf8') } });
    expect(y.code, y.stderr).toBe(0);
    expect(read(d, 'app.yaml')).toMatch(/^ {2}token: aesp:2:A256GCM:/m);
    expect(run(['decrypt', '-i', A.file, 'app.yaml'], { cwd: d }).out).toContain('  token: y-tok\n');
  });

  it('set with public keys only (the rule\'s recipients, or -r): a pending value, said on stderr; verify names it; seal folds it in', () => {
    const d = team();
    const before = read(d, '.env');
    const r = run(['set', '.env', 'API_TOKEN'], { cwd: d, input: 'from-ci' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: \.env: API_TOKEN added as a pending value, sealed to the recipients .*\.aes-payload\.yaml \(line 2\) names with public keys only: it is not covered by the document MAC/);
    const after = read(d, '.env');
    // The body is untouched: only the pending line is new.
    expect(after.replace(/^aesp_pending=.*\n/m, '')).toBe(before);
    const v = run(['verify', '-i', A.file, '.env'], { cwd: d });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toMatch(/API_TOKEN is a pending value/);
    expect(run(['verify', '--strict', '-i', A.file, '.env'], { cwd: d }).code).toBe(1);
    expect(run(['decrypt', '-i', B.file, '.env'], { cwd: d }).out).toBe(ENV.replace('tok en', 'from-ci')); // the quoting of the document's own line
    // -r naming exactly the recipients does the same; anything else is refused and nothing is written.
    const s = run(['set', '-r', A.recipient, '-r', B.recipient, '.env', 'NEW_TOKEN'], { cwd: d, input: 'n' });
    expect(s.code, s.stderr).toBe(0);
    const bad = run(['set', '-r', A.recipient, '.env', 'NEW_TOKEN'], { cwd: d, input: 'n2' });
    expect(bad.code).toBe(2);
    expect(oneLineError(bad.stderr)).toMatch(/-r\/-R must name exactly the document's 2 recipients/);
    // What public keys cannot do: --plain, nested paths, non-string values, a symmetric key flag.
    for (const [args, want] of [
      [['--plain', '.env', 'X'], /--plain needs an identity here/],
      [['app.yaml', 'db.password'], /with public keys only, set takes a top-level name/],
      [['--value-json', 'app.yaml', 'port'], /a pending value is a string/],
      [['--key-env', 'K', '.env', 'X'], /encrypted to age recipients: give your identity .* not a symmetric key flag/],
    ] as const) {
      const x = run(['set', ...args], { cwd: d, input: '5', env: { K: 'a1'.repeat(32) } });
      expect(x.code, x.stderr).toBe(2);
      expect(oneLineError(x.stderr)).toMatch(want);
    }
    const sealed = run(['recipients', 'seal', '.env', '-i', A.file], { cwd: d });
    expect(sealed.code, sealed.stderr).toBe(0);
    expect(run(['verify', '--strict', '-i', B.file, '.env'], { cwd: d }).code).toBe(0);
  });

  it('set on a new document encrypts it to the rule\'s recipients; encrypt FILE with values appended after the header makes them pending', () => {
    const d = project(RULES(`[${A.recipient}, ${B.recipient}]`), { '.env': 'DB_HOST=h\n' });
    const r = run(['set', '.env', 'DB_PASSWORD'], { cwd: d, input: 'pw' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/DB_PASSWORD set, encrypted; the document is encrypted to 2 recipients named in .*\(line 2\)/);
    expect(listed(d, '.env')).toEqual([A.recipient, B.recipient]);
    expect(run(['decrypt', '-i', B.file, '.env'], { cwd: d }).out).toBe('DB_HOST=h\nDB_PASSWORD=pw\n');
    // A CI job with no identity appends a value the rules select, and runs encrypt: pending.
    writeFileSync(join(d, '.env'), `${read(d, '.env')}API_TOKEN=ci-token\n`);
    const e = inPlace(d, '.env');
    expect(e.code, e.stderr).toBe(0);
    expect(e.stderr).toMatch(/\.env: API_TOKEN sealed as a pending value to the recipients .* names \(public keys only\)/);
    expect(read(d, '.env')).not.toContain('ci-token');
    expect(run(['decrypt', '-i', A.file, '.env'], { cwd: d }).out).toBe('DB_HOST=h\nDB_PASSWORD=pw\nAPI_TOKEN=ci-token\n');
    // A value the rules do not select cannot be added without an identity: refused, nothing written.
    const doc = read(d, '.env');
    writeFileSync(join(d, '.env'), `${doc}DB_PORT=5432\n`);
    const x = run(['encrypt', '.env', '-o', '.env.out'], { cwd: d });
    expect(x.code).toBe(2);
    expect(oneLineError(x.stderr)).toMatch(/DB_PORT is appended after the recipients header, and the rules .* do not select it/);
  });

  it('edit -i on a document the rules wrote: edited values sealed under the same data key; without an identity it asks for one (exit 3)', () => {
    const d = team();
    const ed = join(d, 'ed.sh');
    writeFileSync(ed, '#!/bin/sh\nsed -i "s/^DB_HOST=.*/DB_HOST=db2/; s/^DB_PASSWORD=.*/DB_PASSWORD=new-pw/" "$1"\n');
    chmodSync(ed, 0o700);
    const before = read(d, '.env');
    const r = run(['edit', '-i', B.file, '.env'], { cwd: d, env: { EDITOR: ed } });
    expect(r.code, r.stderr).toBe(0);
    const after = read(d, '.env');
    const line = (t: string, name: string) => t.split('\n').find((l) => l.startsWith(`${name}=`));
    expect(line(after, 'aesp_recipients')).toBe(line(before, 'aesp_recipients'));
    expect(line(after, 'API_TOKEN')).toBe(line(before, 'API_TOKEN'));
    expect(run(['decrypt', '-i', A.file, '.env'], { cwd: d }).out).toBe(ENV.replace('hunter2', 'new-pw').replace('db.local', 'db2'));
    const no = run(['edit', '.env'], { cwd: d, env: { EDITOR: ed } });
    expect(no.code).toBe(3);
    expect(oneLineError(no.stderr)).toMatch(/encrypted to age recipients: give your identity with -i/);
  });
});

describe('third review, finding 4: a new document to a rule\'s recipients that leave out your identity', () => {
  it('set -i and encrypt -i say so in a warning naming the recipients; with your identity among them, no warning', () => {
    const rules = RULES(`[${C.recipient}]`);
    const d1 = project(rules, { '.env': ENV });
    const s = run(['set', '-i', A.file, '.env', 'DB_PASSWORD'], { cwd: d1, input: 's3cret' });
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toContain(`none of the identities given (-i, --identity-env) is among the recipients named in ${join(d1, '.aes-payload.yaml')} (line 2) (${C.recipient.slice(0, 16)}…): you will not be able to read the new document`);
    const d2 = project(rules, { '.env': ENV });
    const e = run(['encrypt', '-i', A.file, '.env', '-o', '.env.out'], { cwd: d2 });
    expect(e.code, e.stderr).toBe(0);
    expect(e.stderr).toMatch(/none of the identities given .* you will not be able to read the new document/);
    const d3 = project(rules, { '.env': ENV });
    const own = run(['set', '-i', C.file, '.env', 'DB_PASSWORD'], { cwd: d3, input: 's3cret' });
    expect(own.code, own.stderr).toBe(0);
    expect(own.stderr).not.toMatch(/none of the identities/);
  });

});

describe('a rules file never changes the recipients of an existing document', () => {
  it('a rule that adds an attacker\'s recipient: encrypt -i, set -i and edit keep the document\'s list (a warning); public-key writers are refused', () => {
    const d = team();
    // A merged branch adds C to the rule of .env.
    writeFileSync(join(d, '.aes-payload.yaml'), RULES(`[${A.recipient}, ${B.recipient}, ${C.recipient}]`));
    const set = run(['set', '-i', A.file, '.env', 'DB_PASSWORD'], { cwd: d, input: 'next' });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stderr).toMatch(/warning: \.env is encrypted to 2 recipients, and .* names 3 \(1 not in the document, 0 of the document's not named\): the document's recipients are kept; a rules file never changes them: use aes-payload recipients add\|remove/);
    writeFileSync(join(d, 'x.sh'), '#!/bin/sh\nsed -i "s/^DB_HOST=.*/DB_HOST=db3/" "$1"\n');
    chmodSync(join(d, 'x.sh'), 0o700);
    const ed = run(['edit', '-i', A.file, '.env'], { cwd: d, env: { EDITOR: join(d, 'x.sh') } });
    expect(ed.code, ed.stderr).toBe(0);
    expect(ed.stderr).toMatch(/the document's recipients are kept/);
    const enc = inPlace(d, '.env', ['-i', B.file]);
    expect(enc.code, enc.stderr).toBe(0);
    expect(enc.stderr).toMatch(/the document's recipients are kept/);
    expect(listed(d, '.env')).toEqual([A.recipient, B.recipient]);
    const c = run(['decrypt', '-i', C.file, '.env'], { cwd: d });
    expect(c.code).toBe(1);
    expect(c.out).toBe('');
    // With public keys only, the rule's list must be the document's: refused, nothing written.
    const before = read(d, '.env');
    const p = run(['set', '.env', 'API_TOKEN'], { cwd: d, input: 'ci' });
    expect(p.code, p.stderr).toBe(2);
    expect(oneLineError(p.stderr)).toMatch(/names other recipients: with public keys only, a value is sealed only to recipients that both name/);
    writeFileSync(join(d, '.env'), `${before}API_TOKEN=ci\n`);
    const q = run(['encrypt', '.env', '-o', '.env.out'], { cwd: d });
    expect(q.code).toBe(2);
    expect(oneLineError(q.stderr)).toMatch(/names other recipients/);
    expect(read(d, '.env')).toBe(`${before}API_TOKEN=ci\n`);
  });

  it('a symmetric document keeps its key when a rule names recipients (a warning); -i/-r on it are refused', () => {
    const d = project(RULES(`[${A.recipient}]`), { '.env': ENV });
    expect(inPlace(d, '.env', ['--key-file', 'k']).code).toBe(0);
    const before = read(d, '.env');
    const s = run(['set', '--key-file', 'k', '.env', 'DB_PASSWORD'], { cwd: d, input: 'x' });
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/\.env is encrypted under a symmetric key; the recipients .* names apply to new documents only/);
    expect(read(d, '.env')).not.toContain('aesp_recipients');
    expect(read(d, '.env')).not.toBe(before);
    const r = run(['set', '-r', A.recipient, '.env', 'DB_PASSWORD'], { cwd: d, input: 'x' });
    expect(r.code).toBe(2);
    expect(oneLineError(r.stderr)).toMatch(/encrypted under a symmetric key: -r\/-R and -i apply to documents encrypted to age recipients/);
    const e = run(['encrypt', '.env', '-r', A.recipient], { cwd: d });
    expect(e.code).toBe(2);
    expect(oneLineError(e.stderr)).toMatch(/encrypted under a symmetric key: -r\/-R and -i apply/);
  });
});

describe('the git drivers\' identity variables', () => {
  it('exec and edit never pass AES_PAYLOAD_IDENTITY or AES_PAYLOAD_IDENTITY_FILE on; other commands do not read them (they take -i)', () => {
    const d = team();
    const env = { AES_PAYLOAD_IDENTITY: readFileSync(A.file, 'utf8'), AES_PAYLOAD_IDENTITY_FILE: A.file };
    const e = run(['exec', '-f', '.env', '-i', A.file, '--', 'sh', '-c', 'printf "%s|%s|%s" "${AES_PAYLOAD_IDENTITY-unset}" "${AES_PAYLOAD_IDENTITY_FILE-unset}" "$DB_PASSWORD"'], { cwd: d, env });
    expect(e.code, e.stderr).toBe(0);
    expect(e.out).toBe('unset|unset|hunter2');
    const ed = join(d, 'env.sh');
    writeFileSync(ed, `#!/bin/sh\nprintf "%s|%s" "\${AES_PAYLOAD_IDENTITY-unset}" "\${AES_PAYLOAD_IDENTITY_FILE-unset}" > ${join(d, 'seen')}\n`);
    chmodSync(ed, 0o700);
    expect(run(['edit', '-i', A.file, '.env'], { cwd: d, env: { ...env, EDITOR: ed } }).code).toBe(0);
    expect(read(d, 'seen')).toBe('unset|unset');
    const r = run(['decrypt', '.env'], { cwd: d, env });
    expect(r.code).toBe(3);
    expect(oneLineError(r.stderr)).toMatch(/give your identity with -i IDENTITY_FILE or --identity-env NAME/);
    expect(run(['decrypt', '--identity-env', 'AES_PAYLOAD_IDENTITY', '.env'], { cwd: d, env }).out).toBe(ENV);
  });
});
