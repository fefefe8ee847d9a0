// JWE interop, both ways, for every (wrap, enc) pair aes-payload supports:
// npm `jose` (in process) and Debian's python3-jwcrypto (test/peers/jwe_peer.py).
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import { describe, expect, it } from 'vitest';
import { JWE_ENCS, JWE_WRAPS, type JweEnc, type JweWrap } from '../../../src/formats/jwe/jwe.js';
import { PYTHON, ROOT, jwcryptoPeer, run, runPeer, tempDir } from '../../helpers.js';

const dir = tempDir();
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privPem = join(dir, 'rsa.pem');
const pubPem = join(dir, 'rsa.pem.pub');
writeFileSync(privPem, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
writeFileSync(pubPem, publicKey.export({ format: 'pem', type: 'spki' }));
const PASS = 'correct horse battery staple';
const CEK_LEN: Record<JweEnc, number> = { A128GCM: 16, A192GCM: 24, A256GCM: 32, 'A128CBC-HS256': 32, 'A192CBC-HS384': 48, 'A256CBC-HS512': 64 };

interface Pair {
  wrap: JweWrap;
  enc: JweEnc;
  /** Symmetric key (dir, KW, GCMKW). */
  secret?: Buffer;
  keyFile?: string;
  compact: boolean;
  plaintext: string;
}

let n = 0;
// ECDH-ES has its own interop file (test/formats/jwe/ecdh-interop.test.ts), per curve.
const pairs: Pair[] = JWE_WRAPS.filter((w) => !w.startsWith('ECDH-ES')).flatMap((wrap) =>
  JWE_ENCS.map((enc): Pair => {
    const p: Pair = { wrap, enc, compact: n++ % 2 === 0, plaintext: `{"pair":"${wrap}/${enc}","ü":"✓","n":${n}}` };
    if (wrap === 'dir' || /KW$/.test(wrap)) {
      if (!wrap.startsWith('PBES2')) {
        p.secret = randomBytes(wrap === 'dir' ? CEK_LEN[enc] : Number(wrap.slice(1, 4)) / 8);
        p.keyFile = join(dir, `${wrap}-${enc}.key`);
        writeFileSync(p.keyFile, p.secret.toString('hex'), { mode: 0o600 });
      }
    }
    return p;
  }),
);

function cliKeyArgs(p: Pair, forEncrypt: boolean): string[] {
  if (p.wrap.startsWith('RSA')) return forEncrypt ? ['--recipient', pubPem] : ['--key-file', privPem];
  if (p.wrap.startsWith('PBES2')) return ['--passphrase-env', 'JWE_PASS'];
  return ['--key-file', p.keyFile!];
}

function joseKey(p: Pair, forEncrypt: boolean): KeyObject | Uint8Array {
  if (p.wrap.startsWith('RSA')) return forEncrypt ? publicKey : privateKey;
  if (p.wrap.startsWith('PBES2')) return Buffer.from(PASS);
  return p.secret!;
}

function jwk(p: Pair): Record<string, string> {
  if (p.wrap.startsWith('RSA')) return privateKey.export({ format: 'jwk' }) as Record<string, string>;
  if (p.wrap.startsWith('PBES2')) return { kty: 'oct', k: Buffer.from(PASS).toString('base64url') };
  return { kty: 'oct', k: p.secret!.toString('base64url') };
}

function cliEncrypt(p: Pair): string {
  const r = run(['encrypt', '--format', p.compact ? 'jwe' : 'jwe-json', '--wrap', p.wrap, '--alg', p.enc, ...cliKeyArgs(p, true)], {
    input: p.plaintext,
    env: { JWE_PASS: PASS },
  });
  expect(r.stderr, `${p.wrap}/${p.enc}`).toBe('');
  expect(r.code).toBe(0);
  return r.out.trim();
}

function cliDecrypt(p: Pair, token: string): string {
  const r = run(['decrypt', ...cliKeyArgs(p, false)], { input: token, env: { JWE_PASS: PASS } });
  expect(r.stderr, `${p.wrap}/${p.enc}`).toBe('');
  expect(r.code).toBe(0);
  return r.out;
}

const jwcrypto = jwcryptoPeer;

describe(`aes-payload → peers (${pairs.length} pairs)`, () => {
  const tokens = new Map<Pair, string>();
  it('aes-payload encrypts every pair, with the requested alg, enc and a kid', () => {
    for (const p of pairs) {
      const t = cliEncrypt(p);
      tokens.set(p, t);
      const header = p.compact ? jose.decodeProtectedHeader(t) : jose.decodeProtectedHeader(JSON.parse(t) as jose.FlattenedJWE);
      expect(header.alg).toBe(p.wrap);
      expect(header.enc).toBe(p.enc);
      if (!p.wrap.startsWith('PBES2')) expect(typeof header.kid).toBe('string');
    }
  });

  it('npm jose decrypts every one', async () => {
    for (const p of pairs) {
      const t = tokens.get(p)!;
      const opts = { maxPBES2Count: 1_000_000, keyManagementAlgorithms: [...JWE_WRAPS], contentEncryptionAlgorithms: [...JWE_ENCS] };
      const key = joseKey(p, false);
      const res = p.compact
        ? await jose.compactDecrypt(t, key, opts)
        : await jose.flattenedDecrypt(JSON.parse(t) as jose.FlattenedJWE, key, opts);
      expect(new TextDecoder().decode(res.plaintext), `${p.wrap}/${p.enc}`).toBe(p.plaintext);
    }
  });

  it('python3-jwcrypto decrypts every one', () => {
    const results = jwcrypto({ op: 'decrypt', cases: pairs.map((p) => ({ token: tokens.get(p), key: jwk(p) })) }) as { ok: boolean; plaintext?: string; error?: string }[];
    results.forEach((r, i) => expect(r, `${pairs[i]!.wrap}/${pairs[i]!.enc}`).toEqual({ ok: true, plaintext: pairs[i]!.plaintext }));
  });
});

describe(`peers → aes-payload (${pairs.length} pairs)`, () => {
  it('aes-payload decrypts what npm jose writes', async () => {
    for (const p of pairs) {
      const pt = new TextEncoder().encode(p.plaintext);
      const key = joseKey(p, true);
      const kmp = p.wrap.startsWith('PBES2') ? { p2c: 2048 } : {};
      const t = p.compact
        ? await new jose.CompactEncrypt(pt).setProtectedHeader({ alg: p.wrap, enc: p.enc }).setKeyManagementParameters(kmp).encrypt(key)
        : JSON.stringify(await new jose.FlattenedEncrypt(pt).setProtectedHeader({ alg: p.wrap, enc: p.enc }).setKeyManagementParameters(kmp).encrypt(key));
      expect(cliDecrypt(p, t)).toBe(p.plaintext);
    }
  });

  it('aes-payload decrypts what python3-jwcrypto writes', () => {
    const tokens = jwcrypto({
      op: 'encrypt',
      cases: pairs.map((p) => ({ alg: p.wrap, enc: p.enc, key: jwk(p), plaintext: p.plaintext, compact: p.compact })),
    }) as string[];
    pairs.forEach((p, i) => expect(cliDecrypt(p, tokens[i]!)).toBe(p.plaintext));
  });
});

describe('several recipients (general JSON JWE)', () => {
  const keys = Array.from({ length: 3 }, () => generateKeyPairSync('rsa', { modulusLength: 2048 }));
  const pubFiles = keys.map((k, i) => {
    const f = join(dir, `team${i}.pub`);
    writeFileSync(f, k.publicKey.export({ format: 'pem', type: 'spki' }));
    return f;
  });
  const plaintext = '{"to":"everyone"}';

  it('repeated --recipient writes one general JWE that npm jose and python3-jwcrypto decrypt with each private key', async () => {
    const e = run(['encrypt', '--format', 'jwe-json', ...pubFiles.flatMap((f) => ['--recipient', f])], { input: plaintext });
    expect(e.code, e.stderr).toBe(0);
    const jwe = JSON.parse(e.out) as { recipients: { header: { alg: string; kid: string } }[] };
    expect(jwe.recipients).toHaveLength(3);
    expect(jwe.recipients.map((r) => r.header.alg)).toEqual(['RSA-OAEP-256', 'RSA-OAEP-256', 'RSA-OAEP-256']);
    for (const k of keys) {
      const r = await jose.generalDecrypt(jwe as unknown as jose.GeneralJWE, k.privateKey);
      expect(Buffer.from(r.plaintext).toString()).toBe(plaintext);
    }
    const cases = keys.map((k) => ({ token: e.out.trim(), key: k.privateKey.export({ format: 'jwk' }) }));
    const py = runPeer(PYTHON, [join(ROOT, 'test/peers/jwe_peer.py')], JSON.stringify({ op: 'decrypt', cases }));
    expect(py.code, py.stderr).toBe(0);
    expect((JSON.parse(py.out) as { results: { ok: boolean; plaintext: string }[] }).results).toEqual(keys.map(() => ({ ok: true, plaintext })));
    // and aes-payload itself, with each private key
    for (const [i, k] of keys.entries()) {
      const f = join(dir, `team${i}.pem`);
      writeFileSync(f, k.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
      expect(run(['decrypt', '--key-file', f], { input: e.stdout }).out).toBe(plaintext);
    }
  });

  it('--recipients-file takes a JWK Set, PEM blocks, or one JWK per line; compact JWE with several exits 2', () => {
    const jwks = keys.map((k) => k.publicKey.export({ format: 'jwk' }));
    const files = {
      set: JSON.stringify({ keys: jwks }),
      pem: keys.map((k) => k.publicKey.export({ format: 'pem', type: 'spki' })).join(''),
      lines: `# team keys\n${jwks.map((j) => JSON.stringify(j)).join('\n')}\n\n`,
    };
    for (const [name, text] of Object.entries(files)) {
      const f = join(dir, `recipients-${name}`);
      writeFileSync(f, text);
      const e = run(['encrypt', '--format', 'jwe-json', '--recipients-file', f], { input: plaintext });
      expect(e.code, `${name}: ${e.stderr}`).toBe(0);
      expect((JSON.parse(e.out) as { recipients: unknown[] }).recipients).toHaveLength(3);
    }
    const c = run(['encrypt', '--format', 'jwe', '--recipient', pubFiles[0]!, '--recipient', pubFiles[1]!], { input: plaintext });
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/compact JWE holds one recipient, and 2 were given; use --format jwe-json/);
    expect(c.out).toBe('');
  });
});
