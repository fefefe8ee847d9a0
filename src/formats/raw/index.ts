import type { PayloadFormat } from '../types.js';
import { openRaw } from './open.js';

/** Raw base64 `nonce ‖ ct ‖ tag` (GCM) or `iv ‖ ct` (CBC), the origin services' format (docs/FORMAT.md §6): whatever no other format claims. */
export const rawFormat = {
  name: 'raw',
  formats: ['raw'],
  detect: {
    /** Any text that is not JSON and that no other format claims (the registry asks only for text that is not JSON; the decoder names any problem). */
    text: () => true,
  },
  open(text, keys, opts, forVerify) {
    const o = openRaw(text, keys, opts, forVerify);
    return { plaintext: o.plaintext, alg: o.alg, ...(o.kid !== undefined ? { kid: o.kid } : {}), format: 'raw' };
  },
  kid: () => undefined,
  options: { encrypt: ['alg', 'aad', 'nonceBytes'], decrypt: ['alg', 'aad', 'nonceBytes', 'kdfBudget'] },
} satisfies PayloadFormat;
