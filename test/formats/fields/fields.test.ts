// Field-level encryption, line mode, keyrings, rotate and verify for CI,
// through the built CLI; plus a Python token decoder written from the spec.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUTH_FAILED_MESSAGE } from '../../../src/errors.js';
import { keyId } from '../../../src/keys/kid.js';
import { PYTHON, ROOT, oneLineError, run, runPeer, tempDir } from '../../helpers.js';

const dir = tempDir();
const key = randomBytes(32);
const KEY = key.toString('hex');
const env = { AES_PAYLOAD_KEY: KEY };
const kid = keyId(key);
let n = 0;
const file = (text: string, name = `f${n++}.json`) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const TOKEN = /"aesp:2:A256GCM:[0-9a-f]{16}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]*:[A-Za-z0-9_-]{22}"/;

const DOC = `{
    "id": 7,
    "card": {"number": "4111 1111 1111 1111", "exp": "12/29"},
    "users": [
        {"name": "ädä", "ssn": "123-45-6789"},
        {"name": "b", "ssn": 987654321}
    ],
    "big": 123456789012345678901234567890,
    "price": 12.50,
    "flags": [true, false, null],
    "db": {"password": "hunter2", "replica": {"password": {"user": "r", "pw": "x"}}},
    "odd.key": {"x": 1},
    "ключ": "значение"
}
`;
const PATHS = 'card.number,users[*].ssn,big,price,flags,**.password,["odd.key"],ключ';

function enc(text: string, paths: string, extra: string[] = []): { out: string; stderr: string } {
  const r = run(['encrypt', '--fields', paths, ...extra], { env, input: text });
  expect(r.code, r.stderr).toBe(0);
  return { out: r.out, stderr: r.stderr };
}

