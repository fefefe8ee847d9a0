// Properties of issue 11, checked with fast-check through the library (real
// node:crypto, nothing mocked):
// 1. a token or header moved, removed, added or copied between documents or
//    records always fails;
// 2. any JSON with no authenticated content fails in auto mode, with or
//    without a key;
// 3. no ciphertext of one native format decrypts as another.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AesPayloadError, decrypt, encrypt, parsePaths, verify } from '../../src/index.js';

const key = randomBytes(32);
const b64 = (s: string) => Buffer.from(s, 'base64url').toString('base64');

/** decrypt must throw an expected error, never return. */
function fails(text: string, k: Uint8Array | undefined = key, opts = {}): void {
  let out: unknown;
  try {
    out = decrypt(text, k, opts);
  } catch (e) {
    if (e instanceof AesPayloadError) {
      expect([1, 3, 4]).toContain(e.exitCode);
      return;
    }
    throw e;
  }
  throw new Error(`decrypted: ${JSON.stringify(out)}`);
}

// Documents: a root object with a few members of any JSON value, the first
// two (at least) encrypted.
const member = fc.string({ minLength: 1, maxLength: 6 }).filter((k) => k !== 'aesp' && !k.startsWith('aesp:'));
const value = fc.jsonValue({ maxDepth: 2 }).filter((v) => !JSON.stringify(v).includes('aesp:'));
const doc = fc.uniqueArray(fc.tuple(member, value), { minLength: 2, maxLength: 5, selector: (t) => t[0] }).map((entries) => Object.fromEntries(entries) as Record<string, unknown>);

function encryptDoc(d: Record<string, unknown>, extra: { macOnlyEncrypted?: boolean } = {}): Record<string, unknown> {
  const names = Object.keys(d).slice(0, 2).map((n) => `[${JSON.stringify(n)}]`).join(',');
  return JSON.parse(encrypt(JSON.stringify(d), key, { fields: parsePaths(names), ...extra }).text) as Record<string, unknown>;
}
const tokensOf = (e: Record<string, unknown>) => Object.entries(e).filter(([k, v]) => k !== 'aesp' && typeof v === 'string' && v.startsWith('aesp:2:'));

describe('property: tokens and headers cannot move', () => {
  it('a token moved into another document (or record) fails', () => {
    fc.assert(
      fc.property(doc, doc, fc.boolean(), (a, b, mac) => {
        const ea = encryptDoc(a, { macOnlyEncrypted: mac });
        const eb = encryptDoc(b, { macOnlyEncrypted: mac });
        const [ka, ta] = tokensOf(ea)[0]!;
        const [kb] = tokensOf(eb)[0]!;
        fails(JSON.stringify({ ...eb, [kb]: ta })); // replacing one of b's tokens
        fails(JSON.stringify({ ...eb, [`${ka}x`]: ta })); // added to b
      }),
      { numRuns: 60 },
    );
  });

  it('a token removed, added, duplicated or swapped within its document fails', () => {
    fc.assert(
      fc.property(doc, value, fc.boolean(), (a, plain, mac) => {
        const e = encryptDoc(a, { macOnlyEncrypted: mac });
        const [[k1, t1], [k2, t2]] = tokensOf(e) as [[string, string], [string, string]];
        const without = { ...e };
        delete without[k1];
        fails(JSON.stringify(without));
        fails(JSON.stringify({ ...e, [k1]: plain }));
        fails(JSON.stringify({ ...e, [k1]: t2, [k2]: t1 }));
        fails(JSON.stringify({ ...e, [`${k1}2`]: t1 }));
      }),
      { numRuns: 60 },
    );
  });

  it('a header removed, or copied from another document, fails', () => {
    fc.assert(
      fc.property(doc, doc, (a, b) => {
        const ea = encryptDoc(a);
        const eb = encryptDoc(b);
        const { aesp: _, ...bare } = ea;
        fails(JSON.stringify(bare));
        fails(JSON.stringify({ ...ea, aesp: eb.aesp }));
      }),
      { numRuns: 60 },
    );
  });

  it('and the unmodified documents still decrypt to what went in', () => {
    fc.assert(
      fc.property(doc, (a) => {
        const text = JSON.stringify(a);
        const e = encrypt(text, key, { fields: parsePaths(Object.keys(a).map((n) => `[${JSON.stringify(n)}]`).join(',')) }).text;
        expect(decrypt(e, key).plaintext.toString()).toBe(text);
      }),
      { numRuns: 60 },
    );
  });
});

