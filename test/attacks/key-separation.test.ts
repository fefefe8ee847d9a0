// Attack class 4: no key separation between formats. A ciphertext that one
// native format wrote under the user's key must not open as another format:
// envelopes, field tokens and document MACs each use their own derived key,
// so none can be replayed as a JWE A*GCMKW wrapped key, or the reverse.
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyId } from '../../src/keys/kid.js';
import { KEY, cli, enc, refused } from './attack.js';

const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');
const b64 = (s: string) => Buffer.from(s, 'base64url').toString('base64');

describe('no native ciphertext decrypts as another format', () => {
  it('an envelope that encrypt made cannot serve as the wrapped CEK of a forged A256GCMKW JWE', () => {
    // The attacker gets the key holder to encrypt 32 bytes of their choice...
    const cek = randomBytes(32);
    const envText = enc([], cek);
    const e = JSON.parse(envText) as { nonce: string; data: string; mac: string; kid: string };
    // ...and wraps content of their own under that CEK, using the envelope as the wrapped key.
    const header = { alg: 'A256GCMKW', enc: 'A256GCM', iv: Buffer.from(e.nonce, 'base64').toString('base64url'), tag: Buffer.from(e.mac, 'base64').toString('base64url') };
    const p = b64u(JSON.stringify(header));
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', cek, iv);
    c.setAAD(Buffer.from(p, 'ascii'));
    const ct = Buffer.concat([c.update('{"forged":true}'), c.final()]);
    const jwe = [p, Buffer.from(e.data, 'base64').toString('base64url'), b64u(iv), b64u(ct), b64u(c.getAuthTag())].join('.');
    refused(cli(['decrypt'], jwe), 1);
    expect(cli(['verify'], jwe).code).toBe(1);
  });

  it('a GCMKW JWE rewritten as an envelope does not release its CEK', () => {
    const jwe = enc(['--format', 'jwe', '--wrap', 'A256GCMKW'], 'content').trim();
    const [p, ek] = jwe.split('.');
    const h = JSON.parse(Buffer.from(p!, 'base64url').toString()) as { iv: string; tag: string; kid: string };
    const body = { alg: 'A256GCM', kid: h.kid, nonce: b64(h.iv), data: b64(ek!), mac: b64(h.tag) };
    // As the current envelope version: the envelope key is derived, so the tag fails.
    refused(cli(['decrypt'], JSON.stringify({ v: 2, ...body })), 1);
    // As the old version, or with no version: refused unless the user opts in to legacy input.
    refused(cli(['decrypt'], JSON.stringify({ v: 1, ...body })), 4);
    refused(cli(['decrypt'], JSON.stringify({ nonce: body.nonce, data: body.data, mac: body.mac })), 4);
  });

  it('a field token rewritten as an envelope (with the token\'s AAD) does not decrypt outside its document', () => {
    const doc = enc(['--fields', 'secret'], '{"secret":"s3cret"}\n');
    const tok = /"(aesp:\d:[^"]+)"/.exec(doc)![1]!.split(':');
    const [, ver, alg, kid, nonce, ct, tag] = tok;
    for (const v of [1, 2]) {
      const env = { v, alg, kid, nonce: b64(nonce!), data: b64(ct!), mac: b64(tag!), aad: Buffer.from(`aesp:${ver}:${alg}:${kid}:["secret"]`).toString('base64') };
      const r = cli(['decrypt'], JSON.stringify(env));
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.out).not.toContain('s3cret');
    }
  });

  it('an envelope does not decrypt as raw, and raw does not decrypt as an envelope', () => {
    const e = JSON.parse(enc([], 'payload')) as { nonce: string; data: string; mac: string };
    const raw = Buffer.concat([Buffer.from(e.nonce, 'base64'), Buffer.from(e.data, 'base64'), Buffer.from(e.mac, 'base64')]).toString('base64');
    refused(cli(['decrypt', '--format', 'raw'], raw), 1);
    const r = Buffer.from(enc(['--format', 'raw'], 'payload').trim(), 'base64');
    const env = JSON.stringify({ v: 2, alg: 'A256GCM', kid: keyId(KEY), nonce: r.subarray(0, 12).toString('base64'), data: r.subarray(12, -16).toString('base64'), mac: r.subarray(-16).toString('base64') });
    refused(cli(['decrypt'], env), 1);
  });

  it('remains, as SECURITY.md says: raw GCM and JWE A*GCMKW share the key unchanged (interop), so one key per purpose', () => {
    const jwe = enc(['--format', 'jwe', '--wrap', 'A256GCMKW'], 'content').trim();
    const [p, ek] = jwe.split('.');
    const h = JSON.parse(Buffer.from(p!, 'base64url').toString()) as { iv: string; tag: string };
    const raw = Buffer.concat([Buffer.from(h.iv, 'base64url'), Buffer.from(ek!, 'base64url'), Buffer.from(h.tag, 'base64url')]).toString('base64');
    const r = cli(['decrypt', '--format', 'raw'], raw);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(32); // the CEK of that one JWE
    expect(KEY.length).toBe(32);
  });
});
