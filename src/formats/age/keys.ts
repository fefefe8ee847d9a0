import { KeyError } from '../../errors.js';
import { bech32Decode, bech32Encode } from './bech32.js';
import { pqAvailable, pqCheckPublic, pqGenerate, pqPublicOf, pqUnavailableMessage, PQ_PUBLIC_BYTES } from './mlkem768x25519.js';
import { x25519Generate, x25519PublicOf } from './x25519.js';

/** Someone to encrypt to: an age X25519 (`age1…`) or hybrid post-quantum (`age1pq1…`) public key, or a passphrase. */
export type AgeRecipient =
  | { type: 'X25519'; pub: Buffer }
  | { type: 'mlkem768x25519'; pub: Buffer }
  | { type: 'scrypt'; passphrase: Buffer; logN?: number };

/** Something to decrypt with: an age secret key or a passphrase. */
export type AgeIdentity =
  | { type: 'X25519'; secret: Buffer; pub: Buffer }
  | { type: 'mlkem768x25519'; seed: Buffer }
  | { type: 'scrypt'; passphrase: Buffer };

/** A token that is (or looks like) a secret key: never shown in a message, in any case. */
export const SECRET_PREFIX = /^AGE-(SECRET-KEY|PLUGIN)-/i;

const shown = (s: string) => JSON.stringify(s.length > 24 ? `${s.slice(0, 20)}…` : s);

/**
 * Parse a recipient: `age1…` (X25519) or `age1pq1…` (post-quantum, Node ≥ 24.7).
 *
 * @example
 * ```ts
 * parseRecipient('age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj');
 * ```
 */
export function parseRecipient(s: string): AgeRecipient {
  // An identity where a recipient belongs: nothing of it is shown, not even its first characters.
  if (SECRET_PREFIX.test(s)) throw new KeyError('this is an age identity (a secret key), not a recipient; did you mean -i? (the recipient is its "public key:" line, or age-keygen -y)', 'ERR_KEY');
  const d = bech32Decode(s);
  if ('error' in d) throw new KeyError(`not an age recipient ${shown(s)}: ${d.error}`, 'ERR_KEY');
  if (d.hrp !== d.hrp.toLowerCase()) throw new KeyError(`not an age recipient ${shown(s)}: recipients are lower case`, 'ERR_KEY');
  if (d.hrp === 'age') {
    if (d.data.length !== 32) throw new KeyError(`not an age recipient ${shown(s)}: an X25519 key is 32 bytes`, 'ERR_KEY');
    return { type: 'X25519', pub: d.data };
  }
  if (d.hrp === 'age1pq') {
    if (d.data.length !== PQ_PUBLIC_BYTES) throw new KeyError(`not an age recipient ${shown(s)}: a post-quantum key is ${PQ_PUBLIC_BYTES} bytes`, 'ERR_KEY');
    if (!pqAvailable()) throw new KeyError(pqUnavailableMessage(), 'ERR_NODE_VERSION');
    pqCheckPublic(d.data);
    return { type: 'mlkem768x25519', pub: d.data };
  }
  throw new KeyError(`unsupported age recipient type ${shown(d.hrp)} (aes-payload reads age1… and age1pq1…; no plugins or SSH keys)`, 'ERR_KEY');
}

/** Parse an identity: `AGE-SECRET-KEY-1…` or `AGE-SECRET-KEY-PQ-1…`. Messages never show the key. */
export function parseIdentity(s: string): AgeIdentity {
  if (/^age1/i.test(s)) throw new KeyError('this is a recipient (public key), not an identity; give it with encrypt -r, and decrypt with the identity file age-keygen wrote', 'ERR_KEY');
  const d = bech32Decode(s);
  if ('error' in d) throw new KeyError(`not an age identity: ${d.error}`, 'ERR_KEY');
  if (d.hrp !== d.hrp.toUpperCase()) throw new KeyError('not an age identity: identities are upper case', 'ERR_KEY');
  if (d.hrp === 'AGE-SECRET-KEY-') {
    if (d.data.length !== 32) throw new KeyError('not an age identity: an X25519 key is 32 bytes', 'ERR_KEY');
    return { type: 'X25519', secret: d.data, pub: x25519PublicOf(d.data) };
  }
  if (d.hrp === 'AGE-SECRET-KEY-PQ-') {
    if (d.data.length !== 32) throw new KeyError('not an age identity: a post-quantum key is 32 bytes', 'ERR_KEY');
    if (!pqAvailable()) throw new KeyError(pqUnavailableMessage(), 'ERR_NODE_VERSION');
    return { type: 'mlkem768x25519', seed: d.data };
  }
  if (d.hrp.startsWith('AGE-PLUGIN-')) throw new KeyError('age plugin identities are not supported', 'ERR_KEY');
  throw new KeyError('not an age identity (AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1…)', 'ERR_KEY');
}

