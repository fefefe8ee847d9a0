// The rules file's `recipients` and `recipients-file` (docs/FORMAT.md §16): parsing, reading a
// recipients file without echoing it, and the writer's precedence (flags and the environment win,
// as for a rules-file key; SECURITY.md "Secrets in git").
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatRecipient, generateIdentity, recipientOf } from '../../src/formats/age/keys.js';
import { ruleRecipients, ruleRecipientStrings, warnRecipientsDiffer, writerRulesRecipients } from '../../src/rules/recipients.js';
import { matchRule, parseRules } from '../../src/rules/rules.js';
import { tempDir } from '../helpers.js';

const dir = tempDir();
const pub = () => recipientOf(generateIdentity(false));
const [A, B, C] = [pub(), pub(), pub()];

async function matchFor(rules: string, target = 'x.env') {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, rules);
  const r = await parseRules(rules, file);
  return matchRule(r, join(dir, target))!;
}

describe('rules: recipients', () => {
  it('a list, or one sops-style string split at commas and white space; recipients-file relative to the rules file, read when used', async () => {
    const m = await matchFor(`rules:\n  - path: "*.env"\n    fields: [A]\n    recipients: "${A}, ${B}\n      ${A}"\n    recipients-file: [team/keys.txt]\n`);
    expect(m.rule.recipients).toEqual([A, B, A]);
    expect(m.rule.recipientsFiles).toEqual([join(dir, 'team/keys.txt')]);
    // Not read at parse time: a missing file matters only to a writer that uses the rule (exit 5, the path named).
    expect(() => ruleRecipientStrings(m)).toThrow(/line 2: cannot read the recipients-file .*team\/keys\.txt/);
    mkdirSync(join(dir, 'team'), { recursive: true });
    writeFileSync(join(dir, 'team/keys.txt'), `# the team\n${C}\n\n${B}\r\n`);
    expect(ruleRecipientStrings(m)).toEqual([A, B, C]); // duplicates once, in order
    expect(ruleRecipients(m).map(formatRecipient)).toEqual([A, B, C]);
  });

  it('a line of a recipients file that is not a recipient is refused by its number, never shown (a rules file can name any file)', async () => {
    const secret = join(dir, 'secret.txt');
    writeFileSync(secret, `${A}\nhunter2-very-secret\n`);
    const m = await matchFor(`rules:\n  - path: "*.env"\n    fields: [A]\n    recipients-file: ${secret}\n`);
    let msg = '';
    try {
      ruleRecipientStrings(m);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/line 2: the recipients-file .*secret\.txt, line 2: not an age recipient/);
    expect(msg).not.toContain('hunter2');
    writeFileSync(secret, '# nothing\n');
    expect(() => ruleRecipientStrings(m)).toThrow(/holds no age recipient/);
    // A FIFO or a device is refused without reading (or blocking on) it.
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const f = await matchFor(`rules:\n  - path: "*.env"\n    fields: [A]\n    recipients-file: [${fifo}]\n`);
    expect(() => ruleRecipientStrings(f)).toThrow(/fifo is not a regular file/);
    const z = await matchFor('rules:\n  - path: "*.env"\n    fields: [A]\n    recipients-file: /dev/zero\n');
    expect(() => ruleRecipientStrings(z)).toThrow(/\/dev\/zero is not a regular file/);
  });

  it('a new document: the rule\'s recipients only when no key flag and no key in the environment; otherwise a warning names what won', async () => {
    const m = await matchFor(`rules:\n  - path: "*.env"\n    fields: [A]\n    recipients: [${A}, ${B}]\n`);
    const warns: string[] = [];
    const warn = (s: string) => void warns.push(s);
    const used = writerRulesRecipients(m, {}, warn, {});
    expect(used.recipients?.map(formatRecipient)).toEqual([A, B]);
    expect(used.origin).toMatch(/line 2/);
    expect(warns).toEqual([]);
    for (const env of [{ AES_PAYLOAD_KEY: 'a1'.repeat(32) }, { AES_PAYLOAD_KEYRING: 'x' }, { AES_PAYLOAD_KEY_CMD: 'true' }]) {
      expect(writerRulesRecipients(m, {}, warn, env).recipients).toBeUndefined();
      expect(warns.pop()).toMatch(new RegExp(`env ${Object.keys(env)[0]} names a key: the environment's key is used`));
    }
    expect(writerRulesRecipients(m, { keyFile: 'k' }, warn, {}).recipients).toBeUndefined();
    expect(warns.pop()).toMatch(/--key-file names a key: the flag's key is used/);
    // A rule without recipients: nothing to say.
    const k = await matchFor('rules:\n  - path: "*.env"\n    fields: [A]\n');
    expect(writerRulesRecipients(k, {}, warn, {})).toEqual({});
    expect(warns).toEqual([]);
  });

  it('an existing document whose list differs from the rule: a warning, the document\'s list kept (never an error)', async () => {
    const m = await matchFor(`rules:\n  - path: "*.env"\n    fields: [A]\n    recipients: [${A}, ${B}, ${C}]\n`);
    const warns: string[] = [];
    warnRecipientsDiffer(m, 'x.env', [B, A, C], (s) => void warns.push(s));
    expect(warns).toEqual([]); // the same set, another order
    warnRecipientsDiffer(m, 'x.env', [A, B], (s) => void warns.push(s));
    expect(warns[0]).toMatch(/x\.env is encrypted to 2 recipients, and .* names 3 \(1 not in the document, 0 of the document's not named\): the document's recipients are kept/);
  });
});
