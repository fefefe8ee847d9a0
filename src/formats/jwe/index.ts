import { memberNames, type PayloadFormat } from '../types.js';
import * as codec from './codec.js';
import { decryptJwe } from './decrypt.js';

export const JWE_JSON_MEMBERS = new Set(['protected', 'unprotected', 'header', 'encrypted_key', 'recipients', 'aad', 'iv', 'ciphertext', 'tag']);

/** JWE, compact and JSON serializations, with its key management (docs/FORMAT.md §7). */
export const jweFormat = {
  name: 'jwe',
  formats: ['jwe', 'jwe-json'],
  detect: {
    /** Five base64url parts. */
    compact: (p) => codec.detect(p.text) === 'compact',
    /** A JSON object whose members are all JWE members, `ciphertext` among them. */
    json(p) {
      const names = memberNames(p.root());
      return names !== undefined && names.includes('ciphertext') && names.every((n) => JWE_JSON_MEMBERS.has(n));
    },
  },
  open: (text, keys, opts, _forVerify, format) => decryptJwe(text, keys, opts, format === 'jwe' ? 'jwe' : 'jwe-json'),
  kid(text) {
    const j = codec.decode(text);
    const kid = j.recipients[0]?.header?.kid ?? j.unprotected?.kid ?? j.protectedHeader.kid;
    return typeof kid === 'string' ? kid : undefined;
  },
  options: { encrypt: ['alg', 'aad', 'wrap', 'kid'], decrypt: ['aad', 'allowAlg', 'maxInflated', 'kdfBudget'] },
} satisfies PayloadFormat;
