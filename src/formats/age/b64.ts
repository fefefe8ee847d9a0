import { FormatError } from '../../errors.js';

const ALPHABET = /^[A-Za-z0-9+/]*$/;

/** Standard base64 without padding (RFC 4648 §4), as the age header writes it. */
export function b64encode(b: Uint8Array): string {
  return Buffer.from(b).toString('base64').replace(/=+$/, '');
}

/**
 * Decode unpadded standard base64 strictly: only the alphabet, no `=`, no
 * line breaks, and canonical (unused trailing bits zero, no impossible
 * length). Returns undefined when the text is not such an encoding.
 */
export function b64decodeStrict(s: string): Buffer | undefined {
  if (!ALPHABET.test(s) || s.length % 4 === 1) return undefined;
  const out = Buffer.from(s, 'base64');
  // Node's decoder is lenient: re-encode to prove the text was canonical.
  if (b64encode(out) !== s) return undefined;
  return out;
}

/** {@link b64decodeStrict}, or a header error naming what was being read. */
export function b64field(s: string, what: string): Buffer {
  const b = b64decodeStrict(s);
  if (!b) throw headerError(`${what} is not canonical unpadded base64`);
  return b;
}

/** A malformed age header (testkit: "header failure"). */
export function headerError(message: string): FormatError {
  return new FormatError(`age header: ${message}`, 'ERR_AGE_HEADER');
}

/** A malformed age ASCII armor (testkit: "armor failure"). */
export function armorError(message: string): FormatError {
  return new FormatError(`age armor: ${message}`, 'ERR_AGE_ARMOR');
}
