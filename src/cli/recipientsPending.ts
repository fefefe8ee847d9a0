import type { AgeRecipient } from '../ops/age.js';
import type { FieldPath } from '../ops/documents.js';
import { UsageError } from '../errors.js';
import { sealPendingFields } from '../ops/recipients.js';
import { yamlReaderFor } from './recipients.js';
import { checkYamlFieldText } from '../ops/documents.js';

/** encrypt --fields NAMES -r … on a recipient document without an identity: the values become pending (FORMAT.md §17.5). */
export async function addPending(text: string, fields: FieldPath[], recipients: AgeRecipient[], o: { allowMissing: boolean }): Promise<{ text: string; sealed: number }> {
  const names = fields.map((p) => {
    const s = p.segments;
    if (s.length !== 1 || !('key' in s[0]!) || /\*/.test(s[0].key)) throw new UsageError(`without an identity, --fields names top-level values, one by one (no globs or nested paths): ${p.text}`);
    return s[0].key;
  });
  void o;
  const yaml = await yamlReaderFor(text);
  return sealPendingFields(text, names, recipients, yaml, { checkYaml: yaml ? checkYamlFieldText : undefined });
}
