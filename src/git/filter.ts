import { spawnSync } from 'node:child_process';
import { UsageError } from '../errors.js';
import { fieldCodec } from '../fields/documents.js';
import type { KeyForKid } from '../fields/fields.js';
import { loadYaml } from '../fields/yamlfields.js';
import { rulePaths } from '../rules/fields.js';
import type { Match } from '../rules/rules.js';
import { encryptedKind, kindOfType, plaintextOf } from './docs.js';
import { keyId } from '../keys/kid.js';

/** The blob git already has for a path (the index, else HEAD), or undefined. */
export function knownBlob(path: string): string | undefined {
  for (const spec of [`:${path}`, `HEAD:${path}`]) {
    const r = spawnSync('git', ['cat-file', 'blob', spec], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 << 20 });
    if (r.status === 0) return r.stdout.toString('utf8');
  }
  return undefined;
}

/**
 * The clean filter (working tree → repository): the plaintext document is
 * encrypted per the rules. Unchanged plaintext gives the very blob git
 * already has (fresh nonces are never reused, and git status stays clean),
 * and unchanged values keep their tokens. Input that is already encrypted
 * passes as it is.
 */
export async function clean(plain: string, path: string, match: Match | undefined, keyFor: () => Promise<KeyForKid>, primary: () => Promise<Uint8Array>): Promise<string> {
  if (await encryptedKind(plain)) return plain;
  const old = knownBlob(path);
  const oldKind = old !== undefined ? await encryptedKind(old) : undefined;
  const type = match?.rule.type ?? (oldKind ? (oldKind === 'fields' ? 'json' : oldKind) : /\.ya?ml$/i.test(path) ? 'yaml' : /(^|\/)\.env|\.env$/.test(path) ? 'env' : 'json');
  if (type === 'yaml') await loadYaml();
  const paths = match ? rulePaths(match.rule, plain, type) : [];
  if (old !== undefined && oldKind) {
    const k = await keyFor();
    if (plaintextOf(oldKind, old, k, path) === plain) return old;
    return fieldCodec(oldKind).reencrypt(old, plain, k, { paths, what: path }).text;
  }
  if (!match) throw new UsageError(`${path}: no rule in .aes-payload.yaml says which values to encrypt, and git has no encrypted version of it; refusing to store it in the clear`);
  const key = await primary();
  void keyId;
  return fieldCodec(kindOfType(type)).encrypt(plain, key, { paths, allowMissing: true, what: path }).text;
}
