/**
 * An answer the service gives on purpose: a status, a stable code and a
 * message (docs/SERVICE.md, "Errors"). Messages never hold request bytes
 * unescaped, plaintext, keys or tokens.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}
