import { describe, expect, it } from 'vitest';
import { findIniValue, upsertIniValue } from '../../src/keys/ini.js';
import { decodeKey } from '../../src/keys/decode.js';
import { KeyError } from '../../src/errors.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PYTHON, oneLineError, run, runPeer, tempDir } from '../helpers.js';

describe('.ini reading', () => {
  it('finds a key at the top level or in one section', () => {
    expect(findIniValue('SECRET_KEY = ab\n', 'SECRET_KEY', undefined, 'f')).toEqual({ value: 'ab', section: '' });
    expect(findIniValue('[app:main]\nSECRET_KEY = "ab"\n', 'SECRET_KEY', undefined, 'f')).toEqual({ value: 'ab', section: 'app:main' });
    expect(findIniValue('[a.b]\nSECRET_KEY = ab\n', 'SECRET_KEY', 'a.b', 'f').value).toBe('ab');
  });
  it('refuses ambiguity and absence', () => {
    expect(() => findIniValue('SECRET_KEY=a\n[s]\nSECRET_KEY=b\n', 'SECRET_KEY', undefined, 'f')).toThrow(/2 places/);
    expect(findIniValue('SECRET_KEY=a\n[s]\nSECRET_KEY=b\n', 'SECRET_KEY', '', 'f').value).toBe('a');
    expect(() => findIniValue('[s]\nX=1\n', 'SECRET_KEY', undefined, 'f')).toThrow(KeyError);
  });
});

describe('.ini writing', () => {
  it('replaces only the key line', () => {
    const t = '; c\n[app:main]\n  SECRET_KEY=old ; x\nz = 1\n';
    expect(upsertIniValue(t, 'app:main', 'SECRET_KEY', 'new')).toEqual({ text: '; c\n[app:main]\nSECRET_KEY = new\nz = 1\n', replaced: true });
  });
  it('adds to a section without a final newline, and to the top level', () => {
    expect(upsertIniValue('[app:main]\nx = 1', 'app:main', 'K', 'v').text).toBe('[app:main]\nx = 1\nK = v\n');
    expect(upsertIniValue('a = 1\n\n[s]\nb = 2\n', '', 'K', 'v').text).toBe('a = 1\nK = v\n\n[s]\nb = 2\n');
    expect(upsertIniValue('[s]\nK = 1\n', 'app:main', 'K', 'v').text).toBe('[s]\nK = 1\n\n[app:main]\nK = v\n');
  });
});

describe('key decoding', () => {
  const k = Buffer.alloc(32, 7);
  it('auto: hex of the allowed lengths, else base64/base64url', () => {
    expect(decodeKey(Buffer.from(k.toString('hex') + '\n'), 'auto').equals(k)).toBe(true);
    expect(decodeKey(Buffer.from(k.toString('base64')), 'auto').equals(k)).toBe(true);
    expect(decodeKey(Buffer.from(k.toString('base64url')), 'auto').equals(k)).toBe(true);
    expect(decodeKey(Buffer.from(k.toString('base64').replace(/=+$/, '')), 'auto').equals(k)).toBe(true);
    expect(() => decodeKey(Buffer.from(k.toString('hex').slice(2)), 'auto')).toThrow(KeyError);
    expect(() => decodeKey(Buffer.from('\n'), 'auto')).toThrow(/empty/);
  });
  it('strips exactly one trailing newline', () => {
    expect(() => decodeKey(Buffer.from(k.toString('hex') + '\n\n'), 'auto')).toThrow(/white space/);
    expect(decodeKey(Buffer.from('0123456789abcdef0123456789abcdef\r\n'), 'utf8').toString()).toBe('0123456789abcdef0123456789abcdef');
  });
  it('rejects non-canonical base64', () => {
    const s = Buffer.alloc(16, 1).toString('base64'); // ends in "Q=="
    expect(() => decodeKey(Buffer.from(s.replace('Q==', 'R==')), 'base64')).toThrow(KeyError);
  });
});

describe('kid', () => {
  it('matches the example in docs/FORMAT.md', async () => {
    const { keyId } = await import('../../src/keys/kid.js');
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');
    const documented = /all zero bytes has kid `([0-9a-f]{16})`/.exec(doc)![1];
    expect(keyId(Buffer.alloc(32))).toBe(documented);
  });
});

