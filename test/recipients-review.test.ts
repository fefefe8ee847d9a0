// Outside review of recipients in field documents (issue 22, findings 22b): each finding's attack,
// run through the built CLI.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRecipient } from '../src/formats/age/index.js';
import { oneLineError, run, tempDir } from './helpers.js';

const dir = tempDir();
let n = 0;
const tmp = (name: string) => join(dir, `${n++}-${name}`);
function key(): { file: string; recipient: string } {
  const file = tmp('key.txt');
  const r = run(['keygen', '--age', '-o', file]);
  expect(r.code, r.stderr).toBe(0);
  return { file, recipient: /^# public key: (age1[a-z0-9]+)$/m.exec(readFileSync(file, 'utf8'))![1]! };
}
const [A, B, C] = [key(), key(), key()];
const pubs = (ks: { recipient: string }[]) => ks.flatMap((k) => ['-r', k.recipient]);
function write(text: string, name: string): string {
  const f = tmp(name);
  writeFileSync(f, text);
  return f;
}
const BASE = { env: 'DB_PASSWORD=hunter2\nDB_HOST=db.local\n', json: '{\n  "DB_PASSWORD": "hunter2",\n  "DB_HOST": "db.local"\n}\n', yaml: 'DB_PASSWORD: hunter2\nDB_HOST: db.local\n' } as const;
type Kind = keyof typeof BASE;
const it_ = (kind: Kind) => (kind === 'json' ? [] : ['--input-type', kind]);
function sealed(kind: Kind, text: string = BASE[kind], to = [A, B]): string {
  const src = write(text, `base.${kind}`);
  const r = run(['encrypt', '--fields', 'DB_PASSWORD', ...pubs(to), ...it_(kind), src, '-o', `${src}.aesp`]);
  expect(r.code, r.stderr).toBe(0);
  return `${src}.aesp`;
}

describe('finding 1: a public-key writer never bricks the document', () => {
  for (const kind of ['env', 'json', 'yaml'] as const) {
    it(`${kind}: editing a value in place is refused (exit 2, nothing written, hint says append); appending replaces it on read and keeps the MAC`, () => {
      const f = sealed(kind);
      const text = readFileSync(f, 'utf8');
      // The reviewer's path: the new value written in the clear in place of the token.
      const inPlace = write(text.replace(/aesp:2:A256GCM:[A-Za-z0-9_:-]+/, 'newpw'), `inplace.${kind}`);
      const r = run(['encrypt', '--fields', 'DB_PASSWORD', ...pubs([A, B]), ...it_(kind), inPlace, '-o', `${inPlace}.out`]);
      expect(r.code).toBe(2);
      expect(oneLineError(r.stderr)).toMatch(/cannot change.*(append the line DB_PASSWORD|add "DB_PASSWORD": "value" as a new last member)/);
      expect(() => readFileSync(`${inPlace}.out`)).toThrow();
      // Also a plaintext value of the body (DB_HOST), which the MAC covers.
      const host = write(text.replace(/db\.local/, 'evil.example'), `host.${kind}`);
      expect(run(['encrypt', '--fields', 'DB_HOST', ...pubs([A, B]), ...it_(kind), host, '-o', `${host}.out`]).code).toBe(2);
      // What the hint says works: append after the recipients header.
      const add = {
        env: (t: string) => `${t}DB_PASSWORD=newpw\nDB_HOST=db2.local\n`,
        yaml: (t: string) => `${t}DB_PASSWORD: newpw\nDB_HOST: db2.local\n`,
        json: (t: string) => t.replace(/\n}\n$/, ',\n  "DB_PASSWORD": "newpw", "DB_HOST": "db2.local"\n}\n'),
      }[kind];
      const app = write(add(text), `app.${kind}`);
      const out = `${app}.out`;
      const s = run(['encrypt', '--fields', 'DB_PASSWORD,DB_HOST', ...pubs([A, B]), ...it_(kind), app, '-o', out]);
      expect(s.code, s.stderr).toBe(0);
      const after = readFileSync(out, 'utf8');
      expect(after).not.toContain('newpw');
      // The body (old values, tokens, MAC) is byte for byte the original's.
      const body = (t: string) => t.replace(/\n?.*aesp_pending.*\n?/, '\n');
      expect(body(after).replace(/\s+/g, '')).toBe(body(text).replace(/\s+/g, ''));
      const d = run(['decrypt', '-i', A.file, out]);
      expect(d.code, d.stderr).toBe(0);
      expect(d.out).toMatch(/newpw/);
      expect(d.out).toMatch(/db2\.local/);
      expect(d.out).not.toMatch(/hunter2/);
      expect(d.stderr).toMatch(/pending/);
      expect(d.stderr).toMatch(/replac/);
      const sealedNow = run(['recipients', 'seal', out, '-i', B.file]);
      expect(sealedNow.code, sealedNow.stderr).toBe(0);
      expect(run(['verify', '--strict', '-i', A.file, out]).code).toBe(0);
      const d2 = run(['decrypt', '-i', A.file, out]);
      expect(d2.out).toMatch(/newpw/);
      expect(d2.out).not.toMatch(/hunter2/);
    });
  }
});
