import { randomBytes } from 'node:crypto';
import { cbcDecrypt } from '../crypto/cbc.js';
import { gcmSeal } from '../crypto/gcm.js';
import { b64decodeStrict } from '../formats/common/base64.js';
import * as envelope from '../formats/envelope/codec.js';
import { ORIGIN_NONCE_LEN } from '../ops/index.js';
import type { Member } from './body.js';
import { HttpError } from './http.js';
import { needKeys, type ServerKeys } from './v1.js';

// The origin microservices' routes, for their existing clients (docs/SERVICE.md).

/** The one answer of /decrypt-mac for every failure. */
export const MAC_FAILED = '{"status":"error","message":"Decryption failed"}';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** POST /oracleinvocation: `data` sealed under a fresh key, returned in the origin's `{data,key,mac,nonce}`. */
export function oracle(m: Map<string, Member>): string {
  const data = m.get('data');
  if (data === undefined) throw new HttpError(400, 'ERR_REQUEST', '"data" must be a string');
  // A fresh random 256-bit key for every call, in the answer (as the origin did), and a 16-byte nonce.
  const key = randomBytes(32);
  const nonce = randomBytes(ORIGIN_NONCE_LEN);
  const s = gcmSeal(key, nonce, data.bytes());
  const text = envelope.encodeOrigin({ data: s.ciphertext, key, mac: s.tag, nonce });
  key.fill(0);
  return text;
}

/**
 * The origin client/server pair's route: AES-128-CBC with the shared key and
 * the client's random "salt" as the IV. Unauthenticated: one answer and one
 * code path for every failure (bad base64 decrypts a dummy, bad padding, not
 * UTF-8), so that it says as little as a CBC oracle can.
 */
export function decryptMac(k: ServerKeys, m: Map<string, Member> | undefined): { status: number; body: string } {
  const key = needKeys(k).secret!; // checked at start: 16 bytes
  let ok = m !== undefined;
  const bytes = (v: Member | undefined, fallback: number): Buffer => {
    try {
      if (v !== undefined) {
        const b = b64decodeStrict(v.text(), 'x');
        if (b.length) return b;
      }
    } catch {
      /* below */
    }
    ok = false;
    return Buffer.alloc(fallback);
  };
  const ct = bytes(m?.get('encrypted_mac'), 32);
  const iv = bytes(m?.get('salt'), 16);
  if (ct.length % 16 !== 0 || iv.length !== 16) ok = false;
  let mac: string | undefined;
  try {
    // Bad input still goes through a decryption, of zeros: the same path and timing as bad padding.
    mac = utf8.decode(cbcDecrypt(key, iv.length === 16 ? iv : Buffer.alloc(16), ct.length % 16 === 0 ? ct : Buffer.alloc(32)));
  } catch {
    ok = false;
  }
  if (!ok || mac === undefined) return { status: 400, body: MAC_FAILED };
  return { status: 200, body: JSON.stringify({ status: 'success', mac_address: mac }) };
}
