/**
 * `edit`: what an input is to the editor (an envelope, or a field document
 * of one syntax), the check an edited plaintext must pass, and the edit
 * sealed again (an envelope under its key, algorithm and AAD; a document
 * with every unchanged value keeping its token).
 */
import { parseJsonSpans } from '../formats/common/jsonSpans.js';
import * as envelope from '../formats/envelope/codec.js';
import { fieldCodec, isFieldFormat, type FieldFormat } from '../formats/fields/documents.js';
import { parseEnv, parsePortableEnv } from '../formats/fields/dotenv.js';
import type { FieldsReencryptResult } from '../formats/fields/fields.js';
import type { FieldPath } from '../formats/fields/paths.js';
import { checkYamlFieldText } from '../formats/fields/yamlfields.js';
import { detectFormat } from '../formats/index.js';
import { keyForKid, type KeyArg, type Keys } from '../keys/model.js';
import { encrypt } from './encrypt.js';
import type { DecryptedFormat, DecryptResult } from './types.js';

export type EditKind = 'envelope' | FieldFormat;

/** What an input is to edit: an envelope or a field document (undefined: neither), and its detected format. */
export function editKindOf(text: string): { kind: EditKind | undefined; format: DecryptedFormat } {
  const format = detectFormat(text, 'auto');
  return { kind: format === 'json' ? 'envelope' : isFieldFormat(format) ? format : undefined, format };
}

/** Check an edited plaintext parses, as what it must be written back as. */
export function checkEdited(text: string, kind: EditKind, envText: boolean, what: string): void {
  // A field document must be in the portable subset (FORMAT.md §12.1, §13.1); what only we read (an envelope's content) need not.
  if (kind === 'env') parsePortableEnv(text, what);
  else if (envText) parseEnv(text, what);
  else if (kind === 'fields') parseJsonSpans(text, what);
  else if (kind === 'yaml') checkYamlFieldText(text, what);
}

/** An edited envelope plaintext sealed again: the same key (a keyring's by the old kid), algorithm and AAD. */
export function resealEnvelope(oldText: string, edited: Buffer, keys: Keys, opened: DecryptResult): string {
  const env = envelope.decode(oldText);
  const key: KeyArg = opened.kid !== undefined && keys.ring ? keyForKid(keys)(opened.kid) : keys;
  return `${encrypt(edited, key, { format: 'json', ...(opened.alg ? { alg: opened.alg } : {}), ...(env.aad ? { aad: env.aad } : {}) }).text}\n`;
}

/** An edited field document sealed again: unchanged values keep their tokens; changed ones, and new ones `paths` select, are sealed anew. */
export function resealDocument(kind: FieldFormat, oldText: string, text: string, keys: Keys, paths: FieldPath[], what: string): FieldsReencryptResult {
  return fieldCodec(kind).reencrypt(oldText, text, keyForKid(keys), { ...(paths.length ? { paths } : {}), what });
}
