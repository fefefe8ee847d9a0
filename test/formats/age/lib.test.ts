// The age library layer (src/formats/age) as other formats use it: key encodings (the
// spec's own example), wrapFileKey/unwrapFileKey, the mixing rules, and armor round trips
// of the testkit's armored vectors.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ArmorDecoder, ArmorEncoder } from '../../../src/formats/age/armor.js';
import { bech32Decode } from '../../../src/formats/age/bech32.js';
import {
  bufferReader,
  decryptAge,
  encryptAge,
  formatIdentity,
  generateIdentity,
  NoIdentityMatchedError,
  parseIdentity,
  parseRecipient,
  recipientOf,
  unwrapFileKey,
  wrapFileKey,
} from '../../../src/formats/age/index.js';

describe('age keys', () => {
  it("the spec's example identity gives the spec's example recipient (C2SP age.md)", () => {
    const id = parseIdentity('AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX');
    expect(recipientOf(id)).toBe('age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj');
    expect(formatIdentity(id)).toBe('AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX');
  });

  it('mixed case, a bad checksum, the wrong case for the kind, and unknown types are refused', () => {
    expect(() => parseRecipient('age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwJ')).toThrow(/mixed case/);
    expect(() => parseRecipient('age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwq')).toThrow(/invalid checksum/);
    expect(() => parseIdentity('age-secret-key-1gfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpq4egaex')).toThrow(/upper case/);
    expect(() => parseRecipient('AGE1ZVKYG2LQZRAA2LNJVQEJ32NKUU0UES2S82HZRYE869XEEXVN73EQUNUJWJ')).toThrow(/lower case/);
    expect(() => parseRecipient('ssh-ed25519 AAAA')).toThrow(/not an age recipient/);
    expect('error' in bech32Decode('a1qqqqqq')).toBe(true);
  });
});

describe('wrapFileKey / unwrapFileKey', () => {
  it('wraps one file key to several recipients; each identity unwraps the same key; a stranger gets "no match"', () => {
    const a = generateIdentity();
    const b = generateIdentity();
    const fileKey = randomBytes(16);
    const stanzas = wrapFileKey(fileKey, [parseRecipient(recipientOf(a)), parseRecipient(recipientOf(b))]);
    expect(stanzas.map((s) => s.type)).toEqual(['X25519', 'X25519']);
    expect(stanzas.every((s) => s.body.length === 32 && s.args.length === 1)).toBe(true);
    expect(unwrapFileKey(stanzas, [a])).toEqual(fileKey);
    expect(unwrapFileKey(stanzas, [b])).toEqual(fileKey);
    expect(() => unwrapFileKey(stanzas, [generateIdentity()])).toThrow(NoIdentityMatchedError);
  });

  it('a passphrase stanza is alone, both ways', () => {
    const pass = { type: 'scrypt' as const, passphrase: Buffer.from('pass phrase'), logN: 10 };
    expect(() => wrapFileKey(randomBytes(16), [pass, parseRecipient(recipientOf(generateIdentity()))])).toThrow(/exactly one recipient/);
    const s = wrapFileKey(randomBytes(16), [pass]);
    const x = wrapFileKey(randomBytes(16), [parseRecipient(recipientOf(generateIdentity()))]);
    expect(() => unwrapFileKey([...s, ...x], [{ type: 'scrypt', passphrase: Buffer.from('pass phrase') }])).toThrow(/must be the only stanza/);
  });

  it('a file key that is not 16 bytes is refused', () => {
    expect(() => wrapFileKey(randomBytes(32), [parseRecipient(recipientOf(generateIdentity()))])).toThrow(/16 bytes/);
  });

  it('in memory: encryptAge / decryptAge, binary and armored', async () => {
    const id = generateIdentity();
    const plain = randomBytes(200_000);
    for (const armor of [false, true]) {
      const f = await encryptAge(plain, [parseRecipient(recipientOf(id))], { armor });
      expect((await decryptAge(f, [id])).equals(plain)).toBe(true);
    }
  });
});

describe('armor', () => {
  it('decode then encode gives back each successful armored testkit vector (LF, no outer white space)', async () => {
    const dir = join(import.meta.dirname, '../../vectors/age-testkit');
    let checked = 0;
    for (const name of readdirSync(dir)) {
      const raw = readFileSync(join(dir, name));
      const end = raw.indexOf('\n\n');
      const head = raw.subarray(0, end).toString();
      if (!/^armored: yes$/m.test(head) || !/^expect: success$/m.test(head)) continue;
      const body = raw.subarray(end + 2);
      const text = /^compressed: zlib$/m.test(head) ? inflateSync(body) : body;
      const dec = new ArmorDecoder(bufferReader(text));
      const bin = Buffer.alloc(1 << 20);
      const n = dec.read(bin);
      const out: Buffer[] = [];
      const enc = new ArmorEncoder((parts) => void out.push(...parts));
      await enc.begin();
      await enc.write([bin.subarray(0, n)]);
      await enc.end();
      const canonical = text.toString('latin1').replace(/\r\n/g, '\n').trim() + '\n';
      expect(Buffer.concat(out).toString('latin1'), name).toBe(canonical);
      checked++;
    }
    expect(checked).toBe(7);
  });
});
