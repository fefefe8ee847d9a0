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

/**
 * What to suggest for an input beyond the in-memory limit: `--format stream`
 * for encrypting a whole payload; nothing of the kind for `--fields` (a
 * stream takes no field paths) or for decrypting (a stream is detected
 * before this limit applies).
 */
export type TooLargeHint = 'stream' | 'fields' | 'none';

/** The error for inputs beyond the in-memory formats' limit. */
export function tooLarge(limit: number, hint: TooLargeHint = 'stream'): FormatError {
  const mib = Math.round(limit / 1048576);
  const why =
    hint === 'fields'
      ? `a document is larger than ${mib} MiB, the limit of --fields (the whole document is read into memory); split it, or encrypt it whole with --format stream (which takes no --fields)`
      : hint === 'none'
        ? `input is larger than ${mib} MiB, the limit of the in-memory JSON, raw and JWE formats (an aes-payload stream, which has no limit, is not what this input is)`
        : `input is larger than ${mib} MiB, the limit of the in-memory JSON, raw and JWE formats; use --format stream, which handles any size in constant memory`;
  return new FormatError(why, 'ERR_TOO_LARGE');
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
export function readAllOf(src: Source, limit: number, hint: TooLargeHint = 'stream'): Input {
  try {
    return { name: src.name, data: src.readAll(limit, () => tooLarge(limit, hint)) };
  } finally {
    src.close();
  }
}
