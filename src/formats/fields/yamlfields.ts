/**
 * Field documents in YAML files (docs/FORMAT.md §12), through the `yaml`
 * package (eemeli/yaml), which keeps comments and order. A YAML document is
 * taken as the JSON of its value under the YAML 1.2 core schema (the root a
 * mapping); tokens, the `aesp` header (a top-level key) and the document MAC
 * are exactly those of a JSON field document (§10) over that JSON. Anchors,
 * aliases, tags other than the core ones, and several documents in one file
 * are refused: each would let one node stand for several locations.
 *
 * The `yaml` module loads only when a YAML document is met: call
 * {@link loadYaml} first (the CLI does, from the file name or the text).
 *
 * The model's values are in `yamlValues.ts`, reading a document as its model
 * in `yamlRead.ts`, writing a model back in `yamlWrite.ts` (and
 * `yamlSplice.ts`), loading the package in `yamlLoad.ts`.
 */
import { AUTH_FAILED_MESSAGE, AuthError, FormatError } from '../../errors.js';
import * as token from './token.js';
import { overModel, type DocModel, type FieldCodec } from './model.js';
import { yaml } from './yamlLoad.js';
import { model } from './yamlRead.js';
import { isObj } from './yamlValues.js';
import { write } from './yamlWrite.js';

export { isYamlFileName, loadYaml, loadYamlFor } from './yamlLoad.js';

/**
 * Whether a text is a YAML field document, by structure: one mapping in
 * which a value has the reserved `aesp:` prefix. One that is not portable
 * (§13.1) counts too, so that decrypt names what is wrong with it.
 */
export function isYamlFieldDocument(text: string): boolean {
  if (!/(^|[\s:-])["']?aesp:/.test(text)) return false;
  for (const portable of [true, false]) {
    try {
      const m = model(text, undefined, portable);
      let found = false;
      const walk = (v: unknown): void => {
        if (found) return;
        if (typeof v === 'string') found = token.reserved(v);
        else if (Array.isArray(v)) v.forEach(walk);
        else if (isObj(v)) Object.values(v).forEach(walk);
      };
      walk(m.obj);
      return found;
    } catch (e) {
      // A document that does not read (an anchor, a tag, a duplicate key, bad indentation) but has a
      // header or token line is a YAML field document all the same: decrypt then says what is wrong.
      if (!(e instanceof FormatError && e.code === 'ERR_YAML_PORTABLE')) return e instanceof FormatError && YAML_FIELD_LINE.test(text);
    }
  }
  return false;
}

/** A line of a YAML field document: the header (`aesp: aesp:2:doc:…`) or `key: aesp:2:…`, in any quoting. */
const YAML_FIELD_LINE = /^aesp:[ \t]+["']?aesp:\d+:doc:|^[ \t-]*[^\s:#'"][^:#\n]*:[ \t]+["']?aesp:\d+:[A-Za-z0-9]/m;

/**
 * The field operations on YAML texts (paths as for JSON). Call {@link loadYaml} first.
 *
 * @example
 * ```ts
 * await loadYaml();
 * yamlFields.encrypt('db:\n  password: hunter2 # rotate\n', key, { paths: parsePaths('db.password') }).text;
 * // 'db:\n  password: aesp:2:A256GCM:… # rotate\naesp: aesp:2:doc:all:…\n'
 * ```
 */
export const yamlFields: FieldCodec = withNumberHint(overModel(yamlModel));

/** A YAML field document as its JSON model (FORMAT.md §12). Call {@link loadYaml} first. */
export function yamlModel(text: string, what?: string): DocModel {
  const m = model(text, what);
  return { json: m.json, paths: (p) => p, write: (t) => write(m, t, what) };
}

/**
 * aes-payload 0.3 authenticated a YAML number as JSON writes its value
 * (`1.0` as `1`); 0.4 authenticates it as written. A document 0.3 sealed
 * with such a number fails (exit 1): say so, from the document's text alone
 * (a public fact, as the kids in that message are), and where the way out is.
 */
function withNumberHint(codec: FieldCodec): FieldCodec {
  const respelled = (text: string): boolean => {
    let found = false;
    try {
      yaml().visit(yaml().parseDocument(text), {
        Scalar(_k, n) {
          if (typeof n.value === 'number' && n.type === 'PLAIN' && n.source !== undefined && n.source !== (Object.is(n.value, -0) ? '-0' : JSON.stringify(n.value))) found = true;
        },
      });
    } catch {
      /* not readable: no hint */
    }
    return found;
  };
  const hinted = <A extends unknown[], R>(f: (text: string, ...rest: A) => R) => (text: string, ...rest: A): R => {
    try {
      return f(text, ...rest);
    } catch (e) {
      if (!(e instanceof AuthError) || e.code !== 'ERR_AUTH' || !respelled(text)) throw e;
      const detail = e.message.startsWith(`${AUTH_FAILED_MESSAGE} (`) ? `${e.message.slice(AUTH_FAILED_MESSAGE.length + 2, -1)}; ` : '';
      throw new AuthError(`${detail}it has numbers not written as JSON writes them (1.0, -0.0): aes-payload 0.3 authenticated those as JSON writes them, 0.4 as written; see docs/FORMAT.md §13.2`);
    }
  };
  return { ...codec, decrypt: hinted(codec.decrypt), check: hinted(codec.check), rotate: hinted(codec.rotate), reencrypt: hinted(codec.reencrypt) };
}

/**
 * The JSON text of a plaintext YAML document (for exec and --extract), read
 * as YAML 1.2 core. Only aes-payload reads it here, so the YAML 1.1 rules of
 * field documents do not apply.
 */
export function yamlToJson(text: string, what?: string): string {
  return model(text, what, false).json;
}

/** Check a YAML text as a field document reads it (§13.1: portable), for `edit` to report before it encrypts. */
export function checkYamlFieldText(text: string, what?: string): void {
  model(text, what);
}
