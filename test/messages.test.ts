// Messages that say what to do (review of issue 20, finding 11): each one
// spawned through the built CLI, with its exit code.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { oneLineError, run, tempDir } from './helpers.js';

const dir = tempDir();
const key = randomBytes(32).toString('hex');
const env = { AES_PAYLOAD_KEY: key };

describe('messages (review 20.11)', () => {
  it('URL-safe base64 raw input is named as such (exit 4)', () => {
    const e = run(['encrypt', '--format', 'raw'], { input: 'hello', env });
    let text = e.out.trim();
    // find a ciphertext whose base64 has + or /
    for (let i = 0; !/[+/]/.test(text) && i < 50; i++) text = run(['encrypt', '--format', 'raw'], { input: 'hello', env }).out.trim();
    expect(text).toMatch(/[+/]/);
    const r = run(['decrypt'], { input: text.replace(/\+/g, '-').replace(/\//g, '_'), env });
    expect(r.code).toBe(4);
    expect(oneLineError(r.stderr)).toMatch(/not valid base64: it is URL-safe base64 \(- and _\)/);
  });

  it('raw CBC read without --alg: the authentication failure says it was read as GCM and names --alg A256CBC (exit 1); with it, it opens', () => {
    const e = run(['encrypt', '--format', 'raw', '--alg', 'A256CBC'], { input: 'hello world', env });
    expect(e.code, e.stderr).toBe(0);
    const r = run(['decrypt'], { input: e.out, env });
    expect(r.code).toBe(1);
    expect(oneLineError(r.stderr)).toMatch(/^aes-payload: authentication failed: wrong key or tampered data \(read as A256GCM, as no --alg was given; .*--alg A256CBC\)$/);
    expect(run(['decrypt', '--alg', 'A256CBC'], { input: e.out, env }).out).toBe('hello world');
    // a GCM input of a length CBC cannot have gets the plain message
    const g = run(['encrypt', '--format', 'raw'], { input: 'hello', env });
    const other = run(['decrypt'], { input: g.out, env: { AES_PAYLOAD_KEY: randomBytes(32).toString('hex') } });
    expect(other.code).toBe(1);
    expect(oneLineError(other.stderr)).toBe('aes-payload: authentication failed: wrong key or tampered data');
  });

  it('-o into a directory that takes no new files (/proc) says so, not "no such file" (exit 5)', () => {
    const e = run(['encrypt'], { input: 'x', env });
    const f = join(dir, 'e.json');
    writeFileSync(f, e.stdout);
    const r = run(['decrypt', '-o', '/proc/version', '--force', f], { env });
    expect(r.code).toBe(5);
    const line = oneLineError(r.stderr);
    expect(line).not.toMatch(/no such file/);
    expect(line).toMatch(/\/proc takes no new files.*write to stdout/);
  });

  it('a field document over the in-memory limit is not told to use --format stream, which takes no --fields', async () => {
    const { tooLarge } = await import('../src/io/input.js');
    expect(tooLarge(64 * 1048576, 'fields').message).toMatch(/limit of --fields.*--format stream \(which takes no --fields\)/);
    expect(tooLarge(64 * 1048576, 'none').message).not.toMatch(/use --format stream/);
    expect(tooLarge(64 * 1048576).message).toMatch(/use --format stream/);
  });

  it('verify --embedded-key authenticates encrypt --random-key output (exit 0); a tampered one fails (exit 1)', () => {
    const e = run(['encrypt', '--random-key'], { input: '{"a":1}' });
    expect(e.code, e.stderr).toBe(0);
    const f = join(dir, 'rk.json');
    writeFileSync(f, e.stdout);
    const v = run(['verify', '--embedded-key', f]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toMatch(/^OK .*A256GCM/m);
    const env2 = JSON.parse(e.out);
    const ct = Buffer.from(env2.data ?? env2.ct ?? env2.ciphertext, 'base64');
    ct[0]! ^= 1;
    const field = 'data' in env2 ? 'data' : 'ct' in env2 ? 'ct' : 'ciphertext';
    writeFileSync(f, JSON.stringify({ ...env2, [field]: ct.toString('base64') }));
    expect(run(['verify', '--embedded-key', f]).code).toBe(1);
    expect(run(['verify', '--embedded-key', '--key-env', 'X', f], { env: { X: key } }).code).toBe(2);
    // with no key at all, verify points at --embedded-key (as decrypt does), exit 4
    writeFileSync(f, e.stdout);
    const nk = run(['verify', f]);
    expect(nk.code).toBe(4);
    expect(nk.stderr).toMatch(/carries its own key .*pass --embedded-key/);
  });

  it('--nonce-bytes 16 with an envelope: the usage error (exit 2) says what the input is', () => {
    const e = run(['encrypt'], { input: 'x', env });
    for (const cmd of ['decrypt', 'verify']) {
      const r = run([cmd, '--nonce-bytes', '16'], { input: e.out, env });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/this input is an envelope, which records its own nonce: drop --nonce-bytes/);
    }
  });
});
