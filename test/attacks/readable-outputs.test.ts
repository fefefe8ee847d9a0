// Attack class: outputs the tool cannot read again, and data lost on the way.
// `decrypt --fields` must leave a document that decrypts again (the README's
// own example), and `encrypt --fields` must never overwrite or duplicate a
// root `aesp` member that belongs to the user.
import { describe, expect, it } from 'vitest';
import { cli, enc, refused } from './attack.js';

const ORDER = '{"order":17,"card":{"number":"4111 1111 1111 1111","cvc":"123"},"email":"a@example.com"}';

describe('every output of decrypt --fields can be decrypted again', () => {
  it('JSON: decrypting one field keeps the others encrypted under a header that still authenticates', () => {
    const e = enc(['--fields', 'card.number,card.cvc,email'], ORDER);
    const partial = cli(['decrypt', '--fields', 'card.number', '-'], e);
    expect(partial.code, partial.stderr).toBe(0);
    expect(partial.out).toContain('"number":"4111 1111 1111 1111"');
    expect(partial.out).not.toContain('"123"');
    expect(cli(['verify', '-'], partial.out).code).toBe(0);
    const rest = cli(['decrypt', '-'], partial.out);
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.out).toBe(ORDER);
    // Tampering with the partly decrypted document is still detected.
    refused(cli(['decrypt', '-'], partial.out.replace('4111 1111 1111 1111', '4000 0000 0000 0002')), 1);
  });

  it('.env and YAML: the same', () => {
    const envText = 'A_PASSWORD=one\nB_PASSWORD=two\nHOST=h\n';
    const e = enc(['--fields', '*_PASSWORD', '--input-type', 'env', '-'], envText);
    const p = cli(['decrypt', '--fields', 'A_PASSWORD', '--format', 'env', '-'], e);
    expect(p.code, p.stderr).toBe(0);
    expect(p.out).toMatch(/^A_PASSWORD=one$/m);
    expect(p.out).toMatch(/^B_PASSWORD=aesp:2:/m);
    expect(cli(['decrypt', '-'], p.out).out).toBe(envText);
    const yamlText = 'db:\n  password: one\n  token: two\n';
    const y = enc(['--fields', 'db.password,db.token', '--input-type', 'yaml', '-'], yamlText);
    const py = cli(['decrypt', '--fields', 'db.password', '--format', 'yaml', '-'], y);
    expect(py.code, py.stderr).toBe(0);
    expect(cli(['decrypt', '-'], py.out).out).toBe(yamlText);
  });

  it('decrypting every field with --fields gives the plain document, as decrypt does', () => {
    const e = enc(['--fields', 'card.number'], ORDER);
    expect(cli(['decrypt', '--fields', 'card.number', '-'], e).out).toBe(ORDER);
  });
});

describe('encrypt --fields never loses a root "aesp" member of the user', () => {
  it('JSON, .env and YAML: refused (exit 4) with the member named, nothing written', () => {
    const json = refused(cli(['encrypt', '--fields', 'password', '-'], '{"aesp":"my own value","password":"p"}'), 4);
    expect(json).toMatch(/"aesp"/);
    refused(cli(['encrypt', '--fields', 'password', '-'], '{"password":"p","aesp":{"nested":true}}'), 4);
    refused(cli(['encrypt', '--fields', 'PASSWORD', '--input-type', 'env', '-'], 'aesp=mine\nPASSWORD=p\n'), 4);
    refused(cli(['encrypt', '--fields', 'password', '--input-type', 'yaml', '-'], 'aesp: mine\npassword: p\n'), 4);
  });
});
