// Attack class 5: values that only look like tokens, and plaintext where a
// token is required.
import { describe, expect, it } from 'vitest';
import { cli, enc, refused } from './attack.js';

describe('values that only look like tokens', () => {
  it('encrypt --fields refuses a value that starts with the token prefix but is not a token (it would stay in the clear)', () => {
    for (const fake of ['aesp:1:hunter2', 'aesp:2:hunter2', 'aesp:2:A256GCM:0000000000000000:AAAA:AAAA:AAAA', 'aesp:']) {
      const r = cli(['encrypt', '--fields', 'password'], JSON.stringify({ password: fake }));
      const line = refused(r, 4);
      expect(line).toMatch(/password/);
      expect(line).not.toContain('hunter2');
    }
  });

  it('encrypt --fields refuses a real token copied from another document into a plaintext document', () => {
    const other = enc(['--fields', 'password'], '{"password":"theirs"}');
    const tok = /"(aesp:\d:[A-Za-z0-9]+:[^"]+)"/.exec(other)![1]!;
    refused(cli(['encrypt', '--fields', 'password'], JSON.stringify({ password: tok })), 4);
  });

  it('decrypt --fields PATH refuses plaintext at PATH (exit 4) unless --allow-plaintext', () => {
    const doc = enc(['--fields', 'card.cvc'], '{"card":{"number":"4111","cvc":"123"}}\n');
    const line = refused(cli(['decrypt', '--fields', 'card.number'], doc), 4);
    expect(line).toMatch(/card\.number/);
    expect(line).not.toContain('4111');
    const ok = cli(['decrypt', '--fields', 'card.number', '--allow-plaintext'], doc);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.out).toContain('"number":"4111"');
    // a plaintext document with no token at all is not an encrypted input
    refused(cli(['decrypt', '--fields', 'card.number'], '{"card":{"number":"4111"}}'), 4);
  });

  it('verify --require checks every path on its own and names each that matched nothing', () => {
    const doc = enc(['--fields', 'api.token'], '{"api":{"token":"t"},"user":"u"}\n');
    const v = cli(['verify', '--require', '**.password'], doc);
    expect(v.code, v.stderr).toBe(4);
    expect(v.stderr).toMatch(/\*\*\.password/);
    const two = cli(['verify', '--require', 'api.token,db.password,**.secret'], doc);
    expect(two.code).toBe(4);
    expect(two.stderr).toMatch(/db\.password/);
    expect(two.stderr).toMatch(/\*\*\.secret/);
    expect(two.stderr).not.toMatch(/api\.token matches nothing/);
    const nokey = cli(['verify', '--no-key', '--require', '**.password'], doc, {});
    expect(nokey.code).toBe(4);
    // a path inside an encrypted parent counts as encrypted
    const whole = enc(['--fields', 'db'], '{"db":{"password":"p"},"u":1}\n');
    expect(cli(['verify', '--require', 'db.password'], whole).code).toBe(0);
    // ...but "**" never reaches into an encrypted value it cannot see
    expect(cli(['verify', '--require', '**.password'], whole).code).toBe(4);
  });
});
