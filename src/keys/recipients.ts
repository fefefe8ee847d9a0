import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { KeyError, ioError } from '../errors.js';
import { parseJson } from '../formats/common/jsonSpans.js';
import { parseStructuredKey, publicOf } from './structured.js';

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw ioError(e, `cannot read ${what} ${path}`);
  }
}

/** An RSA public key from PEM or JWK text (a private key gives its public half). Not secret. */
function publicKey(text: string | Buffer, where: string): KeyObject {
  const k = parseStructuredKey(Buffer.from(text), where);
  if (!k || k.kind === 'secret') throw new KeyError(`${where} is not a public key (RSA, EC or X25519; PEM or JWK)`, 'ERR_KEY_TYPE');
  // A private JWK (one with "d") is refused, as jose refuses it for encryption: a
  // private key handed out as a recipient is a leak waiting to happen. The key is not shown.
  if (k.kind === 'private' && Buffer.from(text).toString('utf8').trimStart().startsWith('{')) {
    throw new KeyError(`${where} is a private key (a JWK with "d"); give the public key (keygen writes it next to the private one, as .pub)`, 'ERR_KEY_TYPE');
  }
  return publicOf(k.key);
}

/**
 * The RSA public key in a file given to `--recipient` (PEM or JWK).
 *
 * @example
 * ```ts
 * const pub = readRecipient('service.pem.pub');
 * ```
 */
export function readRecipient(path: string): KeyObject {
  return publicKey(read(path, 'recipient key'), `recipient key ${path}`);
}

/**
 * The RSA public keys in a file given to `--recipients-file` (as age's
 * `-R`): a JWK Set (`{"keys": […]}`), or PEM public keys one after the
 * other, or one JWK per line. Blank lines and lines starting with `#` are
 * ignored.
 *
 * @example
 * ```ts
 * const keys = readRecipients('team.keys'); // [KeyObject, KeyObject, …]
 * ```
 */
export function readRecipients(path: string): KeyObject[] {
  const text = read(path, 'recipients file').toString('utf8').replace(/^\uFEFF/, '');
  const where = (i: number) => `recipients file ${path}, key ${i + 1}`;
  const trimmed = text.trim();
  let keys: KeyObject[];
  if (trimmed.startsWith('{') && /"keys"\s*:/.test(trimmed) && !trimmed.includes('\n{')) {
    let set: unknown;
    try {
      set = parseJson(trimmed, 'the JWK Set');
    } catch (e) {
      throw new KeyError(`recipients file ${path}: ${(e as Error).message}`, 'ERR_KEY_FORMAT');
    }
    const list = (set as { keys?: unknown }).keys;
    if (!Array.isArray(list)) throw new KeyError(`recipients file ${path}: a JWK Set is {"keys": [JWK, …]}`, 'ERR_KEY_FORMAT');
    keys = list.map((jwk, i) => publicKey(JSON.stringify(jwk), where(i)));
  } else if (trimmed.includes('-----BEGIN')) {
    const blocks = trimmed.match(/-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g) ?? [];
    keys = blocks.map((b, i) => publicKey(b, where(i)));
  } else {
    const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    keys = lines.map((l, i) => publicKey(l, where(i)));
  }
  if (!keys.length) throw new KeyError(`recipients file ${path} holds no public key`, 'ERR_KEY_MISSING');
  return keys;
}
