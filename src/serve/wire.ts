import { createPrivateKey } from 'node:crypto';
import type { Keyring } from '../keys/keyring.js';
import type { Keys } from '../ops/index.js';

/** Keys as they travel to a cluster worker over IPC (never argv or env). */
export interface Wire {
  secret?: string;
  ring?: { primary: string; source: string; keys: [string, string][] };
  rsa?: string;
}

export function keysToWire(k: Keys | undefined): Wire | undefined {
  if (!k) return undefined;
  return {
    ...(k.secret ? { secret: Buffer.from(k.secret).toString('base64') } : {}),
    ...(k.ring ? { ring: { primary: k.ring.primary, source: k.ring.source, keys: [...k.ring.keys].map(([kid, v]) => [kid, v.toString('base64')] as [string, string]) } } : {}),
    ...(k.rsa ? { rsa: k.rsa.export({ format: 'pem', type: 'pkcs8' }) as string } : {}),
  };
}

export function keysFromWire(w: Wire | undefined): Keys | undefined {
  if (!w) return undefined;
  const ring: Keyring | undefined = w.ring ? { primary: w.ring.primary, source: w.ring.source, keys: new Map(w.ring.keys.map(([kid, v]) => [kid, Buffer.from(v, 'base64')])) } : undefined;
  return { ...(w.secret ? { secret: Buffer.from(w.secret, 'base64') } : {}), ...(ring ? { ring } : {}), ...(w.rsa ? { rsa: createPrivateKey(w.rsa) } : {}) };
}
