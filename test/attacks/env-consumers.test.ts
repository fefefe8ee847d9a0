// Attack class: bytes of an encrypted .env that the MAC does not cover
// (comments, quoting, line ends, white space, `export`) change what other
// programs read. After any such edit, either verify and decrypt fail (exit 1
// or 4), or python-dotenv, npm dotenv, Node's util.parseEnv and
// `set -a; . FILE` in sh all read decrypt's output as the authenticated
// model. exec injects that model itself.
import { describe, expect, it } from 'vitest';
import { disagreements, readEnv } from '../consumers.js';
import { cli, enc } from './attack.js';

const PLAIN = ['# database', 'DB_HOST=db.local', 'export DB_PASSWORD="hunter2" # rotate monthly', "API_TOKEN='t0k3n'", 'PW_DOLLAR=\'pa$$word\'', "PW_SEMI='x;true'", "PATTERN='a\\b'", ''].join('\n');
const MODEL = { DB_HOST: 'db.local', DB_PASSWORD: 'hunter2', API_TOKEN: 't0k3n', PW_DOLLAR: 'pa$$word', PW_SEMI: 'x;true', PATTERN: 'a\\b' };
const FIELDS = 'DB_PASSWORD,API_TOKEN,PW_*';

const encrypted = () => enc(['--fields', FIELDS, '--input-type', 'env', '-'], PLAIN);

/**
 * Run verify and decrypt on each mutant; where both pass, every reader must
 * read the model. Returns the failures, readably.
 */
function judge(mutants: Record<string, string>): string[] {
  const passed: { name: string; out: string }[] = [];
  const problems: string[] = [];
  for (const [name, m] of Object.entries(mutants)) {
    const v = cli(['verify', '--format', 'env', '-'], m);
    const d = cli(['decrypt', '--format', 'env', '-'], m);
    if ((v.code === 0) !== (d.code === 0)) problems.push(`${name}: verify exit ${v.code} but decrypt exit ${d.code}`);
    if (d.code === 0) passed.push({ name, out: d.out });
    else if (d.code !== 1 && d.code !== 4) problems.push(`${name}: decrypt exit ${d.code}: ${d.stderr}`);
  }
  const readings = readEnv(passed.map((p) => p.out));
  disagreements(readings, passed.map(() => MODEL)).forEach((bad, i) => {
    for (const b of bad) problems.push(`${passed[i]!.name}: ${b.reader} read ${JSON.stringify(b.got)}`);
  });
  return problems;
}

