/**
 * What the CLI needs of documents besides encrypt and decrypt: the type a
 * file is, YAML loaded only when an input needs it, `--extract`, and the
 * path syntax of `--fields` (src/formats/fields/).
 */
import { isEnvFileName } from '../formats/fields/dotenv.js';
import { extractValue } from '../formats/fields/extract.js';
import { isYamlFileName, loadYaml, yamlToJson } from '../formats/fields/yamlfields.js';
import { recipientsSyntax } from '../formats/fields/recipients.js';
import type { DecryptedFormat, InputType } from './types.js';

export { parsePaths, type FieldPath, type Location } from '../formats/fields/paths.js';
export { readText } from '../formats/common/utf8.js';
export { isFieldFormat, type FieldFormat } from '../formats/fields/documents.js';
export { checkYamlFieldText, loadYaml, loadYamlFor, yamlToJson } from '../formats/fields/yamlfields.js';
export { originWarning } from '../formats/fields/origin.js';
// For `set` (src/cli/set.ts), whose document work is still its own: the field codecs and the JSON parser.
export { fieldCodec } from '../formats/fields/documents.js';
export { parseJsonSpans } from '../formats/common/jsonSpans.js';

/** What a document for field encryption is: the flag, else the file name (.env, .yaml/.yml), else JSON. */
export function inputTypeOf(file: string | undefined, flag: InputType | undefined): InputType {
  if (flag) return flag;
  if (file === undefined || file === '-') return 'json';
  return isEnvFileName(file) ? 'env' : isYamlFileName(file) ? 'yaml' : 'json';
}

/** The YAML reader, loaded now (the `yaml` package is loaded only for YAML documents). */
export async function yamlReader(): Promise<(text: string) => string> {
  await loadYaml();
  return (t) => yamlToJson(t);
}

/** The YAML reader a recipient document needs: loaded for one in YAML syntax, else none. */
export async function yamlReaderFor(text: string): Promise<((text: string) => string) | undefined> {
  return recipientsSyntax(text) === 'yaml' ? yamlReader() : undefined;
}

/**
 * `decrypt --extract PATH`: the value at PATH of a decrypted document, a
 * string as is and anything else as JSON. The document's type is its own
 * (a .env or YAML field document), else what the file name says without
 * .aesp/.enc, as for encrypt.
 */
export async function extractFrom(plaintext: Buffer, format: DecryptedFormat, file: string | undefined, path: string): Promise<string> {
  const type = format === 'env' || format === 'yaml' ? format : inputTypeOf(file?.replace(/\.(aesp|enc)$/, ''), undefined);
  let pt = plaintext.toString('utf8');
  if (type === 'yaml') {
    await loadYaml();
    pt = yamlToJson(pt, 'the plaintext');
  }
  return extractValue(pt, path, type === 'env' ? 'env' : 'json');
}

/** Whether a file name is a YAML file's (with or without .aesp/.enc). */
export { isYamlFileName };
