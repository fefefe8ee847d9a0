import { AesPayloadError, shown } from '../errors.js';
import { inputKid } from '../ops/index.js';
import { HttpError } from './http.js';

/** Errors as API answers: codes, and messages in API terms. */

/**
 * The codes an API answer may carry (docs/SERVICE.md, "Errors", lists every
 * one). A library error with another code is answered as ERR_FORMAT.
 */
export const API_CODES = new Set([
  'ERR_JSON', 'ERR_REQUEST', 'ERR_UTF8', 'ERR_BASE64', 'ERR_NOT_ENCRYPTED', 'ERR_FIELD_DOCUMENT', 'ERR_ENVELOPE', 'ERR_RAW',
  'ERR_JWE', 'ERR_JWE_ALG', 'ERR_JWE_CRIT', 'ERR_JWE_ZIP', 'ERR_STREAM', 'ERR_ARMOR', 'ERR_VERSION', 'ERR_ALG', 'ERR_ALG_MISMATCH',
  'ERR_NONCE_LENGTH', 'ERR_KDF', 'ERR_FORMAT', 'ERR_LEGACY', 'ERR_EMBEDDED_KEY', 'ERR_UNAUTHENTICATED', 'ERR_AAD', 'ERR_AUTH',
  'ERR_KEY_AMBIGUOUS', 'ERR_KID_UNKNOWN', 'ERR_KEY_TYPE', 'ERR_KEY_LENGTH', 'ERR_KEY_MISSING',
]);

/** What the service says instead of a library message written for the command line. */
export const API_MESSAGES: Record<string, string> = {
  ERR_KEY_MISSING: 'this ciphertext is protected by a passphrase; the service decrypts only with its own keys',
  ERR_KEY_TYPE: 'this ciphertext needs another kind of key than the server has (a passphrase, an RSA or an EC key)',
  ERR_EMBEDDED_KEY: 'this envelope carries its own key, so it is not secret; the service does not decrypt it',
  ERR_LEGACY: 'this is a legacy ciphertext (version 1), whose key is not separated from the other formats; the service does not read it (aes-payload rotate upgrades it)',
  ERR_UNAUTHENTICATED: 'this ciphertext uses an unauthenticated algorithm; the service does not decrypt it',
  ERR_KEY_AMBIGUOUS: "the ciphertext authenticates under more than one of the server's keys, so it could read differently under each: refused",
};

/** A command-line flag in a message (`--aad`, `pass --embedded-key`): not API terms. */
export const CLI_FLAG = /(?:^|[\s(,;:'"])--[a-z]/;

/**
 * Status, code and message for an error: 400 for input, key and
 * authentication problems, never 500; messages in API terms, never a
 * command-line flag or a server path (a keyring file's name).
 */
export function errorAnswer(e: unknown, ciphertext?: string): HttpError {
  if (e instanceof HttpError) return e;
  if (!(e instanceof AesPayloadError)) return new HttpError(500, 'ERR_INTERNAL', 'internal error');
  if (e.code === 'ERR_USAGE') {
    // Options the service passes on for the request: only "aad" can be wrong.
    return new HttpError(400, 'ERR_REQUEST', CLI_FLAG.test(e.message) ? apiTerms(e.message) : e.message);
  }
  if (e.code === 'ERR_KID_UNKNOWN') {
    let kid: string | undefined;
    try {
      kid = ciphertext !== undefined ? inputKid(ciphertext) : undefined;
    } catch {
      kid = undefined;
    }
    return new HttpError(400, e.code, kid ? `kid ${shown(kid)} is not one of this server's keys` : "the ciphertext's key is not one of this server's keys");
  }
  const code = API_CODES.has(e.code) ? e.code : 'ERR_FORMAT';
  const message = API_MESSAGES[e.code] ?? (CLI_FLAG.test(e.message) ? 'this ciphertext cannot be read by the service' : e.message);
  return new HttpError(400, code, message);
}

/** The one message that names a flag for a request member: "aad". */
export function apiTerms(m: string): string {
  const t = m.replace(/;? ?drop --aad\b/, '; leave "aad" out').replace(/--aad\b/g, '"aad"');
  return CLI_FLAG.test(t) ? 'the request cannot be served as given' : t;
}

