import { AesPayloadError, EXIT, UsageError } from '../../errors.js';
import type { KdfBudget } from '../../crypto/kdf.js';
import { FILE_KEY_BYTES } from './aead.js';
import { headerError } from './b64.js';
import type { Stanza } from './header.js';
import type { AgeIdentity, AgeRecipient } from './keys.js';
import { pqUnwrap, pqWrap } from './mlkem768x25519.js';
import { scryptUnwrap, scryptWrap } from './scrypt.js';
import { x25519Unwrap, x25519Wrap } from './x25519.js';

/** No identity given could unwrap any stanza (testkit: "no match"); exit 1. */
export class NoIdentityMatchedError extends AesPayloadError {
  constructor(readonly stanzaTypes: string[], why: 'passphrase' | 'needs-passphrase' | 'needs-identity' | 'identities') {
    const types = [...new Set(stanzaTypes)].slice(0, 5).map((t) => JSON.stringify(t).slice(1, -1).slice(0, 40));
    super(
      'ERR_AGE_NO_MATCH',
      EXIT.AUTH,
      why === 'passphrase'
        ? 'no identity matched: the passphrase is wrong (or the file was changed)'
        : why === 'needs-passphrase'
          ? 'no identity matched: the file is passphrase-encrypted (use --passphrase, --passphrase-env or --passphrase-file)'
          : why === 'needs-identity'
            ? `no identity matched: the file is encrypted to public keys (stanza types: ${types.join(', ')}), not to a passphrase; use -i IDENTITY_FILE`
            : `no identity matched any of the file's recipients (stanza types: ${types.join(', ')})`,
    );
  }
}

/**
 * Wrap a 16-byte file key to each recipient, as age stanzas. Refuses what
 * age refuses: a passphrase with anything else, and a post-quantum
 * recipient with a classic one (which would defeat it).
 *
 * @example
 * ```ts
 * const stanzas = wrapFileKey(randomBytes(16), [parseRecipient('age1…')]);
 * ```
 */
export function wrapFileKey(fileKey: Uint8Array, recipients: readonly AgeRecipient[]): Stanza[] {
  if (fileKey.length !== FILE_KEY_BYTES) throw new Error('an age file key is 16 bytes');
  if (!recipients.length) throw new UsageError('no age recipient');
  if (recipients.some((r) => r.type === 'scrypt') && recipients.length > 1) {
    throw new UsageError('a passphrase-encrypted age file has exactly one recipient (the passphrase): drop -r/-R or --passphrase');
  }
  const pq = recipients.filter((r) => r.type === 'mlkem768x25519').length;
  if (pq && pq !== recipients.length) {
    throw new UsageError('a post-quantum recipient (age1pq1…) cannot be mixed with classic ones (age1…): the classic stanza would undo its protection');
  }
  return recipients.map((r) => (r.type === 'X25519' ? x25519Wrap(fileKey, r.pub) : r.type === 'mlkem768x25519' ? pqWrap(fileKey, r.pub) : scryptWrap(fileKey, r.passphrase, r.logN)));
}

/**
 * Find the file key: each identity tries each stanza, in order. A stanza of
 * our type that is malformed is a header error (age.md: exact lengths, so no
 * partitioning oracle); one whose tag does not verify is skipped. An scrypt
 * stanza must be alone in the header. Does not check the header MAC: do
 * that with the returned key (index.ts `openHeader` does).
 */
export function unwrapFileKey(stanzas: readonly Stanza[], identities: readonly AgeIdentity[], budget?: KdfBudget): Buffer {
  if (stanzas.some((s) => s.type === 'scrypt') && stanzas.length !== 1) throw headerError('an scrypt stanza must be the only stanza in the header');
  for (const id of identities) {
    for (const s of stanzas) {
      const fk =
        id.type === 'X25519' ? x25519Unwrap(s, id.secret, id.pub) : id.type === 'mlkem768x25519' ? pqUnwrap(s, id.seed) : scryptUnwrap(s, id.passphrase, budget);
      if (fk) {
        if (fk.length !== FILE_KEY_BYTES) throw headerError('the file key is not 16 bytes');
        return fk;
      }
    }
  }
  const onlyPassphrases = identities.length > 0 && identities.every((i) => i.type === 'scrypt');
  const scryptFile = stanzas.some((s) => s.type === 'scrypt');
  throw new NoIdentityMatchedError(stanzas.map((s) => s.type), onlyPassphrases && scryptFile ? 'passphrase' : scryptFile ? 'needs-passphrase' : onlyPassphrases ? 'needs-identity' : 'identities');
}
