// The rules file (.aes-payload.yaml, docs/FORMAT.md §16): globs and strict parsing.
import { describe, expect, it } from 'vitest';
import { expandBraces, globRegex, gitPatterns, matchRule, MAX_REGEX_NAME, parseRules, regexSelects, unboundedRegex } from '../../src/rules/rules.js';
import { rulePaths } from '../../src/rules/fields.js';

describe('rules file', () => {
  it('globs: * and ? within a name, ** across names, {a,b}, a glob without / matches the name anywhere, a leading / anchors', () => {
    const t = (g: string, p: string) => globRegex(g).test(p);
    expect(t('.env', '.env')).toBe(true);
    expect(t('.env', 'svc/a/.env')).toBe(true);
    expect(t('/.env', 'svc/.env')).toBe(false);
    expect(t('/.env', '.env')).toBe(true);
    expect(t('config/*.json', 'config/app.json')).toBe(true);
    expect(t('config/*.json', 'config/x/app.json')).toBe(false);
    expect(t('config/**/*.json', 'config/app.json')).toBe(true);
    expect(t('config/**/*.json', 'config/x/y/app.json')).toBe(true);
    expect(t('*.{yaml,yml}', 'a/b.yml')).toBe(true);
    expect(t('?.env', 'ab.env')).toBe(false);
    expect(t('a.env', 'aXenv')).toBe(false); // "." is literal
    expect(() => globRegex('{a,b')).toThrow(/unclosed/);
  });

  it('parses the documented shape, resolves key files against its directory, and matches the first rule', async () => {
    const r = await parseRules('version: 1\nkey: {key-file: team.key}\nrules:\n  - path: [".env", "x/*.env"]\n    fields: "*_PASSWORD, API_TOKEN"\n  - path: "*.yaml"\n    fields-regex: "^pass"\n    type: yaml\n    key: {key-env: K}\n', '/repo/.aes-payload.yaml');
    expect(r.key).toEqual({ keyFile: '/repo/team.key' });
    expect(r.rules).toHaveLength(2);
    expect(r.rules[0]!.fields!.map((f) => f.text)).toEqual(['*_PASSWORD', 'API_TOKEN']);
    expect(r.rules[1]!.key).toEqual({ keyEnv: 'K' });
    expect(matchRule(r, '/repo/x/a.env')?.rule.line).toBe(4);
    expect(matchRule(r, '/repo/deep/c.yaml')?.rule.line).toBe(6);
    expect(matchRule(r, '/elsewhere/.env')).toBeUndefined();
  });

  it('refuses what it does not know, with the line', async () => {
    const bad: [string, RegExp][] = [
      ['rules:\n  - path: a\n    fields: [A]\n    extra: 1\n', /line 4: unknown key "extra"/],
      ['rules:\n  - fields: [A]\n', /line 2: a rule needs "path"/],
      ['rules:\n  - path: a\n', /line 2: a rule needs "fields" or "fields-regex"/],
      ['rules:\n  - path: a\n    fields-regex: "("\n', /line 3: fields-regex/],
      ['rules:\n  - path: a\n    fields: [A]\n    type: toml\n', /line 4: type is env, json or yaml/],
      ['rules:\n  - path: a\n    fields: [A]\n    key: {key-file: k}\n    recipients: [age1abc]\n', /a rule takes "key" or "recipients", not both/],
      ['rules:\n  - path: a\n    fields: [A]\n    key: {key-file: k}\n    recipients-file: team.txt\n', /a rule takes "key" or "recipients", not both/],
      ['rules:\n  - path: a\n    fields: [A]\n    recipients: ", ,"\n', /line 4: recipients names no recipient/],
      ['rules:\n  - path: a\n    fields: [A]\n    recipients: [AGE-SECRET-KEY-1ABC]\n', /line 4: recipients are age public keys .*never goes in a rules file/],
      ['rules:\n  - path: a\n    fields: [A]\n    recipients-file: []\n', /line 4: recipients-file is a non-empty list/],
      ['key: {key-cmd: x}\nrules: []\n', /line 1: key-cmd is not taken/],
      ['key: {keyfile: x}\nrules: []\n', /line 1: unknown key source "keyfile"/],
      ['a: &x 1\nrules: *x\n', /aliases are not taken|unknown key "a"/],
      ['rules:\n  - path: a\n    path: b\n    fields: [A]\n', /not valid YAML/],
      ['- just a list\n', /a mapping with a "rules" list/],
    ];
    for (const [text, want] of bad) await expect(parseRules(text, 'R')).rejects.toThrow(want);
  });

  it('fields-regex: nested quantifiers, repeated alternatives and backreferences are refused; names over the cap are refused, not tested', async () => {
    for (const src of ['^(a+)+$', '(a*)*', '(?:ab+)*x', '(a|aa)+', '((a+))+', '(a)\\1', '(?<n>a)\\k<n>', '(x{2,})+']) {
      expect(unboundedRegex(src), src).toBeDefined();
    }
    for (const src of ['^(password|secret)$', '(?:ab)+', '^[a-z(+)]+_(KEY|TOKEN)$', '(a+)?', '\\(a+\\)+', '^pass']) expect(unboundedRegex(src), src).toBeUndefined();
    await expect(parseRules('rules:\n  - path: a\n    fields-regex: "^(a+)+$"\n', 'R')).rejects.toThrow(/line 3: fields-regex: a repeated group holding a quantifier/);
    const r = await parseRules('rules:\n  - path: "*.env"\n    fields-regex: "^a+b$"\n', 'R');
    expect(regexSelects(r.rules[0]!.fieldsRegex!, 'aaab')).toBe(true);
    const long = `${'a'.repeat(MAX_REGEX_NAME)}X=1\n`;
    expect(() => rulePaths(r.rules[0]!, long, 'env')).toThrow(/over 256/);
    expect(() => rulePaths(r.rules[0]!, `{"${'a'.repeat(300)}": 1}`, 'json')).toThrow(/over 256/);
  });

  it('git-setup patterns: braces expanded, the rules file directory in front, a glob without / under it at any depth', async () => {
    expect(expandBraces('conf/{prod,stage}.env')).toEqual(['conf/prod.env', 'conf/stage.env']);
    expect(expandBraces('{a,b/{c,d}}.json')).toEqual(['a.json', 'b/c.json', 'b/d.json']);
    const top = await parseRules('rules:\n  - path: ["/.env", "*.{yml,yaml}"]\n    fields: [A]\n', '/repo/.aes-payload.yaml');
    expect(gitPatterns(top, '/repo')).toEqual(['/.env', '*.yml', '*.yaml']);
    const sub = await parseRules('rules:\n  - path: ["/.env", "*.{yml,yaml}", "x/*.json"]\n    fields: [A]\n', '/repo/svc/.aes-payload.yaml');
    expect(gitPatterns(sub, '/repo')).toEqual(['svc/.env', 'svc/**/*.yml', 'svc/**/*.yaml', 'svc/x/*.json']);
    expect(() => gitPatterns(sub, '/other')).toThrow(/outside the repository/);
  });
});
