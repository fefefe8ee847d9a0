import { memberNames, type PayloadFormat } from '../types.js';
import * as codec from './codec.js';
import { openEnvelope } from './open.js';

/** The JSON envelope: version 2, the origin's self-keyed `{data,key,mac,nonce}` and the legacy versions (docs/FORMAT.md §3, §4). */
export const envelopeFormat = {
  name: 'envelope',
  formats: ['json'],
  detect: {
    /** The canonical keyed envelope, parsed without building a tree (what line mode reads by the million). */
    canonical: (p) => codec.decodeFast(p.text) !== undefined,
    /** A numeric "v" says "envelope" (its decoder then names any problem); otherwise every member is an envelope member, nonce and data among them. */
    members(p) {
      const root = p.root();
      const names = memberNames(root);
      if (!names || root.kind !== 'object') return false;
      if (root.entries.find((e) => e.key === 'v')?.value.kind === 'number') return true;
      return names.includes('nonce') && names.includes('data') && names.every((n) => codec.ENVELOPE_MEMBERS.has(n));
    },
  },
  open(text, keys, opts, forVerify) {
    const o = openEnvelope(text, keys, opts, forVerify);
    return { plaintext: o.plaintext, alg: o.alg, ...(o.kid !== undefined ? { kid: o.kid } : {}), format: 'json', ...(o.legacy ? { legacy: true } : {}) };
  },
  kid: (text) => codec.decode(text).kid,
  options: { encrypt: ['alg', 'aad', 'embedKey'], decrypt: ['alg', 'aad', 'embeddedKey', 'allowLegacy', 'kdfBudget'] },
} satisfies PayloadFormat;
