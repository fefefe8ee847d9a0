// Attack class 1 (and 7): format detection. JSON that only looks like an
// encrypted input must never be "decrypted" or "OK": auto mode decides by
// structure, and a document with no authenticated content exits 4, with or
// without a key configured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli, enc, refused, workspace } from './attack.js';

const { file } = workspace();

// Each of these carries the token prefix somewhere other than a token value,
// or is plain JSON: none holds anything that authenticates.
const FORGED: [string, string][] = [
  ['prefix as an object key', '{"aesp:1:":0,"role":"admin"}'],
  ['prefix after an escaped quote', '{"note":"x \\"aesp:1:A256GCM\\" y","role":"admin"}'],
  ['v2 prefix as a key', '{"aesp:2:":0,"role":"admin"}'],
  ['a fake header member', '{"aesp":{"v":2},"role":"admin"}'],
  ['plain JSON object', '{"role":"admin"}'],
  ['plain JSON array', '[{"role":"admin"}]'],
  ['a member named ciphertext', '{"ciphertext":"x","role":"admin"}'],
  ['an envelope-like object with extras', '{"nonce":"AAAA","data":"AAAA","role":"admin"}'],
];

describe('auto-detection never releases unauthenticated JSON', () => {
  for (const [name, text] of FORGED) {
    for (const [label, env] of [['with a key', undefined], ['with no key', {}]] as const) {
      it(`${name} (${label}): decrypt, decrypt --lines and verify exit 4 with nothing on stdout`, () => {
        refused(cli(['decrypt'], text, env), 4);
        const lines = cli(['decrypt', '--lines'], `${text}\n`, env);
        expect(lines.code, lines.stderr).toBe(4);
        expect(lines.out.trim()).toBe('');
        const v = cli(['verify'], text, env);
        expect(v.code, v.stderr).toBe(4);
        expect(v.stderr).not.toMatch(/^OK/m);
      });
    }
    it(`${name}: rotate refuses it and leaves the file untouched`, () => {
      const p = file(`${name.replace(/\W+/g, '-')}.json`, text);
      const r = cli(['rotate', '--to-key-env', 'AES_PAYLOAD_KEY', p]);
      expect(r.code, r.stderr).toBe(4);
      expect(readFileSync(p, 'utf8')).toBe(text);
    });
  }

  it('says what the input is: not an encrypted input', () => {
    const line = refused(cli(['decrypt'], '{"a":1}'), 4);
    expect(line).toMatch(/not an encrypted input/);
  });

  it('a field document with a member named "ciphertext" (at the top or deeper) decrypts in auto mode', () => {
    for (const doc of ['{"ciphertext":"c","secret":"s"}\n', '{"a":{"ciphertext":1},"secret":"s"}\n', '{"iv":"x","tag":"y","ciphertext":"z","secret":"s"}\n']) {
      const out = enc(['--fields', 'secret'], doc);
      const d = cli(['decrypt'], out);
      expect(d.code, d.stderr).toBe(0);
      expect(d.out).toBe(doc);
      expect(cli(['verify'], out).code).toBe(0);
    }
  });

  it('a field document shaped like an envelope (nonce and data members) decrypts as a field document', () => {
    const doc = '{"nonce":"AAAA","data":"secret"}\n';
    const out = enc(['--fields', 'data'], doc);
    const d = cli(['decrypt'], out);
    expect(d.code, d.stderr).toBe(0);
    expect(d.out).toBe(doc);
  });
});

describe('a damaged .env or YAML field document is reported as what it is, not as raw base64', () => {
  const yaml = enc(['--fields', 'db.pw', '--input-type', 'yaml', '-'], 'db:\n  pw: s\n  host: h\n');
  const env = enc(['--fields', 'PW', '--input-type', 'env', '-'], 'PW=s\nHOST=h\n');
  const cases: [string, string, RegExp][] = [
    ['YAML with an anchor', yaml.replace('host: h', 'host: &a h'), /anchor/],
    ['YAML with a custom tag', yaml.replace('host: h', 'host: !foo h'), /tag/],
    ['YAML with a duplicate key', yaml.replace('host: h', 'pw: dup'), /DUPLICATE_KEY|duplicate/i],
    ['YAML with bad indentation', yaml.replace('  host: h', ' host: h'), /YAML/],
    ['YAML nested too deep', `${yaml}deep: ${'['.repeat(600)}${']'.repeat(600)}\n`, /YAML .*nest|nested/],
    ['.env with a non-ASCII name', env.replace('HOST=h', 'CAF\u00c9=h'), /\.env line 2: .*(ASCII|letters)/],
    ['.env with a non-ASCII name on a token line', env.replace(/^PW=/m, 'P\u00c9W='), /\.env line 1/],
  ];
  it.each(cases)('%s', (_name, text, why) => {
    for (const cmd of ['decrypt', 'verify']) {
      const line = refused(cli([cmd, '-'], text), 4);
      expect(line).not.toMatch(/base64|not valid JSON/);
      expect(line).toMatch(why);
    }
  });
});
