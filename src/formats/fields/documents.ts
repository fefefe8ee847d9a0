import { envFields } from './envfields.js';
import { jsonFields, type FieldCodec } from './model.js';
import { yamlFields } from './yamlfields.js';

/** The formats decrypt detects that are field documents: JSON (`fields`), .env and YAML. */
export type FieldFormat = 'fields' | 'env' | 'yaml';

/** Whether a detected format is a field document. */
export function isFieldFormat(f: string | undefined): f is FieldFormat {
  return f === 'fields' || f === 'env' || f === 'yaml';
}

/**
 * The field operations for a document kind: a detected format, or an input type (`json`, `env`, `yaml`).
 *
 * @example
 * ```ts
 * fieldCodec('env').check(text, keyFor);
 * ```
 */
export function fieldCodec(kind: FieldFormat | 'json'): FieldCodec {
  return kind === 'env' ? envFields : kind === 'yaml' ? yamlFields : jsonFields;
}
