import { printable } from '../errors.js';
import { isoNow } from '../serve/log.js';

// The worker's log: JSON lines on stderr, never a credential in them.

/** One JSON line on stderr. */
export function log(fields: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: isoNow(), ...fields })}\n`);
}

/** URLs with any user, password or token blanked, with or without a scheme: `nats://***@host:4222`, `***@host:4222`. */
export function redactUrls(s: string): string {
  return s.replace(/(^|[a-z][a-z0-9+.-]*:\/\/|[\s,;('"=])[^\s,;/@'"]*@/gi, '$1***@');
}

/** A NATS error as one printable line, with no credentials in it. */
export function why(e: unknown): string {
  return printable(redactUrls(String((e as Error)?.message ?? e)), 300);
}
