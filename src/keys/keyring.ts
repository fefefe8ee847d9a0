import { parse as parseIni } from 'ini';
import { KeyError, shown } from '../errors.js';
import { parseJson } from '../formats/common/jsonSpans.js';
import { decodeKey } from './decode.js';
import { keyId } from './kid.js';

/**
 * Several keys, one of them primary (used to encrypt). Decrypt and verify
 * pick the key by the kid the input names.
 */
export interface Keyring {
  /** kid of the primary key. */
  primary: string;
  /** kid → key. */
  keys: Map<string, Buffer>;
  /** Where it came from, for messages. */
  source: string;
}

/**
 * Parse a keyring: JSON `{"primary": "<kid or name>", "keys": {"<kid or
 * name>": "<key text>", …}}`, or an .ini whose `[keyring]` section (or top
 * level) has `<kid or name> = <key text>` lines and `primary = <kid or name>`.
 * Entries are indexed by the kid computed from the key; a label that looks
 * like a kid (16 hex digits) must be that key's kid.
 *
 * @example
 * ```ts
 * const ring = parseKeyring('{"primary":"new","keys":{"new":"<hex>","old":"<hex>"}}', 'env AES_PAYLOAD_KEYRING');
 * ```
 */
export function parseKeyring(text: string, source: string): Keyring {
  let entries: Record<string, unknown>;
  let primary: unknown;
  const t = text.replace(/^\uFEFF/, '').trim();
  if (looksLikeOneKey(t)) {
    throw new KeyError(`${source} holds a single key, not a keyring; give it as AES_PAYLOAD_KEY (or --key-file), or write a keyring: {"primary": NAME, "keys": {NAME: KEY, …}}`, 'ERR_KEYRING');
  }
  if (t.startsWith('{')) {
    let o: unknown;
    try {
      o = parseJson(t, 'the keyring');
    } catch (e) {
      throw new KeyError(`${source}: ${(e as Error).message}`, 'ERR_KEYRING');
    }
    const obj = o as Record<string, unknown>;
    if (typeof obj !== 'object' || obj === null || typeof obj.keys !== 'object' || obj.keys === null || Array.isArray(obj.keys)) {
      throw new KeyError(`${source}: a JSON keyring is {"primary": KID, "keys": {KID: KEY, …}}`, 'ERR_KEYRING');
    }
    entries = obj.keys as Record<string, unknown>;
    primary = obj.primary;
  } else {
    const ini = parseIni(t) as Record<string, unknown>;
    const section = typeof ini.keyring === 'object' && ini.keyring !== null ? (ini.keyring as Record<string, unknown>) : ini;
    entries = { ...section };
    primary = entries.primary;
    delete entries.primary;
    for (const [k, v] of Object.entries(entries)) if (typeof v === 'object') delete entries[k];
  }
  // A label or primary is never echoed: the file may not be a keyring at all (a password file named
  // by a committed rules file), and a key pasted where a name belongs is key material. Entries are
  // named by their place.
  const named = (_label: string, i: number) => `#${i + 1}`;
  const keys = new Map<string, Buffer>();
  const labels = new Map<string, string>();
  let i = -1;
  for (const [label, value] of Object.entries(entries)) {
    i++;
    if (typeof value !== 'string') throw new KeyError(`${source}: keyring entry ${named(label, i)} is not key text`, 'ERR_KEYRING');
    let key: Buffer;
    try {
      key = decodeKey(Buffer.from(value.replace(/^["']|["']$/g, ''), 'utf8'), 'auto');
    } catch (e) {
      throw new KeyError(`${source}: keyring entry ${named(label, i)}: ${(e as Error).message}`, 'ERR_KEYRING');
    }
    const kid = keyId(key);
    if (/^[0-9a-f]{16}$/.test(label) && label !== kid) {
      throw new KeyError(`${source}: keyring entry ${named(label, i)} is labelled like a kid, but holds the key whose kid is ${kid}`, 'ERR_KEYRING');
    }
    keys.set(kid, key);
    labels.set(label, kid);
  }
  if (keys.size === 0) throw new KeyError(`${source}: the keyring has no keys`, 'ERR_KEYRING');
  let p: string | undefined;
  if (primary === undefined) {
    if (keys.size > 1) throw new KeyError(`${source}: the keyring has several keys but names no primary`, 'ERR_KEYRING');
    p = [...keys.keys()][0];
  } else {
    if (typeof primary !== 'string') throw new KeyError(`${source}: keyring "primary" must name a key`, 'ERR_KEYRING');
    p = labels.get(primary) ?? (keys.has(primary) ? primary : undefined);
    if (!p) throw new KeyError(`${source}: the keyring's primary is not one of its labels or kids`, 'ERR_KEYRING');
  }
  return { primary: p!, keys, source };
}

/** Whether `t` (a keyring's whole text) is one key rather than a keyring: what `keygen` prints. */
function looksLikeOneKey(t: string): boolean {
  if (t.includes('\n') || t.includes('=') && !/^[A-Za-z0-9+/_-]+={1,2}$/.test(t)) return false;
  try {
    decodeKey(Buffer.from(t, 'utf8'), 'auto').fill(0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The key for `kid` (the primary one when the input names none). A kid that
 * is not in the keyring is a key problem (exit 3).
 */
export function ringKey(ring: Keyring, kid: string | undefined): Buffer {
  if (kid === undefined) return ring.keys.get(ring.primary)!;
  const k = ring.keys.get(kid);
  if (!k) throw new KeyError(`kid ${shown(kid)} is not in the keyring (${ring.source}; it has ${[...ring.keys.keys()].join(', ')})`, 'ERR_KID_UNKNOWN');
  return k;
}
