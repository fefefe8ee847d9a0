import { keyForKid } from '../../keys/model.js';
import type { PayloadFormat } from '../types.js';
import { fieldCodec, isFieldFormat } from './documents.js';
import { isEnvFieldDocument } from './envfields.js';
import { HEADER_MEMBER, fieldDocumentKind } from './jsonDoc.js';
import { isYamlFieldDocument } from './yamlfields.js';

/** Field documents: JSON, .env and YAML whose selected values are field tokens under a document MAC (docs/FORMAT.md §10-§14). */
export const fieldsFormat = {
  name: 'fields',
  formats: ['fields', 'env', 'yaml'],
  detect: {
    /** A .env text holding field tokens. */
    env: (p) => isEnvFieldDocument(p.text),
    /** A YAML text holding field tokens. */
    yaml: (p) => isYamlFieldDocument(p.text),
    /** A JSON object with a root `"aesp"` header. */
    header(p) {
      const root = p.root();
      if (root.kind !== 'object') return false;
      const header = root.entries.find((e) => e.key === HEADER_MEMBER);
      return header?.value.kind === 'string' && header.value.value.startsWith('aesp:');
    },
    /** JSON holding field tokens (a version-1 document has no header). */
    tokens: (p) => fieldDocumentKind(p.text) !== undefined,
  },
  open(text, keys, opts, _forVerify, format) {
    if (!isFieldFormat(format)) throw new TypeError(`not a field format: ${format}`);
    const r = fieldCodec(format).decrypt(text, keyForKid(keys), {
      ...(opts.fields ? { paths: opts.fields } : {}),
      allowPlaintext: Boolean(opts.allowPlaintext),
      allowMissing: Boolean(opts.allowMissing),
      allowLegacy: Boolean(opts.allowLegacy),
    });
    return {
      plaintext: Buffer.from(r.text, 'utf8'),
      format,
      fields: r.decrypted,
      ...(r.kids.length === 1 ? { kid: r.kids[0]! } : {}),
      ...(r.mode ? { mac: r.mode } : { legacy: true }),
      tokenPaths: r.tokenPaths,
    };
  },
  kid: (text) => /aesp:2:doc:[a-z]+:([0-9a-f]{16}):/.exec(text)?.[1],
  options: {
    encrypt: ['fields', 'allowMissing', 'macOnlyEncrypted', 'inputType', 'valueFormat', 'alg', 'nonceBytes'],
    decrypt: ['fields', 'allowPlaintext', 'allowMissing', 'allowLegacy', 'valueFormat', 'nonceBytes'],
  },
} satisfies PayloadFormat;
