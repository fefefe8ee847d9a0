import type { Decipher } from 'node:crypto';
import { AuthError } from '../errors.js';

/**
 * Finish a decipher whose output so far is `head`. If `final()` fails (bad
 * tag or bad padding), wipe `head` and throw the one {@link AuthError}, so no
 * unauthenticated plaintext escapes.
 */
export function finishOrAuthFail(d: Decipher, head: Buffer): Buffer {
  try {
    const tail = d.final();
    return tail.length ? Buffer.concat([head, tail]) : head;
  } catch {
    head.fill(0);
    throw new AuthError();
  }
}
