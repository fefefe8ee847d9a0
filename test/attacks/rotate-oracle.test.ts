// Attack class 3: rotate as a CBC padding oracle. rotate must go through
// decrypt's own path: plain A*CBC needs an explicit --alg, so an attacker's
// CBC envelope is refused (the same way whatever its padding), never turned
// into an authenticated envelope, and A*CBC is never kept silently.
import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keyId } from '../../src/keys/kid.js';
import { ENV, KEY, cli, enc, workspace } from './attack.js';

const { file } = workspace();
let n = 0;

/** A plain-CBC envelope as an attacker would write it (or as version 0.1 wrote it), with the victim's kid. */
function cbcEnvelope(iv: Buffer, data: Buffer, v = 1): string {
  return `${JSON.stringify({ v, alg: 'A256CBC', kid: keyId(KEY), nonce: iv.toString('base64'), data: data.toString('base64') })}\n`;
}

function rotate(text: string, extra: string[] = []): { code: number | null; stderr: string; after: string } {
  const p = file(`r${n++}.json`, text);
  const r = cli(['rotate', '--to-key-env', 'AES_PAYLOAD_KEY', ...extra, p]);
  return { code: r.code, stderr: r.stderr.replace(p, 'FILE'), after: readFileSync(p, 'utf8') };
}

describe('rotate is not a padding oracle', () => {
  // What a padding-oracle attacker ends up holding: a CBC ciphertext with
  // valid padding that the key holder never wrote (simulated here with the
  // key), next to one with bad padding.
  const iv = randomBytes(16);
  const c = createCipheriv('aes-256-cbc', KEY, iv);
  const goodPadding = cbcEnvelope(iv, Buffer.concat([c.update('{"role":"admin"}'), c.final()]));
  const badPadding = cbcEnvelope(randomBytes(16), randomBytes(32));

  it('refuses plain-CBC envelopes without --alg, the same way whatever the padding, and leaves the file untouched', () => {
    for (const extra of [[], ['--allow-legacy']]) {
      const good = rotate(goodPadding, extra);
      const bad = rotate(badPadding, extra);
      expect(good.code, good.stderr).toBe(4);
      expect(bad.code, bad.stderr).toBe(4);
      expect(good.stderr).toBe(bad.stderr);
      expect(good.after).toBe(goodPadding);
      expect(bad.after).toBe(badPadding);
    }
    expect(rotate(goodPadding, ['--allow-legacy']).stderr).toMatch(/unauthenticated/);
  });

  it('a version-2 envelope naming plain CBC is refused whatever its padding', () => {
    const c2 = createCipheriv('aes-256-cbc', KEY, iv);
    const good = rotate(cbcEnvelope(iv, Buffer.concat([c2.update('x'), c2.final()]), 2), ['--alg', 'A256CBC']);
    const bad = rotate(cbcEnvelope(randomBytes(16), randomBytes(32), 2), ['--alg', 'A256CBC']);
    expect(good.code).toBe(4);
    expect(good.stderr).toBe(bad.stderr);
  });

  it('--json reports the two the same way', () => {
    const rows = [goodPadding, badPadding].map((t) => {
      const p = file(`j${n++}.json`, t);
      const r = cli(['rotate', '--to-key-env', 'AES_PAYLOAD_KEY', '--json', p]);
      return (JSON.parse(r.out) as { ok: boolean; error: string }[])[0]!;
    });
    expect(rows[0]).toEqual({ ...rows[1], file: rows[0]!.file });
    expect(rows[0]!.ok).toBe(false);
  });

  it('a forged CBC envelope never becomes an authenticated envelope that decrypts', () => {
    const r = rotate(goodPadding);
    expect(r.after).toBe(goodPadding);
    const d = cli(['decrypt'], r.after);
    expect(d.code).toBe(4);
    expect(d.out).toBe('');
  });

  it('with --allow-legacy --alg A256CBC, the owner can upgrade an old CBC envelope: the output is A256GCM, and rotate says so', () => {
    const iv2 = randomBytes(16);
    const c3 = createCipheriv('aes-256-cbc', KEY, iv2);
    const mine = cbcEnvelope(iv2, Buffer.concat([c3.update('legacy secret'), c3.final()]));
    const r = rotate(mine, ['--allow-legacy', '--alg', 'A256CBC']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/A256CBC.*unauthenticated.*A256GCM/);
    expect(JSON.parse(r.after).alg).toBe('A256GCM');
    const d = cli(['decrypt'], r.after);
    expect(d.code, d.stderr).toBe(0);
    expect(d.out).toBe('legacy secret');
  });

  it('raw input is read with decrypt\'s rules too: plain CBC only with --alg, and then kept loudly (old services read raw)', () => {
    const raw = enc(['--format', 'raw', '--alg', 'A256CBC'], 'raw legacy');
    const refusedRaw = rotate(raw);
    // Without --alg, raw input is read as A256GCM, so CBC bytes fail to authenticate.
    expect(refusedRaw.code).toBe(1);
    expect(refusedRaw.after).toBe(raw);
    const kept = rotate(raw, ['--alg', 'A256CBC']);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stderr).toMatch(/kept A256CBC, which is unauthenticated/);
    expect(kept.after).not.toBe(raw);
    const d = cli(['decrypt', '--format', 'raw', '--alg', 'A256CBC'], kept.after);
    expect(d.out).toBe('raw legacy');
  });

  it('applies decrypt\'s --allow-alg to JWE input', () => {
    const jwe = enc(['--format', 'jwe', '--wrap', 'A256KW'], 'x');
    const r = rotate(jwe, ['--allow-alg', 'dir,A256GCM']);
    expect(r.code, r.stderr).toBe(4);
    expect(r.after).toBe(jwe);
    expect(ENV.AES_PAYLOAD_KEY).toBeTruthy();
  });
});
