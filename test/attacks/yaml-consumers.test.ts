// Attack class: bytes of an encrypted YAML document that the MAC does not
// cover (comments, quoting, tags, directives, line breaks) change what other
// programs read. YAML 1.1 readers (PyYAML) take NEL, U+2028 and U+2029 for
// line breaks and `no`, `1_000`, `017` or dates for other types than YAML 1.2
// does. After any such edit, either verify and decrypt fail (exit 1 or 4), or
// PyYAML and npm `yaml` both read decrypt's output as the authenticated model.
import { describe, expect, it } from 'vitest';
import { disagreements, readYaml } from '../consumers.js';
import { cli, enc, refused } from './attack.js';

const PLAIN = [
  '# application config',
  'db:',
  '  host: db.local # the primary',
  '  password: "hunter 2"',
  '  port: 5432',
  '  ratio: 1.0',
  '  cache: "/tmp/cache /var/cache"',
  '  smile: "\u{1F600}"',
  '  enabled: true',
  '  list:',
  '    - a',
  '    - "b"',
  'flags:',
  '  legacy: "no"',
  '  limit: "1_000"',
  '  port: "8080"',
  '  mode: "017"',
  '  since: "2001-12-14"',
  '  answer: "yes"',
  'api:',
  '  tokens: [abc, def]',
  '',
].join('\n');
const MODEL = {
  db: { host: 'db.local', password: 'hunter 2', port: 5432, ratio: { $float: 1 }, cache: '/tmp/cache /var/cache', smile: '\u{1F600}', enabled: true, list: ['a', 'b'] },
  flags: { legacy: 'no', limit: '1_000', port: '8080', mode: '017', since: '2001-12-14', answer: 'yes' },
  api: { tokens: ['abc', 'def'] },
};

const encrypted = () => enc(['--fields', 'db.password,api.tokens[*],flags.answer', '--input-type', 'yaml', '-'], PLAIN);

function judge(mutants: Record<string, string>): string[] {
  const passed: { name: string; out: string }[] = [];
  const problems: string[] = [];
  for (const [name, m] of Object.entries(mutants)) {
    const v = cli(['verify', '--format', 'yaml', '-'], m);
    const d = cli(['decrypt', '--format', 'yaml', '-'], m);
    if ((v.code === 0) !== (d.code === 0)) problems.push(`${name}: verify exit ${v.code} but decrypt exit ${d.code}`);
    if (d.code === 0) passed.push({ name, out: d.out });
    else if (d.code !== 1 && d.code !== 4) problems.push(`${name}: decrypt exit ${d.code}: ${d.stderr}`);
  }
  disagreements(readYaml(passed.map((p) => p.out)), passed.map(() => MODEL)).forEach((bad, i) => {
    for (const b of bad) problems.push(`${passed[i]!.name}: ${b.reader} read ${JSON.stringify(b.got)}`);
  });
  return problems;
}

