// The public library API, loaded the way a user loads it: the built package entry.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

describe('library API (dist/lib via the package exports)', () => {
  it('round trips, verifies and throws typed errors', () => {
    // Resolve 'aes-payload' by name through package.json "exports" (package self-reference).
    const script = `
      import { generateKey, encrypt, decrypt, verify, keyId, AuthError, FormatError, EXIT } from 'aes-payload';
      const { key, kid } = generateKey('A128GCM');
      const { text, alg } = encrypt('{"a":1}', key, { aad: 'ctx' });
      const out = decrypt(text, key);
      const v = verify(text, key);
      let auth, fmt;
      try { decrypt(text, generateKey('A128GCM').key); } catch (e) { auth = e instanceof AuthError && e.exitCode === EXIT.AUTH; }
      try { decrypt('{"v":7}', key); } catch (e) { fmt = e instanceof FormatError && e.exitCode === 4; }
      console.log(JSON.stringify({ alg, kidOk: kid === keyId(key), pt: out.plaintext.toString(), ok: v.ok, vkid: v.kid === kid, auth, fmt }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
    expect(r.stderr.toString()).toBe('');
    expect(JSON.parse(r.stdout.toString())).toEqual({ alg: 'A128GCM', kidOk: true, pt: '{"a":1}', ok: true, vkid: true, auth: true, fmt: true });
  });
});