describe('property: JSON with no authenticated content fails in auto mode', () => {
  // Strings that look like ours: prefixes, a header, tokens with random parts.
  const lookalike = fc.oneof(
    fc.constantFrom('aesp:', 'aesp:1:', 'aesp:2:', 'aesp:2:doc:', 'aesp:2:doc:all:0000000000000000:AAAAAAAAAAAAAAAAAAAAAA:' + 'A'.repeat(43)),
    fc.tuple(fc.constantFrom('aesp:1:', 'aesp:2:'), fc.constantFrom('A256GCM', 'A128GCM'), fc.stringMatching(/^[0-9a-f]{16}$/), fc.base64String()).map(([p, a, k, r]) => `${p}${a}:${k.toLowerCase()}:${r.replace(/[+/=]/g, 'A')}::`),
    fc.string(),
  );
  const hostile = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, lookalike, fc.integer(), fc.boolean(), fc.constant(null), fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.oneof(lookalike, fc.constantFrom('aesp', 'v', 'nonce', 'data', 'mac', 'ciphertext', 'iv', 'tag', 'protected')), tie('v'), { maxKeys: 4 })),
  })).v;
  const keyName = fc.oneof(lookalike, fc.constantFrom('aesp', 'v', 'nonce', 'data', 'mac', 'ciphertext', 'iv', 'tag', 'protected'));
  // Every sample is a JSON object or array at the top.
  const container = fc.oneof(fc.array(hostile, { maxLength: 4 }), fc.dictionary(keyName, hostile, { maxKeys: 5 }));

  it('decrypt throws and verify fails, with a key and with none', () => {
    fc.assert(
      fc.property(container, (v) => {
        const text = JSON.stringify(v);
        fails(text);
        fails(text, undefined);
        expect(verify(text, key).ok).toBe(false);
      }),
      { numRuns: 400 },
    );
  });
});

describe('property: no native ciphertext decrypts as another format', () => {
  const payload = fc.uint8Array({ minLength: 0, maxLength: 64 });

  it('an envelope as raw, as a token, or as a GCMKW wrapped key; a token as an envelope; raw as an envelope', () => {
    fc.assert(
      fc.property(payload, (p) => {
        const env = JSON.parse(encrypt(p, key).text) as { nonce: string; data: string; mac: string; kid: string };
        const n = Buffer.from(env.nonce, 'base64');
        const d = Buffer.from(env.data, 'base64');
        const m = Buffer.from(env.mac, 'base64');
        fails(Buffer.concat([n, d, m]).toString('base64'), key, { format: 'raw' });
        // as a token of a document
        const host = JSON.parse(encrypt('{"a":"x","b":1}', key, { fields: parsePaths('a') }).text) as Record<string, string>;
        const tok = `aesp:2:A256GCM:${env.kid}:${n.toString('base64url')}:${d.toString('base64url')}:${m.toString('base64url')}`;
        fails(JSON.stringify({ ...host, a: tok }));
        // as the wrapped CEK of a compact A256GCMKW JWE (needs 32 bytes of plaintext to be a CEK at all)
        const hdr = Buffer.from(JSON.stringify({ alg: 'A256GCMKW', enc: 'A256GCM', iv: n.toString('base64url'), tag: m.toString('base64url') })).toString('base64url');
        fails([hdr, d.toString('base64url'), randomBytes(12).toString('base64url'), 'AAAA', randomBytes(16).toString('base64url')].join('.'));
        // a token as an envelope
        const t = (host.a as string).split(':');
        fails(JSON.stringify({ v: 2, alg: 'A256GCM', kid: t[3], nonce: b64(t[4]!), data: b64(t[5]!), mac: b64(t[6]!) }));
        // raw as an envelope
        const r = Buffer.from(encrypt(p, key, { format: 'raw' }).text, 'base64');
        fails(JSON.stringify({ v: 2, alg: 'A256GCM', kid: env.kid, nonce: r.subarray(0, 12).toString('base64'), data: r.subarray(12, -16).toString('base64'), mac: r.subarray(-16).toString('base64') }));
      }),
      { numRuns: 60 },
    );
  });

  it('a JWE A256GCMKW wrapped key as an envelope', () => {
    fc.assert(
      fc.property(payload, (p) => {
        const jwe = encrypt(p, key, { format: 'jwe', wrap: 'A256GCMKW' }).text;
        const [ph, ek] = jwe.split('.');
        const h = JSON.parse(Buffer.from(ph!, 'base64url').toString()) as { iv: string; tag: string; kid: string };
        fails(JSON.stringify({ v: 2, alg: 'A256GCM', kid: h.kid, nonce: b64(h.iv), data: b64(ek!), mac: b64(h.tag) }));
      }),
      { numRuns: 30 },
    );
  });
});
