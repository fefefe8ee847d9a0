// Attack class: an unauthenticated kid handed to a key command. decrypt
// tells a key command which key the input wants through AES_PAYLOAD_KID,
// read from the input before anything is authenticated. A JWE's kid is
// anyone's text: new lines, `../`, `$(id)`, bidi characters, a NUL (which
// used to be exit 70, "internal error"), 200 KB (exit 70, "spawn E2BIG").
// Such a kid must never reach the command: refused with exit 4, and the
// command not run. Kids as aes-payload and the common KMSs write them pass.
import { createCipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, refused, workspace } from './attack.js';

const ws = workspace();
const key = randomBytes(32);
const marker = join(ws.dir, 'ran');
const cmd = ws.file('key.sh', `#!/bin/sh\nprintf '%s' "$AES_PAYLOAD_KID" > '${marker}'\necho ${key.toString('hex')}\n`);
(await import('node:fs')).chmodSync(cmd, 0o700);

function jwe(kid: string): string {
  const prot = Buffer.from(JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid })).toString('base64url');
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(prot, 'ascii'));
  const ct = Buffer.concat([c.update('secret'), c.final()]);
  return `${prot}..${iv.toString('base64url')}.${ct.toString('base64url')}.${c.getAuthTag().toString('base64url')}\n`;
}

describe('a kid from the input reaches a key command only when it is a plain identifier', () => {
  const hostile: [string, string][] = [
    ['a new line', 'a\nb'],
    ['a path going up', '../../etc/passwd'],
    ['a command substitution', '$(id)'],
    ['a bidi override', 'key\u202eevil'],
    ['a NUL', 'a\u0000b'],
    ['200 KB', 'k'.repeat(200_000)],
    ['a leading dash (an option to the command)', '-rf'],
    ['a space', 'my key'],
    ['nothing', ''],
  ];
  it.each(hostile)('refuses a kid with %s (exit 4), without running the command', (_n, kid) => {
    rmSync(marker, { force: true });
    const line = refused(cli(['decrypt', '--key-cmd', cmd, '-'], jwe(kid), {}), 4);
    expect(line).toMatch(/kid/);
    expect(line.length).toBeLessThan(400);
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    ['an aes-payload kid', '5f0b2f6c0f6d1e7a'],
    ['an AWS KMS key ARN', 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
    ['a Google Cloud KMS key version', 'projects/p/locations/europe/keyRings/r/cryptoKeys/k/cryptoKeyVersions/3'],
    ['an RFC 7638 thumbprint', 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'],
    ['a Vault-style name', 'transit/app@2024.v2+blue='],
  ])('passes %s to the command', (_n, kid) => {
    rmSync(marker, { force: true });
    const r = cli(['decrypt', '--key-cmd', cmd, '-'], jwe(kid), {});
    expect(r.stderr).toBe('');
    expect(r.out).toBe('secret');
    expect(readFileSync(marker, 'utf8')).toBe(kid);
  });
});
