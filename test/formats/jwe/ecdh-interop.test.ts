// ECDH-ES interop, both ways, for each curve (P-256, P-384, P-521, X25519) and each
// of ECDH-ES, ECDH-ES+A128KW, +A192KW, +A256KW: npm `jose` (in process) and Debian's
// python3-jwcrypto (test/peers/jwe_peer.py), each in compact and flattened JSON, keys as PEM and JWK,
// with apu/apv on half of them.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import { describe, expect, it } from 'vitest';
import { JWE_ENCS, type JweEnc } from '../../../src/formats/jwe/jwe.js';
import { PYTHON, ROOT, jwcryptoPeer, run, runPeer, tempDir } from '../../helpers.js';

const dir = tempDir();
const CURVES = ['P-256', 'P-384', 'P-521', 'X25519'] as const;
const WRAPS = ['ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A192KW', 'ECDH-ES+A256KW'] as const;

interface Case {
  crv: (typeof CURVES)[number];
  wrap: (typeof WRAPS)[number];
  enc: JweEnc;
  compact: boolean;
  party: boolean;
  priv: KeyObject;
  pub: KeyObject;
  privFile: string;
  pubFile: string;
  plaintext: string;
  name: string;
}

let n = 0;
const cases: Case[] = CURVES.flatMap((crv) => {
  const { privateKey, publicKey } = crv === 'X25519' ? generateKeyPairSync('x25519') : generateKeyPairSync('ec', { namedCurve: crv });
  return WRAPS.flatMap((wrap) => [true, false].map((compact): Case => {
    const i = n++;
    const asJwk = Math.floor(i / 2) % 2 === 1;
    const privFile = join(dir, `k${i}${asJwk ? '.jwk' : '.pem'}`);
    const pubFile = `${privFile}.pub`;
    writeFileSync(privFile, asJwk ? JSON.stringify(privateKey.export({ format: 'jwk' })) : privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    writeFileSync(pubFile, asJwk ? JSON.stringify(publicKey.export({ format: 'jwk' })) : publicKey.export({ format: 'pem', type: 'spki' }));
    const enc = JWE_ENCS[i % JWE_ENCS.length]!;
    return { crv, wrap, enc, compact, party: i % 3 !== 0, priv: privateKey, pub: publicKey, privFile, pubFile, plaintext: `{"crv":"${crv}","alg":"${wrap}","ü":"✓"}`, name: `${wrap} ${crv} ${enc} ${compact ? 'compact' : 'flattened'}` };
  }));
});

const APU = 'QWxpY2U';
const APV = 'Qm9i';

function cliEncrypt(c: Case): string {
  const r = run(['encrypt', '--format', c.compact ? 'jwe' : 'jwe-json', '--wrap', c.wrap, '--alg', c.enc, '--recipient', c.pubFile, ...(c.party ? ['--apu', APU, '--apv', APV] : [])], { input: c.plaintext });
  expect(r.stderr, c.name).toBe('');
  expect(r.code, c.name).toBe(0);
  return r.out.trim();
}

function cliDecrypt(c: Case, token: string): string {
  const r = run(['decrypt', '--key-file', c.privFile], { input: token });
  expect(r.stderr, c.name).toBe('');
  expect(r.code, c.name).toBe(0);
  return r.out;
}

const jwcrypto = jwcryptoPeer;

const OPTS = { keyManagementAlgorithms: [...WRAPS], contentEncryptionAlgorithms: [...JWE_ENCS] };

describe(`aes-payload → peers (${cases.length} cases: 4 curves × 4 algs × compact and flattened JSON)`, () => {
  const tokens = new Map<Case, string>();
  it('aes-payload encrypts every case with epk on the right curve, apu/apv as asked', () => {
    for (const c of cases) {
      const t = cliEncrypt(c);
      tokens.set(c, t);
      const h = c.compact ? jose.decodeProtectedHeader(t) : jose.decodeProtectedHeader(JSON.parse(t) as jose.FlattenedJWE);
      expect([h.alg, h.enc, (h.epk as { crv: string }).crv], c.name).toEqual([c.wrap, c.enc, c.crv]);
      expect(h.apu, c.name).toBe(c.party ? APU : undefined);
      expect(h.apv, c.name).toBe(c.party ? APV : undefined);
    }
  });

  it('npm jose decrypts every one', async () => {
    for (const c of cases) {
      const t = tokens.get(c)!;
      const res = c.compact ? await jose.compactDecrypt(t, c.priv, OPTS) : await jose.flattenedDecrypt(JSON.parse(t) as jose.FlattenedJWE, c.priv, OPTS);
      expect(new TextDecoder().decode(res.plaintext), c.name).toBe(c.plaintext);
    }
  });

  it('python3-jwcrypto decrypts every one', () => {
    const results = jwcrypto({ op: 'decrypt', cases: cases.map((c) => ({ token: tokens.get(c), key: c.priv.export({ format: 'jwk' }) })) });
    results.forEach((r, i) => expect(r, cases[i]!.name).toEqual({ ok: true, plaintext: cases[i]!.plaintext }));
  });
});

describe(`peers → aes-payload (${cases.length} cases)`, () => {
  it('aes-payload decrypts what npm jose writes', async () => {
    for (const c of cases) {
      const pt = new TextEncoder().encode(c.plaintext);
      const kmp = c.party ? { apu: Buffer.from(APU, 'base64url'), apv: Buffer.from(APV, 'base64url') } : {};
      const t = c.compact
        ? await new jose.CompactEncrypt(pt).setProtectedHeader({ alg: c.wrap, enc: c.enc }).setKeyManagementParameters(kmp).encrypt(c.pub)
        : JSON.stringify(await new jose.FlattenedEncrypt(pt).setProtectedHeader({ alg: c.wrap, enc: c.enc }).setKeyManagementParameters(kmp).encrypt(c.pub));
      if (c.party) expect((c.compact ? jose.decodeProtectedHeader(t) : jose.decodeProtectedHeader(JSON.parse(t) as jose.FlattenedJWE)).apu).toBe(APU);
      expect(cliDecrypt(c, t), c.name).toBe(c.plaintext);
    }
  });

  it('aes-payload decrypts what python3-jwcrypto writes', () => {
    const tokens = jwcrypto({
      op: 'encrypt',
      cases: cases.map((c) => ({ alg: c.wrap, enc: c.enc, key: c.pub.export({ format: 'jwk' }), plaintext: c.plaintext, compact: c.compact, header: c.party ? { apu: APU, apv: APV } : {} })),
    }) as string[];
    cases.forEach((c, i) => expect(cliDecrypt(c, tokens[i]!), c.name).toBe(c.plaintext));
  });
});

describe('several EC and X25519 recipients (general JSON JWE)', () => {
  it('one JWE for P-256, P-521 and X25519 keys: npm jose, python3-jwcrypto and aes-payload decrypt it with each', async () => {
    const picks = [cases[0]!, cases[18]!, cases[26]!];
    expect(picks.map((c) => c.crv)).toEqual(['P-256', 'P-521', 'X25519']);
    const e = run(['encrypt', '--format', 'jwe-json', ...picks.flatMap((c) => ['--recipient', c.pubFile])], { input: '{"to":"team"}' });
    expect(e.code, e.stderr).toBe(0);
    const jwe = JSON.parse(e.out) as { recipients: { header: { alg: string; epk: { crv: string } } }[] };
    expect(jwe.recipients.map((r) => [r.header.alg, r.header.epk.crv])).toEqual(picks.map((c) => ['ECDH-ES+A256KW', c.crv]));
    for (const c of picks) {
      const r = await jose.generalDecrypt(jwe as unknown as jose.GeneralJWE, c.priv);
      expect(Buffer.from(r.plaintext).toString()).toBe('{"to":"team"}');
      expect(cliDecrypt(c, e.out)).toBe('{"to":"team"}');
    }
    const py = jwcrypto({ op: 'decrypt', cases: picks.map((c) => ({ token: e.out.trim(), key: c.priv.export({ format: 'jwk' }) })) });
    expect(py).toEqual(picks.map(() => ({ ok: true, plaintext: '{"to":"team"}' })));
  });
});