describe('field-level encryption', () => {
  it('round trips every JSON type and path form, byte for byte', () => {
    const { out, stderr } = enc(DOC, PATHS);
    expect(stderr).toBe(`encrypted 10 values, kid ${kid}\n`);
    // unselected values, key order and indentation are untouched
    expect(out).toContain('\n    "id": 7,\n    "card": {"number": "aesp:2:');
    expect(out).toContain('"exp": "12/29"}');
    expect(out).toContain('{"name": "ädä", "ssn": "aesp:2:');
    // the document header goes last, in the document's own style
    expect(out).toMatch(/"ключ": "aesp:2:[^"]+",\n    "aesp": "aesp:2:doc:all:[0-9a-f]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]{43}"\n}\n$/);
    expect(out).not.toMatch(/4111|123-45|987654321|1234567890123|12\.50|hunter2|значение/);
    expect(out.match(new RegExp(TOKEN.source, 'g'))?.length).toBe(10);
    const d = run(['decrypt'], { env, input: out });
    expect(d.code, d.stderr).toBe(0);
    expect(d.out).toBe(DOC);
    expect(d.stderr).toBe('decrypted 10 fields\n');
  });

  it('--fields on decrypt decrypts only those paths', () => {
    const { out } = enc(DOC, PATHS);
    const d = run(['decrypt', '--fields', 'card.number'], { env, input: out });
    expect(d.out).toContain('"number": "4111 1111 1111 1111"');
    expect(d.out).not.toContain('hunter2');
  });

  it('is idempotent: a second run changes nothing and says so', () => {
    const once = enc(DOC, PATHS).out;
    const twice = enc(once, PATHS);
    expect(twice.out).toBe(once);
    expect(twice.stderr).toBe(`encrypted 0 values (10 already encrypted), kid ${kid}\n`);
  });

  it('a token moved to another path fails to authenticate (exit 1)', () => {
    const out = enc('{"a":"secret","b":"other"}', 'a,b').out;
    const o = JSON.parse(out) as Record<string, string>;
    const swapped = JSON.stringify({ a: o.b, b: o.a, aesp: o.aesp });
    const r = run(['decrypt'], { env, input: swapped });
    expect(r.code).toBe(1);
    expect(oneLineError(r.stderr)).toBe(`aes-payload: ${AUTH_FAILED_MESSAGE} (kid ${kid} matches, but the data was altered)`);
    expect(r.out).toBe('');
    const moved = JSON.stringify({ a: 'x', c: { a: o.a } });
    expect(run(['decrypt'], { env, input: moved }).code).toBe(1);
  });

  it('a path that matches nothing exits 4 unless --allow-missing', () => {
    const r = run(['encrypt', '--fields', 'nope.x'], { env, input: '{"a":1}' });
    expect(r.code).toBe(4);
    expect(oneLineError(r.stderr)).toBe('aes-payload: field path nope.x matches nothing (pass --allow-missing to allow that)');
    const ok = run(['encrypt', '--fields', 'nope.x,a', '--allow-missing'], { env, input: '{"a":1}' });
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^\{"a":"aesp:2:/);
  });

  it('invalid JSON exits 4 with line and column; bad paths exit 2', () => {
    const r = run(['encrypt', '--fields', 'a'], { env, input: '{\n  "a": 1,\n  "b": tru\n}' });
    expect(r.code).toBe(4);
    expect(oneLineError(r.stderr)).toBe('aes-payload: input is not valid JSON: unexpected character at line 3, column 8');
    const dup = run(['encrypt', '--fields', 'a'], { env, input: '{"a":1,"a":2}' });
    expect(oneLineError(dup.stderr)).toMatch(/duplicate key at line 1, column 8/);
    for (const bad of ['a..b', 'a[x]', 'a["b', '**']) {
      const b = run(['encrypt', '--fields', bad], { env, input: '{"a":1}' });
      expect(b.code, bad).toBe(2);
      expect(oneLineError(b.stderr)).toMatch(/field path/);
    }
  });

  it('a Python decoder written from docs/FORMAT.md §10 decrypts the tokens', () => {
    const { out } = enc(DOC, PATHS);
    const r = runPeer(PYTHON, [join(ROOT, 'test/interop/token_decode.py'), KEY], out);
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse(r.out) as Record<string, string>;
    expect(got['["card","number"]']).toBe('"4111 1111 1111 1111"');
    expect(got['["users",1,"ssn"]']).toBe('987654321');
    expect(got['["big"]']).toBe('123456789012345678901234567890');
    expect(got['["price"]']).toBe('12.50');
    expect(got['["flags"]']).toBe('[true, false, null]');
    expect(got['["db","replica","password"]']).toBe('{"user": "r", "pw": "x"}');
    expect(got['["ключ"]']).toBe('"значение"');
    expect(Object.keys(got).length).toBe(10);
    // and it rejects a moved token too
    const o = JSON.parse(out) as { card: { number: string; exp: string } };
    o.card.exp = o.card.number;
    expect(runPeer(PYTHON, [join(ROOT, 'test/interop/token_decode.py'), KEY], JSON.stringify(o)).code).toBe(1);
    // a changed plaintext value fails its MAC check as well (mode all)...
    expect(runPeer(PYTHON, [join(ROOT, 'test/interop/token_decode.py'), KEY], out.replace('"id": 7', '"id": 8')).code).toBe(1);
    // ...but not in mode enc, whose MAC covers the tokens only
    const encOnly = enc(DOC, PATHS, ['--mac-only-encrypted']).out;
    const r2 = runPeer(PYTHON, [join(ROOT, 'test/interop/token_decode.py'), KEY], encOnly.replace('"id": 7', '"id": 8'));
    expect(r2.code, r2.stderr).toBe(0);
    expect(Object.keys(JSON.parse(r2.out) as object).length).toBe(10);
  });
});

