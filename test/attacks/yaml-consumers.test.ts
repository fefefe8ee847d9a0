// Attack class: bytes of an encrypted YAML document that the MAC does not
// cover (comments, quoting, tags, directives, line breaks) change what other
// programs read. YAML 1.1 readers (PyYAML) take NEL, U+2028 and U+2029 for
// line breaks and `no`, `1_000`, `017` or dates for other types than YAML 1.2
// does. After any such edit, either verify and decrypt fail (exit 1 or 4), or
// PyYAML and npm `yaml` both read decrypt's output as the authenticated model.
import { describe, expect, it } from 'vitest';
import { disagreements, readYaml } from '../consumers.js';
import { cli, enc } from './attack.js';

const PLAIN = [
  '# application config',
  'db:',
  '  host: db.local # the primary',
  '  password: "hunter 2"',
  '  port: 5432',
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
  db: { host: 'db.local', password: 'hunter 2', port: 5432 },
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
});