describe('YAML: what other readers see is what was authenticated', () => {
  it('the document itself reads as the model in YAML 1.1 and 1.2', () => {
    expect(judge({ original: encrypted() })).toEqual([]);
  });

  it('NEL, U+2028 or U+2029 in a comment does not add a key for a YAML 1.1 reader', () => {
    const e = encrypted();
    expect(
      judge({
        'NEL in a comment': e.replace('# application config', '# application config\u0085injected: true'),
        'U+2028 in a comment': e.replace('# application config', '# application config\u2028injected: true'),
        'U+2029 in a comment': e.replace('# application config', '# application config\u2029injected: true'),
        'U+2028 in a trailing comment': e.replace('# the primary', '# the primary\u2028  evil: 1'),
        'a lone CR in a comment': e.replace('# application config', '# application config\rinjected: true'),
      }),
    ).toEqual([]);
  });

  it('unquoting a value does not turn a string into a boolean, a number or a date for a YAML 1.1 reader', () => {
    const e = encrypted();
    const answer = /answer: "(aesp:2:[^"]+)"/.exec(e)![1]!;
    expect(
      judge({
        'no unquoted': e.replace('legacy: "no"', 'legacy: no'),
        '1_000 unquoted': e.replace('limit: "1_000"', 'limit: 1_000'),
        'a date unquoted': e.replace('since: "2001-12-14"', 'since: 2001-12-14'),
        'a token holding "yes" unquoted': e.replace(`answer: "${answer}"`, `answer: ${answer}`),
        'single quotes instead of double': e.replace('legacy: "no"', "legacy: 'no'"),
      }),
    ).toEqual([]);
  });

  it('tags, directives and BOMs do not change what a reader sees', () => {
    const e = encrypted();
    expect(
      judge({
        'a %YAML 1.1 directive': `%YAML 1.1\n---\n${e}`,
        'a !!str tag': e.replace('legacy: "no"', 'legacy: !!str no'),
        'a !!bool tag': e.replace('legacy: "no"', 'legacy: !!bool "no"'),
        'a BOM inside a comment': e.replace('# the primary', '# the\ufeffprimary'),
        'a leading BOM': `\ufeff${e}`,
      }),
    ).toEqual([]);
  });

  it('a mapping encrypted whole comes back with its strings quoted where YAML 1.1 needs it', () => {
    const e = enc(['--fields', 'flags', '--input-type', 'yaml', '-'], PLAIN);
    expect(judge({ 'flags encrypted whole': e, 'its token unquoted': e.replace(/flags: "(aesp:[^"]+)"/, 'flags: $1') })).toEqual([]);
  });

  it('a line break escaped or folded inside a quoted or plain scalar (YAML 1.1 and 1.2 fold it differently) is refused', () => {
    const e = encrypted();
    expect(
      judge({
        'an escaped line break, then an empty line': e.replace('"/tmp/cache /var/cache"', '"/tmp/cache\\\n\n    /var/cache"'),
        'an escaped line break': e.replace('"/tmp/cache /var/cache"', '"/tmp/cache \\\n    /var/cache"'),
        'a folded double-quoted line': e.replace('"/tmp/cache /var/cache"', '"/tmp/cache\n    /var/cache"'),
        'a folded double-quoted line with an empty line': e.replace('"/tmp/cache /var/cache"', '"/tmp/cache\n\n    /var/cache"'),
        'a folded single-quoted line': e.replace('"/tmp/cache /var/cache"', "'/tmp/cache\n\n    /var/cache'"),
        'a folded plain scalar': e.replace('"/tmp/cache /var/cache"', '/tmp/cache\n    /var/cache'),
      }),
    ).toEqual([]);
    for (const [name, m] of [
      ['escaped line break and an empty line', e.replace('"/tmp/cache /var/cache"', '"/tmp/cache\\\n\n    /var/cache"')],
      ['folded plain', e.replace('"/tmp/cache /var/cache"', '/tmp/cache\n    /var/cache')],
    ] as const) {
      expect(cli(['verify', '--format', 'yaml', '-'], m).code, name).toBe(4);
    }
  });

  it('escapes of surrogates (\\ud83d\\ude00), which YAML 1.1 reads as two lone surrogates, are refused', () => {
    const e = encrypted();
    const m = e.replace('"\u{1F600}"', '"\\ud83d\\ude00"');
    expect(judge({ 'a surrogate pair in escapes': m, 'one lone surrogate': e.replace('"\u{1F600}"', '"\\ud83d"'), 'the code point in \\U': e.replace('"\u{1F600}"', '"\\U0001F600"') })).toEqual([]);
    expect(cli(['verify', '--format', 'yaml', '-'], m).code).toBe(4);
  });

  it('numbers and booleans re-spelled: refused, or authenticated as written', () => {
    const e = encrypted();
    const mutants = {
      '5432 as 5432.0': e.replace('port: 5432', 'port: 5432.0'),
      '5432 as +5432': e.replace('port: 5432', 'port: +5432'),
      '1.0 as 1': e.replace('ratio: 1.0', 'ratio: 1'),
      '1.0 as 1.00': e.replace('ratio: 1.0', 'ratio: 1.00'),
      'true as True': e.replace('enabled: true', 'enabled: True'),
      'true as TRUE': e.replace('enabled: true', 'enabled: TRUE'),
    };
    expect(judge(mutants)).toEqual([]);
    for (const [name, m] of Object.entries(mutants)) expect(cli(['verify', '--format', 'yaml', '-'], m).code, name).not.toBe(0);
  });

  it('a round trip keeps every number as it was written, and exec passes it on so', () => {
    const plain = 'ratio: 1.0\nneg: -0.0\nx: -1.50\nport: 5432\nv: 3.10\npw: s\n';
    for (const fields of ['pw', 'ratio,neg,x,port,v,pw']) {
      const e = enc(['--fields', fields, '--input-type', 'yaml', '-'], plain);
      expect(cli(['decrypt', '--format', 'yaml', '-'], e).out, fields).toBe(plain);
    }
    const e = enc(['--fields', 'pw', '--input-type', 'yaml', '-'], plain);
    const f = require('node:path').join(require('node:os').tmpdir(), `aesp-num-${process.pid}.yaml`);
    require('node:fs').writeFileSync(f, e);
    try {
      expect(cli(['exec', '-f', f, '--', 'sh', '-c', 'echo "$ratio $neg $x $port $v"']).out).toBe('1.0 -0.0 -1.50 5432 3.10\n');
    } finally {
      require('node:fs').rmSync(f);
    }
  });

  it('a tab as a separator (role:\\tuser, -\\t"b"), which PyYAML cannot read, is refused', () => {
    const e = encrypted();
    const mutants = { 'a tab after a colon': e.replace('host: db.local', 'host:\tdb.local'), 'a tab after a dash': e.replace('- "b"', '-\t"b"'), 'a tab before a comment': e.replace(' # the primary', '\t# the primary') };
    expect(judge(mutants)).toEqual([]);
    for (const [name, m] of Object.entries(mutants).slice(0, 2)) expect(cli(['verify', '--format', 'yaml', '-'], m).code, name).toBe(4);
  });

  it('a document sealed by 0.3 with a number written otherwise than JSON writes it (1.0) fails with a hint, and verifies once the number is written so', () => {
    // 0.3 authenticated `ratio: 1.0` as 1: the same MAC as a document that says `ratio: 1`.
    const sealedAs03 = enc(['--fields', 'pw', '--input-type', 'yaml', '-'], 'ratio: 1\npw: s\n').replace('ratio: 1\n', 'ratio: 1.0\n');
    const line = refused(cli(['verify', '--format', 'yaml', '-'], sealedAs03), 1);
    expect(line).toMatch(/0\.3 authenticated those as JSON writes them/);
    expect(cli(['verify', '--format', 'yaml', '-'], sealedAs03.replace('ratio: 1.0', 'ratio: 1')).code).toBe(0);
  });
});