describe('line mode', () => {
  const lines = ['{"id":1,"ssn":"a"}', '{"id":2,"ssn":"b"}', '', 'not json', '{"id":3,"ssn":"c"}', '{"id":4}'];
  const input = `${lines.join('\n')}\n`;

  it('envelopes per line, order kept, empty lines kept', () => {
    const e = run(['encrypt', '--lines'], { env, input });
    expect(e.code, e.stderr).toBe(0);
    const out = e.out.split('\n');
    expect(out.length).toBe(lines.length + 1);
    expect(out[2]).toBe('');
    const d = run(['decrypt', '--lines'], { env, input: e.out });
    expect(d.code).toBe(0);
    expect(d.out).toBe(input);
  });

  it('bad lines in the middle are reported with their number and do not stop the rest', () => {
    const e = run(['encrypt', '--lines', '--fields', 'ssn'], { env, input });
    expect(e.code).toBe(4);
    expect(e.stderr.split('\n').filter(Boolean)).toEqual([
      'aes-payload: line 4: input is not valid JSON: unexpected character at line 1, column 1',
      'aes-payload: line 6: field path ssn matches nothing (pass --allow-missing to allow that)',
      '6 lines, 2 failed',
      'encrypted 3 values',
    ]);
    const out = e.out.split('\n');
    expect(out.length).toBe(5); // 4 good or empty lines + final newline
    expect(out[0]).toMatch(/^\{"id":1,"ssn":"aesp:2:[^"]+","aesp":"aesp:2:doc:/);
    expect(out[3]).toMatch(/^\{"id":3,"ssn":"aesp:2:[^"]+","aesp":"aesp:2:doc:/);
    const d = run(['decrypt', '--lines'], { env, input: e.out });
    expect(d.out).toBe(`${lines[0]}\n${lines[1]}\n\n${lines[4]}\n`);
  });

  it('--fail-fast stops at the first bad line; CRLF input works', () => {
    const e = run(['encrypt', '--lines', '--fields', 'ssn', '--fail-fast'], { env, input });
    expect(e.code).toBe(4);
    expect(e.out.split('\n').length).toBe(4);
    expect(e.stderr).toContain('line 4:');
    expect(e.stderr).not.toContain('line 6:');
    const crlf = run(['encrypt', '--lines'], { env, input: 'a\r\nb\r\n' });
    expect(run(['decrypt', '--lines'], { env, input: crlf.out }).out).toBe('a\nb\n');
  });

  it('a tampered line fails alone (exit 1); with -o no file is written', () => {
    const e = run(['encrypt', '--lines'], { env, input: 'one\ntwo\nthree\n' }).out.split('\n');
    e[1] = e[1]!.replace(/"mac":"./, (m) => (m.endsWith('A') ? m.slice(0, -1) + 'B' : m.slice(0, -1) + 'A'));
    const d = run(['decrypt', '--lines'], { env, input: e.join('\n') });
    expect(d.code).toBe(1);
    expect(d.out).toBe('one\nthree\n');
    expect(d.stderr).toBe(`aes-payload: line 2: ${AUTH_FAILED_MESSAGE} (kid ${kid} matches, but the data was altered)\n3 lines, 1 failed\n`);
    const out = join(dir, 'lines.out');
    const f = run(['decrypt', '--lines', '-o', out], { env, input: e.join('\n') });
    expect(f.code).toBe(1);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((x) => x.endsWith('.tmp'))).toEqual([]);
  });

  it('keeps memory bounded: 40 MB of lines through a pipe', () => {
    const big = `${'{"n":"0123456789012345678901234567890123456789012345678901234567890123456789"}\n'.repeat(500_000)}`;
    const e = run(['encrypt', '--lines', '--format', 'raw'], { env, input: big });
    expect(e.code).toBe(0);
    expect(e.out.split('\n').length).toBe(500_001);
  });
});

describe('keyring', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  const ringJson = file(JSON.stringify({ primary: 'new', keys: { old: k1.toString('hex'), new: k2.toString('hex') } }), 'ring.json');
  const ringIni = file(`[keyring]\nprimary = ${keyId(k2)}\n${keyId(k1)} = ${k1.toString('hex')}\n${keyId(k2)} = ${k2.toString('base64')}\n`, 'ring.ini');
  const noKey = { AES_PAYLOAD_KEY: undefined };

  it('encrypts with the primary key and decrypts by the kid in the input (JSON and .ini)', () => {
    const old = run(['encrypt'], { env: { AES_PAYLOAD_KEY: k1.toString('hex') }, input: 'old' }).out;
    const oldFields = run(['encrypt', '--fields', 'a'], { env: { AES_PAYLOAD_KEY: k1.toString('hex') }, input: '{"a":1}' }).out;
    for (const ring of [ringJson, ringIni]) {
      const e = run(['encrypt', '--keyring', ring], { env: noKey, input: 'new' });
      expect(e.code, e.stderr).toBe(0);
      expect(JSON.parse(e.out).kid).toBe(keyId(k2));
      expect(run(['decrypt', '--keyring', ring], { input: e.out }).out).toBe('new');
      expect(run(['decrypt', '--keyring', ring], { input: old }).out).toBe('old');
      expect(run(['decrypt', '--keyring', ring], { input: oldFields }).out).toBe('{"a":1}');
      expect(run(['verify', '--keyring', ring, file(old)]).code).toBe(0);
    }
    // env AES_PAYLOAD_KEYRING holds the keyring text itself
    expect(run(['decrypt'], { env: { AES_PAYLOAD_KEYRING: readFileSync(ringJson, 'utf8') }, input: old }).out).toBe('old');
  });

  it('an unknown kid exits 3 and says so', () => {
    const other = run(['encrypt'], { env: { AES_PAYLOAD_KEY: randomBytes(32).toString('hex') }, input: 'x' }).out;
    const r = run(['decrypt', '--keyring', ringJson], { input: other });
    expect(r.code).toBe(3);
    expect(oneLineError(r.stderr)).toMatch(new RegExp(`^aes-payload: kid ${JSON.parse(other).kid} is not in the keyring \\(keyring .*ring.json; it has ${keyId(k1)}, ${keyId(k2)}\\)$`));
  });

  it('malformed keyrings exit 3', () => {
    const cases = [
      ['{"keys":{"a":"00"}}', /keyring entry #1/],
      [`{"keys":{"a":"${k1.toString('hex')}","b":"${k2.toString('hex')}"}}`, /names no primary/],
      [`{"primary":"zz","keys":{"a":"${k1.toString('hex')}"}}`, /primary is not one of its labels or kids/],
      [`{"primary":"a","keys":{"${keyId(k2)}":"${k1.toString('hex')}"}}`, /holds the key whose kid is/],
    ] as const;
    for (const [text, re] of cases) {
      const r = run(['encrypt', '--keyring', file(text)], { input: 'x' });
      expect(r.code).toBe(3);
      expect(oneLineError(r.stderr)).toMatch(re);
    }
  });
});

