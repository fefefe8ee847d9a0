import { KeyError } from '../errors.js';
import { keyId } from '../keys/kid.js';
import { ringKey } from '../keys/keyring.js';
import { resolveKeys } from '../keys/resolve.js';
import { keySourceFlags, type KeySource } from '../keys/source.js';
import type { KeyForKid } from '../formats/fields/jsonDoc.js';
import { ENV_KEY_VARS, type Rules } from '../rules/rules.js';
import type { Ui } from '../cli/ui.js';

/**
 * The keys a git driver decrypts with, never prompting (git runs drivers
 * with no terminal of their own): the flags, else the environment
 * (AES_PAYLOAD_KEY, AES_PAYLOAD_KEYRING, AES_PAYLOAD_KEY_CMD), else every
 * key the rules file names, chosen by the kid the document's header names.
 */
export async function driverKeys(flags: KeySource, rules: Rules | undefined, ui: Ui): Promise<KeyForKid> {
  const ctx = { env: process.env, warn: (m: string) => ui.warn(m) };
  const sources: KeySource[] = [];
  if (keySourceFlags(flags).length) sources.push(flags);
  else {
    if (ENV_KEY_VARS.some((v) => process.env[v])) sources.push({ keyEncoding: flags.keyEncoding ?? 'auto' });
    if (rules?.key) sources.push({ ...rules.key, origin: `the key named in ${rules.file}` });
    for (const r of rules?.rules ?? []) if (r.key) sources.push({ ...r.key, origin: `the key named in ${rules!.file} (line ${r.line})` });
  }
  if (!sources.length) throw new KeyError('no key: set AES_PAYLOAD_KEY (or AES_PAYLOAD_KEYRING, AES_PAYLOAD_KEY_CMD), or name one in .aes-payload.yaml; git drivers never prompt', 'ERR_NO_KEY');
  const byKid = new Map<string, Uint8Array>();
  let ring: KeyForKid | undefined;
  let firstError: unknown;
  for (const s of sources) {
    try {
      const r = await resolveKeys(s, ctx);
      if (r.ring && !ring) ring = (kid) => ringKey(r.ring!, kid);
      if (r.secret) byKid.set(keyId(r.secret), r.secret);
    } catch (e) {
      firstError ??= e;
    }
  }
  if (!byKid.size && !ring) throw firstError ?? new KeyError('no key', 'ERR_NO_KEY');
  return (kid) => {
    const k = byKid.get(kid);
    if (k) return k;
    if (ring) return ring(kid);
    // The one key we have, so that the usual "kid differs" message names both.
    if (byKid.size === 1) return byKid.values().next().value!;
    throw new KeyError(`no key for kid ${kid} among the ${byKid.size} keys found`, 'ERR_KID_MISMATCH');
  };
}
