import { KdfBudget } from '../crypto/kdf.js';

export type { KdfBudget };

/** A run's budget of passphrase work (env AES_PAYLOAD_KDF_BUDGET), shared by every input the run reads. */
export function kdfBudget(env: NodeJS.ProcessEnv = process.env): KdfBudget {
  return KdfBudget.fromEnv(env);
}