describe('rotate', () => {
  it('re-encrypts envelopes, raw, JWE and field documents atomically, reporting old kid → new kid', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const o = { AES_PAYLOAD_KEY: oldKey.toString('hex'), NEW_KEY: newKey.toString('hex') };
    const files = {
      env: run(['encrypt', '--aad', 'ctx'], { env: o, input: 'envelope' }).out,
      raw: run(['encrypt', '--format', 'raw'], { env: o, input: 'raw' }).out,
      jwe: run(['encrypt', '--format', 'jwe', '--wrap', 'A256KW'], { env: o, input: 'jwe' }).out,
      fields: run(['encrypt', '--fields', 'a.b'], { env: o, input: '{\n  "a": {"b": "field"},\n  "c": 1\n}\n' }).out,
    };
    const paths = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, file(v, `rot-${k}`)]));
    chmodSync(paths.env!, 0o640);
    const r = run(['rotate', '--to-key-env', 'NEW_KEY', ...Object.values(paths)], { env: o });
    expect(r.code, r.stderr).toBe(0);
    for (const p of Object.values(paths)) expect(r.stderr).toContain(`OK ${p}: ${keyId(oldKey)} → ${keyId(newKey)}`);
    const n2 = { AES_PAYLOAD_KEY: newKey.toString('hex') };
    expect(run(['decrypt', '--aad', 'ctx', paths.env!], { env: n2 }).out).toBe('envelope');
    expect(run(['decrypt', '--format', 'raw', paths.raw!], { env: n2 }).out).toBe('raw');
    expect(run(['decrypt', paths.jwe!], { env: n2 }).out).toBe('jwe');
    expect(run(['decrypt', paths.fields!], { env: n2 }).out).toBe('{\n  "a": {"b": "field"},\n  "c": 1\n}\n');
    for (const p of Object.values(paths)) expect(run(['decrypt', p], { env: o }).code).not.toBe(0);
    expect(statSync(paths.env!).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // no plaintext was ever written next to the files
    for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).includes('envelope')).toBe(false);
  });

  it('a file that does not decrypt is left untouched (exit 1) while the others rotate', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    const good = file(run(['encrypt'], { env: { AES_PAYLOAD_KEY: a.toString('hex') }, input: 'g' }).out);
    const foreign = run(['encrypt'], { env: { AES_PAYLOAD_KEY: randomBytes(32).toString('hex') }, input: 'f' }).out;
    const bad = file(foreign);
    const r = run(['rotate', '--to-key-env', 'B', bad, good], { env: { AES_PAYLOAD_KEY: a.toString('hex'), B: b.toString('hex') } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`aes-payload: FAIL ${bad}: ${AUTH_FAILED_MESSAGE}`);
    expect(readFileSync(bad, 'utf8')).toBe(foreign);
    expect(run(['decrypt', good], { env: { AES_PAYLOAD_KEY: b.toString('hex') } }).out).toBe('g');
  });

  it('--to-primary with a keyring', () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const ring = file(JSON.stringify({ primary: 'b', keys: { a: k1.toString('hex'), b: k2.toString('hex') } }));
    const f = file(run(['encrypt'], { env: { AES_PAYLOAD_KEY: k1.toString('hex') }, input: 'p' }).out);
    const r = run(['rotate', '--keyring', ring, '--to-primary', f]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(f, 'utf8')).kid).toBe(keyId(k2));
    expect(run(['rotate', '--to-key-env', 'X', f]).code).toBe(3);
    expect(run(['rotate', f], { env }).code).toBe(2);
  });
});

