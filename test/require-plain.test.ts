// verify --require on a document that is still all plaintext (issue 20,
// item 4): for .env and YAML as for JSON, the report names the values in the
// clear instead of failing on the input's format.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, tempDir } from './helpers.js';

const dir = tempDir();
const K = { AES_PAYLOAD_KEY: '00'.repeat(32) };
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('verify --require on plaintext', () => {
  it('app.yaml and .env name the value in the clear (exit 4), with or without a key, as JSON does', () => {
    const cases: [string, string, string][] = [
      ['app.yaml', 'db:\n  host: h\n  password: hunter2\n', '["db","password"]'],
      ['.env', '# db\nDB_HOST=h\nDB_PASSWORD=hunter2\n', '["DB_PASSWORD"]'],
      ['app.json', '{"db":{"host":"h","password":"hunter2"}}', '["db","password"]'],
    ];
    for (const [name, text, where] of cases) {
      const p = file(name, text);
      const paths = name === '.env' ? '*_PASSWORD' : '**.password';
      for (const keyArgs of [[], ['--no-key']]) {
        const r = run(['verify', ...keyArgs, '--require', paths, p], { env: keyArgs.length ? {} : K });
        expect(r.code, `${name} ${keyArgs.join(' ')}: ${r.stderr}`).toBe(4);
        expect(r.stderr).toContain(`plaintext at ${where}`);
        expect(r.stderr).not.toMatch(/base64/);
        expect(r.stderr).not.toContain('hunter2');
      }
    }
    // From stdin, the type comes from --format.
    const s = run(['verify', '--format', 'yaml', '--require', 'db.password', '-'], { env: K, input: 'db:\n  password: hunter2\n' });
    expect(s.code).toBe(4);
    expect(s.stderr).toContain('plaintext at ["db","password"]');
  });
});
