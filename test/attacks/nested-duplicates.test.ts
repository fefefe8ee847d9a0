// Attack class 9: duplicate members inside nested JSON objects. JSON.parse
// keeps the last duplicate and other parsers the first, so one input would
// mean different things to different readers: refused at every depth of
// every JSON format (exit 4).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cli, enc, refused, workspace } from './attack.js';

const { file } = workspace();
const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');

describe('duplicates are refused at every depth', () => {
  const flat = JSON.parse(enc(['--format', 'jwe-json', '--wrap', 'A256KW'], 'x')) as Record<string, string>;
  const body = `"iv":"${flat.iv}","ciphertext":"${flat.ciphertext}","tag":"${flat.tag}"`;
  const cases: [string, string][] = [
    ['a duplicate in "unprotected"', `{"protected":"${flat.protected}","unprotected":{"x":1,"x":2},"encrypted_key":"${flat.encrypted_key}",${body}}`],
    ['a duplicate in a recipient "header"', `{"protected":"${flat.protected}","recipients":[{"header":{"y":1,"y":2},"encrypted_key":"${flat.encrypted_key}"}],${body}}`],
    ['a duplicate "encrypted_key" in a recipient', `{"protected":"${flat.protected}","recipients":[{"encrypted_key":"${flat.encrypted_key}","encrypted_key":"${b64u(randomBytes(40))}"}],${body}}`],
    ['a duplicate in the flattened "header"', `{"protected":"${flat.protected}","header":{"z":1,"z":1},"encrypted_key":"${flat.encrypted_key}",${body}}`],
    ['a duplicate inside a header parameter value', `{"protected":"${b64u('{"alg":"A256KW","enc":"A256GCM","x":{"a":1,"a":2}}')}","encrypted_key":"${flat.encrypted_key}",${body}}`],
  ];
  for (const [name, text] of cases) {
    it(`JWE JSON: ${name}`, () => {
      const line = refused(cli(['decrypt'], text), 4);
      expect(line).toMatch(/duplicate/);
    });
  }

  it('envelope: a duplicate inside "kdf"', () => {
    const e = JSON.parse(enc(['--passphrase-env', 'P'], 'x', { P: 'pass phrase here' })) as { kdf: Record<string, unknown> };
    const text = JSON.stringify(e).replace('"N":', '"N":32768,"N":');
    const line = refused(cli(['decrypt', '--passphrase-env', 'P'], text, { P: 'pass phrase here' }), 4);
    expect(line).toMatch(/duplicate/);
  });

  it('keyring and JWK key files with duplicates are refused (exit 3)', () => {
    const k = randomBytes(32).toString('hex');
    const ring = file('ring.json', `{"primary":"a","keys":{"a":"${k}","a":"${randomBytes(32).toString('hex')}"}}`);
    expect(refused(cli(['decrypt', '--keyring', ring], 'AAAA', {}), 3)).toMatch(/duplicate/);
    const jwk = file('k.jwk', `{"kty":"oct","k":"${b64u(randomBytes(32))}","k":"${b64u(randomBytes(32))}"}`);
    expect(refused(cli(['decrypt', '--key-file', jwk], 'AAAA', {}), 3)).toMatch(/duplicate/);
  });
});