describe('verify for CI', () => {
  const encrypted = file(enc('{"db":{"password":"p"},"name":"svc"}', 'db.password').out);
  const plain = file('{"db":{"password":"p"},"name":"svc"}');
  const whole = file(run(['encrypt'], { env, input: 'x' }).out);

  it('authenticates every token; --require finds plaintext secrets (exit 4)', () => {
    const ok = run(['verify', '--require', '**.password', encrypted, whole], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toBe(`OK ${encrypted} 1 field ${kid}\nOK ${whole} A256GCM ${kid}\n`);
    const bad = run(['verify', '--require', '**.password', plain, encrypted], { env });
    expect(bad.code).toBe(4);
    expect(bad.stderr).toBe(`aes-payload: FAIL ${plain}: plaintext at ["db","password"]\nOK ${encrypted} 1 field ${kid}\n`);
  });

  it('a required path that matches nothing fails; a wrong key exits 1', () => {
    expect(run(['verify', '--require', 'api.token', encrypted], { env }).stderr).toContain('--require api.token matches nothing');
    expect(run(['verify', encrypted], { env: { AES_PAYLOAD_KEY: randomBytes(32).toString('hex') } }).code).toBe(1);
  });

  it('--no-key checks structure only, like sops filestatus', () => {
    const r = run(['verify', '--no-key', '--require', '**.password', encrypted, whole]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('(structure only)');
    expect(run(['verify', '--no-key', '--require', '**.password', plain]).code).toBe(4);
    const junk = file('{"v":1,"nonce":"!!"}');
    expect(run(['verify', '--no-key', junk]).code).toBe(4);
    expect(run(['verify', '--no-key', '--key-env', 'X', whole]).code).toBe(2);
  });

  it('--json gives a machine-readable report', () => {
    const r = run(['verify', '--json', '--require', '**.password', encrypted, plain], { env });
    expect(r.code).toBe(4);
    expect(JSON.parse(r.out)).toEqual([
      { file: encrypted, ok: true, format: 'fields', alg: null, wrap: null, kid, error: null, tokens: 1 },
      { file: plain, ok: false, format: 'fields', alg: null, wrap: null, kid: null, error: 'plaintext at ["db","password"]', tokens: 0 },
    ]);
  });

  it('--key-check --expect-kid tells whether the right key is configured', () => {
    const ok = run(['verify', '--key-check', '--expect-kid', kid], { env });
    expect(ok.code).toBe(0);
    expect(ok.out).toBe(`${kid}\n`);
    const bad = run(['verify', '--key-check', '--expect-kid', '0000000000000000'], { env });
    expect(bad.code).toBe(3);
    expect(oneLineError(bad.stderr)).toBe(`aes-payload: the key from env AES_PAYLOAD_KEY has kid ${kid}, not the expected 0000000000000000`);
  });
});

describe('keyring with streams and JWE', () => {
  it('picks the key by the stream header kid and the JWE kid', () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const ring = file(JSON.stringify({ primary: 'b', keys: { a: k1.toString('hex'), b: k2.toString('hex') } }));
    const old = { AES_PAYLOAD_KEY: k1.toString('hex') };
    const stream = run(['encrypt', '--format', 'stream'], { env: old, input: 'streamed' }).stdout;
    const jwe = run(['encrypt', '--format', 'jwe', '--wrap', 'A256GCMKW'], { env: old, input: 'jwe' }).out;
    expect(run(['decrypt', '--keyring', ring], { input: stream }).out).toBe('streamed');
    expect(run(['decrypt', '--keyring', ring], { input: jwe }).out).toBe('jwe');
    const streamFile = join(dir, 'ring-stream.aesp');
    writeFileSync(streamFile, stream);
    expect(run(['verify', '--keyring', ring, streamFile]).code).toBe(0);
    const foreign = run(['encrypt', '--format', 'stream'], { env: { AES_PAYLOAD_KEY: randomBytes(32).toString('hex') }, input: 'x' }).stdout;
    const r = run(['decrypt', '--keyring', ring], { input: foreign });
    expect(r.code).toBe(3);
    expect(oneLineError(r.stderr)).toMatch(/is not in the keyring/);
  });
});