describe('.env: what other readers see is what was authenticated', () => {
  it('the document itself reads as the model everywhere', () => {
    expect(judge({ original: encrypted() })).toEqual([]);
  });

  it('a lone CR, U+2028, U+2029 or NEL in a comment does not add or shadow a variable', () => {
    const e = encrypted();
    expect(
      judge({
        'CR in a comment': e.replace('# database', '# database\rLD_PRELOAD=/tmp/evil.so'),
        'CR shadows a later name': `${e}# end\rDB_HOST=evil.example\n`,
        'CR adds NODE_OPTIONS': e.replace('# database', '# db\rNODE_OPTIONS=--require=/tmp/evil.js'),
        'U+2028 in a comment': e.replace('# database', '# database\u2028NODE_OPTIONS=--require=/tmp/evil.js'),
        'U+2029 in a comment': e.replace('# database', '# database\u2029LD_PRELOAD=/tmp/evil.so'),
        'NEL in a comment': e.replace('# database', '# database\u0085LD_PRELOAD=/tmp/evil.so'),
        'CR after a value': e.replace('DB_HOST=db.local', 'DB_HOST=db.local\rLD_PRELOAD=/tmp/evil.so'),
      }),
    ).toEqual([]);
  });

  it('re-quoting a value does not change what any reader sees', () => {
    const e = encrypted();
    const token = (name: string) => new RegExp(`${name}=['"]?(aesp:2:[A-Za-z0-9_:-]+)`).exec(e)![1]!;
    expect(
      judge({
        'a backslash value double-quoted': e.replace("PATTERN='a\\b'", 'PATTERN="a\\b"'),
        'a backslash value unquoted': e.replace("PATTERN='a\\b'", 'PATTERN=a\\b'),
        'a token holding $ double-quoted': e.replace(`PW_DOLLAR='${token('PW_DOLLAR')}'`, `PW_DOLLAR="${token('PW_DOLLAR')}"`),
        'a token holding ; unquoted': e.replace(`PW_SEMI='${token('PW_SEMI')}'`, `PW_SEMI=${token('PW_SEMI')}`),
        'a token back-quoted': e.replace(`API_TOKEN='${token('API_TOKEN')}'`, `API_TOKEN=\`${token('API_TOKEN')}\``),
      }),
    ).toEqual([]);
  });

  it('line ends, BOMs, white space and export spellings do not change what any reader sees', () => {
    const e = encrypted();
    expect(
      judge({
        'CRLF line ends': e.replace(/\n/g, '\r\n'),
        'a BOM before the first assignment': `\ufeff${e.replace('# database\n', '')}`,
        'spaces around =': e.replace('DB_HOST=db.local', 'DB_HOST = db.local'),
        'a tab before a comment': e.replace('DB_HOST=db.local', 'DB_HOST=db.local\t# primary'),
        'a tab after =': e.replace('DB_HOST=db.local', 'DB_HOST=\tdb.local'),
        'export with two spaces': e.replace('export DB_PASSWORD', 'export  DB_PASSWORD'),
        'export with a tab': e.replace('export DB_PASSWORD', 'export\tDB_PASSWORD'),
        'an indented assignment': e.replace('DB_HOST=db.local', '  DB_HOST=db.local'),
        'a comment glued to a quoted value': e.replace('" # rotate monthly', '"# rotate monthly'),
        'NBSP before a name': e.replace('DB_HOST=db.local', '\u00a0DB_HOST=db.local'),
        'a vertical tab in a comment': e.replace('# database', '# data\u000bbase'),
      }),
    ).toEqual([]);
  });
});

describe('.env: a multi-line value (issue 20, item 5)', () => {
  it('a double-quoted PEM key comes back byte for byte, and every reader, sh included, gets the same key', () => {
    const pem = ['-----BEGIN PRIVATE KEY-----', 'MC4CAQAwBQYDK2VwBCIEIGnFbKzRxzPHhc2qy1LZ+XXvfiuGg3vnGvL0bhUU5x7u', '-----END PRIVATE KEY-----'].join('\n');
    const plain = `# TLS\nTLS_KEY="${pem}"\nTLS_PORT=8443\n`;
    const e = enc(['--fields', 'TLS_KEY', '--input-type', 'env', '-'], plain);
    const d = cli(['decrypt', '-'], e);
    expect(d.code, d.stderr).toBe(0);
    expect(d.out).toBe(plain);
    expect(disagreements(readEnv([d.out]), [{ TLS_KEY: pem, TLS_PORT: '8443' }])).toEqual([[]]);
  });

  it('a last line without a line break: a comment there ("#X=1") is a variable to Node, so it is refused', () => {
    const e = encrypted();
    const mutants = {
      '#X=1 as an unterminated last line': `${e}#X=1`,
      '# X=1 as an unterminated last line': `${e}# X=1`,
      'the final line break removed': e.replace(/\n$/, ''),
    };
    expect(judge(mutants)).toEqual([]);
    expect(cli(['verify', '--format', 'env', '-'], `${e}#X=1`).code).toBe(4);
  });

  it('a variable named __proto__ is covered by the MAC like any other', () => {
    const e = encrypted();
    expect(judge({ '__proto__ added': `${e}__proto__=evil\n`, 'constructor added': `${e}constructor=evil\n` })).toEqual([]);
    expect(cli(['verify', '--format', 'env', '-'], `${e}__proto__=evil\n`).code).toBe(1);
    const own = enc(['--fields', 'DB_PASSWORD', '--input-type', 'env', '-'], '__proto__=mine\nDB_PASSWORD=pw\n');
    expect(cli(['decrypt', '--format', 'env', '-'], own).out).toBe('__proto__=mine\nDB_PASSWORD=pw\n');
    expect(cli(['verify', '--format', 'env', '-'], own.replace('__proto__=mine', '__proto__=evil')).code).toBe(1);
  });
});
