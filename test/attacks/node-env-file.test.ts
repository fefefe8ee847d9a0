// Attack class: code run by Node itself from an encrypted file. Node scans
// its whole command line for --env-file and --env-file-if-exists
// (nodejs/node#54232) and applies the file before any of our code runs,
// NODE_OPTIONS included. A line added to the plaintext part of an encrypted
// .env then runs code with the key in its environment, before anything is
// authenticated. The shipped entry point must be immune to every spelling,
// wherever it stands on the command line, and no option of ours may be one.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, baseEnv } from '../helpers.js';
import { ENV, KEY_HEX, enc, workspace } from './attack.js';

const ws = workspace();
const marker = join(ws.dir, 'pwned');
const evil = ws.file('evil.cjs', `require('fs').writeFileSync(${JSON.stringify(marker)}, process.env.AES_PAYLOAD_KEY ? 'the key was in reach' : 'ran');\n`);
const good = enc(['--fields', 'DB_PASSWORD', '--input-type', 'env', '-'], 'DB_PASSWORD=hunter2\nDB_HOST=db.local\n');
// The attacker's line, in the part of the file that is not encrypted.
const tampered = ws.file('app.env.aesp', `NODE_OPTIONS="--require=${evil}"\n${good}`);
const plain = ws.file('ok.env.aesp', good);

// As npm installs it: a symlink in node_modules/.bin, run through its #! line.
const binDir = join(ws.dir, 'node_modules/.bin');
mkdirSync(binDir, { recursive: true });
symlinkSync(BIN, join(binDir, 'aes-payload'));
chmodSync(BIN, 0o755);
const ENTRY_POINTS = { 'bin/aes-payload.js': BIN, 'node_modules/.bin/aes-payload': join(binDir, 'aes-payload') };

function shipped(entry: string, args: string[]) {
  rmSync(marker, { force: true });
  const r = spawnSync(entry, args, { env: baseEnv(ENV), cwd: ws.dir, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ran: existsSync(marker) };
}

const SPELLINGS: [string, string[]][] = [
  ['--env-file FILE', ['--env-file', tampered]],
  ['--env-file=FILE', [`--env-file=${tampered}`]],
  ['--env-file-if-exists FILE', ['--env-file-if-exists', tampered]],
  ['--env-file-if-exists=FILE', [`--env-file-if-exists=${tampered}`]],
];

describe('Node never applies a file named on our command line', () => {
  for (const [entryName, entry] of Object.entries(ENTRY_POINTS)) {
    for (const [spelling, arg] of SPELLINGS) {
      it(`${entryName}: ${spelling}, anywhere before --, runs nothing and is refused (exit 2)`, () => {
        for (const args of [
          ['exec', ...arg, '--', 'true'],
          ['exec', '-f', plain, ...arg, '--', 'true'],
          [...arg, 'exec', '-f', plain, '--', 'true'],
          ['decrypt', ...arg],
          ['verify', plain, ...arg],
        ]) {
          const r = shipped(entry, args);
          expect(r.ran, `${args.join(' ')}: Node ran the attacker's NODE_OPTIONS`).toBe(false);
          expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
          expect(r.stderr).toMatch(/^aes-payload: .*--env-file.* -f/m);
        }
      });
    }
  }

  it('-f and --file read the file; a tampered file runs nothing (exit 1)', () => {
    const show = ['--', 'sh', '-c', 'printf "%s|%s" "$DB_PASSWORD" "${AES_PAYLOAD_KEY:-}"'];
    for (const flag of ['-f', '--file']) {
      const ok = shipped(BIN, ['exec', flag, plain, ...show]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toBe('hunter2|');
      const bad = shipped(BIN, ['exec', flag, tampered, ...show]);
      expect(bad.code).toBe(1);
      expect(bad.ran).toBe(false);
      expect(bad.stdout).toBe('');
    }
  });

  it('after --, the arguments are the command\'s own: a --env-file there is passed on, not refused', () => {
    const r = shipped(BIN, ['exec', '-f', plain, '--', 'sh', '-c', 'echo "$1"', 'sh', '--env-file=x']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('--env-file=x\n');
    expect(KEY_HEX.length).toBe(64);
  });
});
