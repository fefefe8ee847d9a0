import { describe, expect, it } from 'vitest';
import { findIniValue, upsertIniValue } from '../../src/keys/ini.js';
import { decodeKey } from '../../src/keys/decode.js';
import { KeyError } from '../../src/errors.js';

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
