import { checkFields, requireOnPlain, type FieldsCheck } from './checkFields.js';
import { decryptFields, type FieldsDecryptOptions } from './decryptFields.js';
import { encryptFields, type FieldsEncryptOptions } from './encryptFields.js';
import type { FieldsKey } from './jsonDoc.js';
import { reencryptFields, type FieldsReencryptResult } from './reencryptFields.js';
import { rotateFields } from './rotateFields.js';
import type { FieldPath } from './paths.js';

/**
 * A document of another syntax (.env, YAML) seen as the JSON object that
 * field encryption works on (docs/FORMAT.md §12, §13): the model's JSON
 * text, how paths over the document map to paths over the model, and how a
 * changed model is written back into the document, keeping everything else.
 */
export interface DocModel {
  json: string;
  paths(p: FieldPath[]): FieldPath[];
  write(modelText: string): string;
}

/** The field operations on one kind of document. */
export interface FieldCodec {
  encrypt(text: string, key: Uint8Array, opts: FieldsEncryptOptions): { text: string; encrypted: number; already: number };
  decrypt(text: string, key: FieldsKey, opts?: FieldsDecryptOptions): ReturnType<typeof decryptFields>;
  check(text: string, key: FieldsKey | undefined, opts?: { require?: FieldPath[]; what?: string; allowLegacy?: boolean }): FieldsCheck;
  rotate(text: string, key: FieldsKey, opts: { newKey: Uint8Array; what?: string; allowLegacy?: boolean }): { text: string; rotated: number; oldKids: string[] };
  reencrypt(oldText: string, newText: string, key: FieldsKey, opts?: { paths?: FieldPath[]; what?: string }): FieldsReencryptResult;
  /** `verify --require` on a document with nothing encrypted: the locations each path selects (all in the clear), and the paths that select nothing. */
  requirePlain(text: string, require: FieldPath[], what?: string): { plaintext: string[]; missing: string[] };
}

/** JSON documents: the field functions themselves. */
export const jsonFields: FieldCodec = { encrypt: encryptFields, decrypt: decryptFields, check: checkFields, rotate: rotateFields, reencrypt: reencryptFields, requirePlain: requireOnPlain };

/**
 * The field operations of a document kind, each run on its JSON model.
 *
 * @example
 * ```ts
 * const envFields = overModel(envModel);
 * envFields.encrypt('DB_PASSWORD=hunter2\n', key, { paths: parsePaths('DB_*') });
 * ```
 */
export function overModel(modelOf: (text: string, what?: string) => DocModel): FieldCodec {
  const mapped = <T extends { paths?: FieldPath[] }>(m: DocModel, opts: T): T => (opts.paths ? { ...opts, paths: m.paths(opts.paths) } : opts);
  return {
    encrypt(text, key, opts) {
      const m = modelOf(text, opts.what);
      const r = encryptFields(m.json, key, mapped(m, opts));
      return { ...r, text: r.text === m.json ? text : m.write(r.text) };
    },
    decrypt(text, key, opts = {}) {
      const m = modelOf(text, opts.what);
      const r = decryptFields(m.json, key, mapped(m, opts));
      return { ...r, text: m.write(r.text) };
    },
    check(text, key, opts = {}) {
      const m = modelOf(text, opts.what);
      const c = checkFields(m.json, key, opts.require ? { ...opts, require: m.paths(opts.require) } : opts);
      // With a key, write the decrypted document too (and drop it), so that verify refuses
      // exactly what decrypt refuses: a value no quoting can write for every reader.
      if (key !== undefined) {
        const d = decryptFields(m.json, key, { ...(opts.what !== undefined ? { what: opts.what } : {}), allowLegacy: Boolean(opts.allowLegacy) });
        m.write(d.text);
      }
      return c;
    },
    rotate(text, key, opts) {
      const m = modelOf(text, opts.what);
      const r = rotateFields(m.json, key, opts);
      return { ...r, text: r.text === m.json ? text : m.write(r.text) };
    },
    reencrypt(oldText, newText, key, opts = {}) {
      const old = modelOf(oldText, opts.what);
      const next = modelOf(newText, opts.what);
      const r = reencryptFields(old.json, next.json, key, mapped(next, opts));
      return { ...r, text: next.write(r.text) };
    },
    requirePlain(text, require, what) {
      const m = modelOf(text, what);
      return requireOnPlain(m.json, m.paths(require), what);
    },
  };
}
