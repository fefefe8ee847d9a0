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

/** The longest kid a key command is given. */
export const MAX_COMMAND_KID = 256;

/**
 * Whether a kid read from an input (before anything is authenticated) may
 * be given to a key command as AES_PAYLOAD_KID: 1 to 256 of the characters
 * aes-payload kids, RFC 7638 thumbprints and the common KMS key ids use
 * (letters, digits and `. _ : / + = @ -`), not starting with `-` (an option
 * to the command), with no `.` or `..` path segment. Nothing a shell, a
 * path or a terminal reads as more than a name.
 *
 * @example
 * ```ts
 * isCommandKid('arn:aws:kms:eu-west-1:123456789012:key/1234abcd'); // true
 * isCommandKid('../../etc/passwd'); // false
 * ```
 */
export function isCommandKid(kid: string): boolean {
  return kid.length <= MAX_COMMAND_KID && /^[A-Za-z0-9._:/+=@][A-Za-z0-9._:/+=@-]*$/.test(kid) && !/(^|\/)\.\.?(\/|$)/.test(kid);
}