/** The recipient string of an identity. */
export function recipientOf(id: AgeIdentity): string {
  if (id.type === 'X25519') return bech32Encode('age', id.pub);
  if (id.type === 'mlkem768x25519') return bech32Encode('age1pq', pqPublicOf(id.seed));
  throw new KeyError('a passphrase has no recipient string', 'ERR_KEY_TYPE');
}

export function formatRecipient(r: AgeRecipient): string {
  if (r.type === 'X25519') return bech32Encode('age', r.pub);
  if (r.type === 'mlkem768x25519') return bech32Encode('age1pq', r.pub);
  throw new KeyError('a passphrase has no recipient string', 'ERR_KEY_TYPE');
}

export function formatIdentity(id: AgeIdentity): string {
  if (id.type === 'X25519') return bech32Encode('AGE-SECRET-KEY-', id.secret).toUpperCase();
  if (id.type === 'mlkem768x25519') return bech32Encode('AGE-SECRET-KEY-PQ-', id.seed).toUpperCase();
  throw new KeyError('a passphrase has no identity string', 'ERR_KEY_TYPE');
}

/** A fresh identity (`pq`: hybrid post-quantum, Node ≥ 24.7). */
export function generateIdentity(pq = false): AgeIdentity {
  if (pq) return { type: 'mlkem768x25519', seed: pqGenerate().seed };
  const { secret, pub } = x25519Generate();
  return { type: 'X25519', secret, pub };
}

const MAX_KEY_FILE = 1 << 20;

function lines(text: string, what: string): { n: number; line: string }[] {
  if (text.length > MAX_KEY_FILE) throw new KeyError(`${what} is larger than 1 MiB`, 'ERR_KEY');
  const out: { n: number; line: string }[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    out.push({ n: i + 1, line });
  });
  return out;
}

/**
 * An identity file as age-keygen writes it: one key per line, `#` comments
 * and blank lines ignored.
 */
export function parseIdentityFile(text: string, what: string): AgeIdentity[] {
  const ids: AgeIdentity[] = [];
  if (text.startsWith('-----BEGIN AGE ENCRYPTED FILE-----') || text.startsWith('age-encryption.org/')) {
    throw new KeyError(`${what} is an encrypted age file; passphrase-protected identity files are not supported: decrypt it first`, 'ERR_KEY');
  }
  for (const { n, line } of lines(text, what)) {
    try {
      ids.push(parseIdentity(line));
    } catch (e) {
      if (e instanceof KeyError && e.code === 'ERR_NODE_VERSION') throw e;
      throw new KeyError(`${what}, line ${n}: ${(e as Error).message}`, 'ERR_KEY');
    }
  }
  if (!ids.length) throw new KeyError(`${what} holds no age identity`, 'ERR_KEY_MISSING');
  return ids;
}

/** A recipients file (`-R`): one recipient per line, `#` comments and blank lines ignored. */
export function parseRecipientsFile(text: string, what: string): AgeRecipient[] {
  const out: AgeRecipient[] = [];
  for (const { n, line } of lines(text, what)) {
    try {
      out.push(parseRecipient(line));
    } catch (e) {
      if (e instanceof KeyError && e.code === 'ERR_NODE_VERSION') throw e;
      throw new KeyError(`${what}, line ${n}: ${(e as Error).message}`, 'ERR_KEY');
    }
  }
  if (!out.length) throw new KeyError(`${what} holds no age recipient`, 'ERR_KEY_MISSING');
  return out;
}
