// Attack class 2: field tokens moved between documents, records and versions;
// tokens removed, added or replaced; the document header removed. Every
// one must fail to authenticate (exit 1), in decrypt, decrypt --lines and
// verify.
import { describe, expect, it } from 'vitest';
import { cli, enc, refused } from './attack.js';

/** The string values of a JSON text that look like field tokens. */
function tokens(text: string): string[] {
  return [...text.matchAll(/"(aesp:\d:[^"]+)"/g)].map((m) => m[1]!).filter((t) => !t.includes(':doc:'));
}

function authFails(text: string): void {
  refused(cli(['decrypt'], text), 1);
  const v = cli(['verify'], text);
  expect(v.code, v.stderr).toBe(1);
}

describe('tokens are bound to their document, record and version', () => {
  const records = '{"user":"alice","role":"admin"}\n{"user":"mallory","role":"guest"}\n';
  const encLines = enc(['--lines', '--fields', 'role'], records).split('\n');

  it('alice\'s role token pasted into mallory\'s NDJSON record fails, and only that line', () => {
    const aliceRole = tokens(encLines[0]!)[0]!;
    const malloryRole = tokens(encLines[1]!)[0]!;
    const forged = encLines[1]!.replace(malloryRole, aliceRole);
    const r = cli(['decrypt', '--lines'], `${encLines[0]}\n${forged}\n`);
    expect(r.code, r.stderr).toBe(1);
    expect(r.out.split('\n')[0]).toBe('{"user":"alice","role":"admin"}');
    expect(r.out).not.toContain('mallory');
    expect(r.stderr).toMatch(/^aes-payload: line 2: authentication failed/m);
    authFails(forged);
  });

  it('a token from another file at the same path fails', () => {
    const a = enc(['--fields', 'password'], '{"password":"from-a","x":1}\n');
    const b = enc(['--fields', 'password'], '{"password":"from-b","x":1}\n');
    authFails(b.replace(tokens(b)[0]!, tokens(a)[0]!));
  });

  it('a token from an older version of the same document fails', () => {
    const v1 = enc(['--fields', 'password'], '{"password":"old","api":"k1"}\n');
    // The second version adds an encrypted value to the first (same document).
    const v2 = enc(['--fields', 'password,api'], v1);
    expect(tokens(v2)).toHaveLength(2);
    // Put v1's header back on v2 (roll back the header only): v2's added token is not covered.
    const header = (t: string) => /"aesp":\s*"[^"]+"/.exec(t)?.[0];
    expect(header(v1)).toBeDefined();
    expect(header(v2)).toBeDefined();
    authFails(v2.replace(header(v2)!, header(v1)!));
    // Or take v2's header and v1's body: the token v2 added is missing.
    authFails(v1.replace(header(v1)!, header(v2)!));
  });

  it('removing a token (replacing it by a plaintext value, or dropping the member) fails', () => {
    const doc = enc(['--fields', 'a,b'], '{"a":"one","b":"two"}\n');
    const [ta, tb] = tokens(doc);
    authFails(doc.replace(`"${ta}"`, '"plain"'));
    authFails(doc.replace(`"a":"${ta}",`, ''));
    expect(tb).toBeDefined();
  });

  it('adding a token copied from elsewhere in the same document fails', () => {
    const doc = enc(['--fields', 'a'], '{"a":"one","b":"two"}\n');
    authFails(doc.replace('"b":"two"', `"b":"${tokens(doc)[0]}"`));
  });

  it('swapping two tokens of one document fails', () => {
    const doc = enc(['--fields', 'a,b'], '{"a":"one","b":"two"}\n');
    const [ta, tb] = tokens(doc);
    authFails(doc.replace(ta!, 'X').replace(tb!, ta!).replace('X', tb!));
  });

  it('a document whose header is removed fails', () => {
    const doc = enc(['--fields', 'a'], '{"a":"one","b":"two"}\n');
    const stripped = doc.replace(/,\s*"aesp":\s*"[^"]+"/, '');
    expect(stripped).not.toBe(doc);
    authFails(stripped);
  });

  it('a header moved to another document fails', () => {
    const a = enc(['--fields', 'p'], '{"p":"a","n":1}\n');
    const b = enc(['--fields', 'p'], '{"p":"b","n":1}\n');
    const h = (t: string) => /"aesp":\s*"[^"]+"/.exec(t)![0];
    authFails(b.replace(h(b), h(a)));
  });

  it('by default a changed plaintext value fails too (the MAC covers the whole document)', () => {
    const doc = enc(['--fields', 'password'], '{"password":"p","role":"guest"}\n');
    authFails(doc.replace('"guest"', '"admin"'));
    authFails(doc.replace('"role":"guest"', '"role":"guest","admin":true'));
  });

  it('with --mac-only-encrypted, plaintext values may change but tokens stay bound', () => {
    const doc = enc(['--fields', 'password', '--mac-only-encrypted'], '{"password":"p","role":"guest"}\n');
    const edited = doc.replace('"guest"', '"admin"');
    const d = cli(['decrypt'], edited);
    expect(d.code, d.stderr).toBe(0);
    expect(d.out).toBe('{"password":"p","role":"admin"}\n');
    const other = enc(['--fields', 'password', '--mac-only-encrypted'], '{"password":"q","role":"guest"}\n');
    authFails(doc.replace(tokens(doc)[0]!, tokens(other)[0]!));
  });
});
