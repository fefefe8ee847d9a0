// The usage table (src/cli/usage.ts): every option a row names is an option
// of its command (a typo would make a row that never fires), and rows are
// checked in order, the first match being the one-line error.
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { Ui } from '../../src/cli/ui.js';
import { checkUsage, DECRYPT, ENCRYPT, KEYGEN, VERIFY, type Table } from '../../src/cli/usage.js';
import { UsageError } from '../../src/errors.js';

/** Facts a request adds to the flags (src/cli/usage.ts `Facts`, and `paths`, `files`). */
const FACTS = ['keyFlag', 'ageIdentity', 'passphraseFlag', 'recipients', 'tty', 'paths', 'files'];

const tables: [string, Table<never>][] = [
  ['encrypt', ENCRYPT as Table<never>],
  ['decrypt', DECRYPT as Table<never>],
  ['verify', VERIFY as Table<never>],
  ['keygen', KEYGEN as Table<never>],
];

describe('the usage table', () => {
  for (const [name, table] of tables) {
    it(`${name}: every option a row names is one of its options`, async () => {
      const cmd = (await buildProgram(new Ui({}), name as 'encrypt')).commands.find((c) => c.name() === name)!;
      const options = new Set(cmd.options.map((o) => o.attributeName()));
      const named = Object.values(table).flatMap((rows) => rows.flatMap((r) => r.given ?? []));
      expect(named.length).toBeGreaterThan(3);
      expect(named.filter((n) => !options.has(n) && !FACTS.includes(n))).toEqual([]);
    });
  }

  it('rows are checked in order; the first that matches is the error, whatever comes after', () => {
    const err = (f: () => void) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      return undefined;
    };
    expect(err(() => checkUsage(ENCRYPT, 'flags', { format: 'json', armor: true, allowMissing: true }))).toBe('--armor needs --format stream or age');
    expect(err(() => checkUsage(ENCRYPT, 'flags', { format: 'json', allowMissing: true, failFast: true }))).toBe('--allow-missing needs --fields');
    expect(err(() => checkUsage(ENCRYPT, 'flags', { format: 'json', failFast: true }))).toBe('--fail-fast needs --lines');
    expect(err(() => checkUsage(ENCRYPT, 'flags', { format: 'stream', armor: true, lines: true, failFast: true }))).toBeUndefined();
    expect(err(() => checkUsage(ENCRYPT, 'stream', { format: 'stream', alg: 'A192GCM' }))).toBe('--format stream uses A128GCM or A256GCM, not A192GCM');
    expect(err(() => checkUsage(ENCRYPT, 'recipients', { format: 'jwe', recipients: 2 }))).toBe('a compact JWE holds one recipient, and 2 were given; use --format jwe-json (general JSON)');
    expect(err(() => checkUsage(ENCRYPT, 'recipients', { format: 'jwe-json', recipients: 2 }))).toBeUndefined();
    // A mode without rows, and options of another mode, refuse nothing.
    expect(err(() => checkUsage(DECRYPT, 'whole', { format: 'auto', embeddedKey: true }))).toBeUndefined();
    expect(err(() => checkUsage(DECRYPT, 'stream', { format: 'auto', embeddedKey: true }))).toBe('a stream takes none of --embedded-key, --aad, --allow-alg');
    expect(err(() => checkUsage(VERIFY, 'whole', { key: true, files: [], embeddedKey: true, format: 'json' }))).toBeUndefined();
    expect(err(() => checkUsage(VERIFY, 'whole', { key: true, files: [], embeddedKey: true, format: 'raw' }))).toBe('--embedded-key needs a JSON envelope (made by encrypt --random-key)');
    expect(err(() => checkUsage(KEYGEN, 'secret', { alg: 'A256GCM', json: true, env: 'K', output: 'k' }))).toBe('choose one of --json, --env, --output');
  });
});
