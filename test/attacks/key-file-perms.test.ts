// Attack class 10: a key written into an existing file that others can
// read. aes-payload tightens the file to 0600 and says so.
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, workspace } from './attack.js';

const { dir } = workspace();

describe('key files end up 0600', () => {
  it('keygen --ini into an existing 0644 file tightens it to 0600 and says so', () => {
    const p = join(dir, 'development.ini');
    writeFileSync(p, '[app:main]\nuse = egg:app\n');
    chmodSync(p, 0o644);
    const r = cli(['keygen', '--ini', p], '', {});
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(r.stderr).toMatch(/0644.*0600|0600.*0644/);
    expect(readFileSync(p, 'utf8')).toMatch(/^use = egg:app$/m);
  });

  it('keygen -o --force over an existing 0644 file leaves a 0600 file', () => {
    const p = join(dir, 'k.key');
    writeFileSync(p, 'old\n');
    chmodSync(p, 0o644);
    const r = cli(['keygen', '-o', p, '--force'], '', {});
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(p).mode & 0o777).toBe(0o600);
  });
});
