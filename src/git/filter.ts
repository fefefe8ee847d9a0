import { spawnSync } from 'node:child_process';
import { UsageError } from '../errors.js';
import { fieldCodec } from '../formats/fields/documents.js';
import type { KeyForKid } from '../formats/fields/jsonDoc.js';
import { loadYaml } from '../formats/fields/yamlLoad.js';
import { rulePaths } from '../rules/fields.js';
import type { Match } from '../rules/rules.js';
import { encryptedKind, kindOfType, plaintextOf, typeOfKind } from './docs.js';
import { CONFLICT_PREFIX } from './merge.js';

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
  const already = await encryptedKind(plain);
  if (already) {
    // Ciphertext in the working tree (checked out without a key): it goes back as it is, but only if it
    // is what it claims: authenticated when a key is at hand, and with every value the rules select a
    // token, so that a made-up header line cannot carry plaintext secrets into the repository.
    const type = typeOfKind(already);
    if (type === 'yaml') await loadYaml();
    let k: KeyForKid | undefined;
    try {
      k = await keyFor();
    } catch {
      k = undefined;
    }
    const require = match ? rulePaths(match.rule, plain, type) : [];
    const c = fieldCodec(already).check(plain, k, { require, what: path });
    if (c.plaintext.length) throw new UsageError(`${path}: looks encrypted, but ${c.plaintext.slice(0, 3).join(', ')} ${c.plaintext.length === 1 ? 'is' : 'are'} in the clear where the rules say encrypted; refusing to store it`);
    return plain;
  }
  if (plain.includes(CONFLICT_PREFIX) && plain.includes(' >>>>>>> ')) {
    throw new UsageError(`${path}: holds an unresolved merge conflict (a value "${CONFLICT_PREFIX.trim()} … >>>>>>> …"); edit the file to keep one value, then git add`);
  }
  const old = knownBlob(path);
  const oldKind = old !== undefined ? await encryptedKind(old) : undefined;
  const type = match?.rule.type ?? (oldKind ? typeOfKind(oldKind) : /\.ya?ml$/i.test(path) ? 'yaml' : /(^|\/)\.env|\.env$/.test(path) ? 'env' : 'json');
  if (type === 'yaml') await loadYaml();
  const paths = match ? rulePaths(match.rule, plain, type) : [];
  if (old !== undefined && oldKind) {
    const k = await keyFor();
    if (plaintextOf(oldKind, old, k, path) === plain) return old;
    return fieldCodec(oldKind).reencrypt(old, plain, k, { paths, what: path }).text;
  }
  if (!match) throw new UsageError(`${path}: no rule in .aes-payload.yaml says which values to encrypt, and git has no encrypted version of it; refusing to store it in the clear`);
  const key = await primary();
  return fieldCodec(kindOfType(type)).encrypt(plain, key, { paths, allowMissing: true, what: path }).text;
}
