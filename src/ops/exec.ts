/**
 * `exec`: the environment variables a decrypted file holds (a flat JSON or
 * YAML object, or a .env text), each name and value checked for what an
 * environment can carry.
 */
import { FormatError, quote } from '../errors.js';
import { parseJsonSpans } from '../formats/common/jsonSpans.js';
import { parseEnv } from '../formats/fields/dotenv.js';
import { isYamlFileName, yamlToJson } from '../formats/fields/yamlfields.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The variables one decrypted file holds: a flat JSON object (strings as
 * they are, numbers and booleans as their JSON, as written), or a .env text.
 */
export function variablesOf(plaintext: string, format: string, what: string): [string, string][] {
  let vars: [string, string][];
  if (format === 'yaml') plaintext = yamlToJson(plaintext, what);
  const t = plaintext.replace(/^\uFEFF/, '').trimStart();
  if (format === 'env' || !(t.startsWith('{') || t.startsWith('['))) {
    vars = parseEnv(plaintext, what).entries.map((e) => [e.name, e.value]);
  } else {
    const root = parseJsonSpans(plaintext, what);
    if (root.kind !== 'object') throw new FormatError(`${what}: exec needs a JSON object of variables, or a .env file`, 'ERR_NOT_OBJECT');
    vars = root.entries.map((e) => {
      const v = e.value;
      if (v.kind === 'string') return [e.key, v.value];
      if (v.kind === 'number' || v.kind === 'true' || v.kind === 'false') return [e.key, plaintext.slice(v.start, v.end)];
      throw new FormatError(`${what}: the value of ${quote(e.key, 60)} is ${v.kind === 'null' ? 'null' : `an ${v.kind}`}; exec takes strings, numbers and booleans`, 'ERR_NOT_FLAT');
    });
  }
  for (const [name, value] of vars) {
    if (!NAME.test(name)) throw new FormatError(`${what}: ${quote(name, 60)} is not an environment variable name (letters, digits and _, not starting with a digit)`, 'ERR_ENV_NAME');
    if (value.includes('\0')) throw new FormatError(`${what}: the value of ${name} holds a NUL byte, which no environment can carry`, 'ERR_ENV_VALUE');
  }
  return vars;
}

/** The variables of a decrypted `file` whose format decrypt detected (a JSON envelope of a YAML file holds YAML). */
export function variablesIn(plaintext: string, format: string, file: string): [string, string][] {
  return variablesOf(plaintext, format === 'json' && isYamlFileName(file) ? 'yaml' : format, file);
}
