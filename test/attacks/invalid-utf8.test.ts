// Attack class: bytes that are not UTF-8, and byte order marks, in field
// documents. A \xff byte in a comment of a .env, YAML or JSON document used
// to verify (python-dotenv, PyYAML and json.load crash on it); \xff written
// where an authenticated value held U+FFFD verified too (read as U+FFFD by
// us, as the raw byte by sh); a BOM put before an encrypted JSON document
// verified and decrypt kept it (Python's json.load refuses it). Invalid
// UTF-8 is refused everywhere in field documents (exit 4), and so is a BOM
// before a JSON field document.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PYTHON } from '../helpers.js';
import { cli, enc, refused } from './attack.js';

const FF = Buffer.from([0xff]);
const bytes = (s: string) => Buffer.from(s, 'utf8');
/** Put raw bytes in place of the first `at` in `text`. */
const splice = (text: string, at: string, put: Buffer) => {
  const i = bytes(text).indexOf(bytes(at));
  expect(i).toBeGreaterThanOrEqual(0);
  const b = bytes(text);
  return Buffer.concat([b.subarray(0, i), put, b.subarray(i + bytes(at).length)]);
};

describe('invalid UTF-8 in a field document is refused, by verify, decrypt and rotate alike', () => {
  const env = enc(['--fields', 'PW', '--input-type', 'env', '-'], '# settings\nPW=hunter2\nNAME="caf\u00e9 \uFFFD"\n');
  const yaml = enc(['--fields', 'pw', '--input-type', 'yaml', '-'], '# settings\npw: hunter2\nname: "caf\u00e9 \uFFFD"\n');
  const json = enc(['--fields', 'pw', '-'], '{"pw":"hunter2","name":"caf\u00e9 \uFFFD"}');
  const cases: [string, Buffer][] = [
    ['.env: \\xff in a comment', splice(env, 'settings', Buffer.concat([bytes('sett'), FF, bytes('ings')]))],
    ['.env: \\xff where a value held U+FFFD', splice(env, '\uFFFD', FF)],
    ['YAML: \\xff in a comment', splice(yaml, 'settings', Buffer.concat([bytes('sett'), FF, bytes('ings')]))],
    ['YAML: \\xff where a value held U+FFFD', splice(yaml, '\uFFFD', FF)],
    ['JSON: \\xff where a value held U+FFFD', splice(json, '\uFFFD', FF)],
    ['JSON: a truncated sequence', splice(json, '\u00e9', Buffer.from([0xc3]))],
    ['JSON: an overlong encoding of "/"', splice(json, '\u00e9', Buffer.from([0xc0, 0xaf]))],
    ['JSON: a surrogate in UTF-8', splice(json, '\u00e9', Buffer.from([0xed, 0xa0, 0x80]))],
  ];
  it.each(cases)('%s', (_name, doc) => {
    // The premise: Python cannot read it as UTF-8.
    expect(spawnSync(PYTHON, ['-c', 'import sys; sys.stdin.buffer.read().decode("utf-8")'], { input: doc }).status).not.toBe(0);
    for (const cmd of [['verify'], ['decrypt']]) expect(refused(cli([...cmd, '-'], doc), 4)).toMatch(/not valid UTF-8 \(line \d+, byte \d+\)/);
  });
});

describe('encrypt --fields takes UTF-8 only', () => {
  it.each([
    ['JSON', 'pw', Buffer.concat([bytes('{"pw":"a'), FF, bytes('"}')])],
    ['.env', 'PW', Buffer.concat([bytes('# c'), FF, bytes('\nPW=a\n')])],
    ['YAML', 'pw', Buffer.concat([bytes('# c'), FF, bytes('\npw: a\n')])],
  ])('%s', (type, field, doc) => {
    const t = type === 'JSON' ? 'json' : type === '.env' ? 'env' : 'yaml';
    expect(refused(cli(['encrypt', '--fields', field, '--input-type', t, '-'], doc), 4)).toMatch(/not valid UTF-8/);
  });
});

describe('a byte order mark before a JSON field document', () => {
  const json = enc(['--fields', 'pw', '-'], '{"pw":"hunter2"}');
  it('is refused by verify and decrypt (Python\'s json.load and jq refuse it too)', () => {
    const bom = `\ufeff${json}`;
    expect(spawnSync(PYTHON, ['-c', 'import json,sys; json.loads(sys.stdin.read())'], { input: bom }).status).not.toBe(0);
    for (const cmd of ['verify', 'decrypt']) expect(refused(cli([cmd, '-'], bom), 4)).toMatch(/byte order mark/);
  });
  it('and by encrypt --fields, which would otherwise keep it', () => {
    expect(refused(cli(['encrypt', '--fields', 'pw', '-'], '\ufeff{"pw":"hunter2"}'), 4)).toMatch(/byte order mark/);
  });
});
