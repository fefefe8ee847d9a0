import { FormatError } from '../errors.js';
import { Source } from './source.js';

/** The largest payload the in-memory formats (JSON envelope, raw, JWE) take. */
export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;

/** Largest encoded input for the in-memory formats: base64 of the largest payload, plus room. */
export const MAX_ENCODED_BYTES = Math.ceil(MAX_PAYLOAD_BYTES / 3) * 4 + 64 * 1024;

export interface Input {
  /** File name as given, or "-" for standard input. */
  name: string;
  data: Buffer;
}

/** The error for inputs beyond the in-memory formats' limit: points to --format stream. */
export function tooLarge(limit: number): FormatError {
  return new FormatError(
    `input is larger than ${Math.round(limit / 1048576)} MiB, the limit of the in-memory JSON, raw and JWE formats; ` +
      'use --format stream, which handles any size in constant memory',
    'ERR_TOO_LARGE',
  );
}

/**
 * Read what is left of a source into memory (and close it); over `limit`
 * bytes fails with exit 4 and a pointer to `--format stream`.
 *
 * @example
 * ```ts
 * const { data } = readAllOf(Source.open('payload.json'), MAX_PAYLOAD_BYTES);
 * ```
 */
export function readAllOf(src: Source, limit: number): Input {
  try {
    return { name: src.name, data: src.readAll(limit, () => tooLarge(limit)) };
  } finally {
    src.close();
  }
}
