import { createHash } from 'node:crypto';

const KID_PREFIX = Buffer.from('aes-payload kid v1\n', 'ascii');

/**
 * The key id (kid): a short, stable, non-secret fingerprint of a symmetric
 * key. It is the first 8 bytes of SHA-256("aes-payload kid v1\n" ‖ key),
 * written as 16 lowercase hex digits (docs/FORMAT.md, "Key id").
 *
 * @example
 * ```ts
 * keyId(Buffer.alloc(32)); // '…16 hex digits…'
 * ```
 */
export function keyId(key: Uint8Array): string {
  // Line mode asks for the same key's kid for every record: remember the last one.
  if (last && last.key === key && last.len === key.length) return last.kid;
  const kid = createHash('sha256').update(KID_PREFIX).update(key).digest().subarray(0, 8).toString('hex');
  last = { key, len: key.length, kid };
  return kid;
}

let last: { key: Uint8Array; len: number; kid: string } | undefined;