// Review 20.2/20.3: the seeds' services read development.ini with Python's
// configparser; what it reads (and refuses) is the judge.
describe('.ini as Python configparser reads it (review 20.2, 20.3)', () => {
  const hexKey = 'ab'.repeat(32);
  const py = (text: string, section: string, name: string): { ok?: string; error?: string } => {
    const code = 'import configparser,json,sys\nd=json.load(sys.stdin)\nc=configparser.ConfigParser()\ntry:\n  c.read_string(d["t"])\n  print(json.dumps({"ok":c[d["s"]][d["n"]]}))\nexcept Exception as e:\n  print(json.dumps({"error":type(e).__name__}))\n';
    const r = runPeer(PYTHON, ['-c', code], JSON.stringify({ t: text, s: section, n: name }));
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.out);
  };
  const cases = [
    `[app:main]\nSECRET_KEY: ${hexKey}\n`,
    `[app:main]\nsecret_key = ${hexKey}\n`,
    `[app:main]\nSecret_Key=${hexKey}\n; SECRET_KEY = commented\n# SECRET_KEY = also\n`,
    `[app:main]\nurl = http://h:1/x\nSECRET_KEY\t:\t${hexKey}\n[server:main]\nport = 6543\n`,
    `[DEFAULT]\nSECRET_KEY = ${hexKey}\n[app:main]\nuse = egg:x\n`,
    `[app:main]\nx = 1\n  continued = 2\nSECRET_KEY = ${hexKey}\n`,
    `[app:main]\r\nSECRET_KEY = ${hexKey}\r\n`,
  ];
  it('reads the value configparser reads (":" delimiter, any case, comments, [DEFAULT], continuation lines)', () => {
    for (const t of cases) {
      const want = py(t, 'app:main', 'SECRET_KEY');
      expect(want.ok, t).toBe(hexKey);
      expect(findIniValue(t, 'SECRET_KEY', 'app:main', 'f').value, t).toBe(want.ok);
      expect(findIniValue(t, 'SECRET_KEY', undefined, 'f').value, t).toBe(want.ok);
    }
  });
  it('the CLI reads SECRET_KEY: and secret_key = (exit 0), as the Python service does', () => {
    const dir = tempDir();
    const enc = run(['encrypt'], { input: 'hi', env: { AES_PAYLOAD_KEY: hexKey } });
    expect(enc.code, enc.stderr).toBe(0);
    for (const [i, t] of cases.slice(0, 2).entries()) {
      const f = join(dir, `d${i}.ini`);
      writeFileSync(f, t, { mode: 0o600 });
      const d = run(['decrypt', '--ini', f], { input: enc.out });
      expect(d.code, d.stderr).toBe(0);
      expect(d.out).toBe('hi');
    }
  });
  it('keygen replaces a key written "secret_key: old" instead of adding a second one (configparser: DuplicateOptionError)', () => {
    const dir = tempDir();
    const f = join(dir, 'development.ini');
    writeFileSync(f, `[app:main]\nuse = egg:x\nsecret_key: ${'00'.repeat(32)}\n`, { mode: 0o600 });
    const r = run(['keygen', '--ini', f, '--force']);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(f, 'utf8');
    const got = py(text, 'app:main', 'SECRET_KEY');
    expect(got.error).toBeUndefined();
    expect(got.ok).toMatch(/^[0-9a-f]{64}$/);
    expect(got.ok).not.toBe('00'.repeat(32));
  });
  it('keygen --ini-section "" refuses a file with sections (configparser: MissingSectionHeaderError), leaving it as it was', () => {
    const dir = tempDir();
    const f = join(dir, 'development.ini');
    const pyramid = `###\n# app configuration\n###\n\n[app:main]\nuse = egg:aes_service\nSECRET_KEY = ${hexKey}\n\n[server:main]\nuse = egg:waitress#main\n`;
    writeFileSync(f, pyramid, { mode: 0o600 });
    const r = run(['keygen', '--ini', f, '--ini-section', '', '--ini-key', 'OTHER']);
    expect(r.code).toBe(2);
    expect(oneLineError(r.stderr)).toMatch(/configparser.*--ini-section/);
    expect(readFileSync(f, 'utf8')).toBe(pyramid);
    expect(py(pyramid, 'app:main', 'SECRET_KEY').ok).toBe(hexKey);
    // what it would have written is indeed unreadable there
    expect(py(`OTHER = x\n${pyramid}`, 'app:main', 'SECRET_KEY').error).toBe('MissingSectionHeaderError');
  });
});
