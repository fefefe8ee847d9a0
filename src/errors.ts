/**
 * The one error table of aes-payload. Every expected failure is an
 * {@link AesPayloadError} whose `code` names it and whose `exitCode` is the
 * documented process exit status (README, "Exit codes").
 *
 * Messages never contain key material, passphrases or plaintext.
 */

/**
 * Documented exit statuses.
 *
 * @example
 * ```ts
 * process.exitCode = EXIT.AUTH; // 1
 * ```
 */
export const EXIT = {
  OK: 0,
  AUTH: 1,
  USAGE: 2,
  KEY: 3,
  FORMAT: 4,
  IO: 5,
  /** Not an expected error: a bug in aes-payload. */
  INTERNAL: 70,
  /** Interrupted by the user (Ctrl-C at a prompt). */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * The single message shared by every authentication, padding or MAC failure.
 *
 * @example
 * ```ts
 * new AuthError().message === AUTH_FAILED_MESSAGE; // true
 * ```
 */
export const AUTH_FAILED_MESSAGE = 'authentication failed: wrong key or tampered data';

/**
 * Base class of every expected aes-payload error.
 *
 * @example
 * ```ts
 * import { decrypt, AesPayloadError } from 'aes-payload';
 * try { decrypt(text, key); }
 * catch (e) { if (e instanceof AesPayloadError) process.exitCode = e.exitCode; }
 * ```
 */
export class AesPayloadError extends Error {
  /** A stable machine-readable name, for example `ERR_AUTH`. */
  readonly code: string;
  /** The process exit status the CLI uses for this error. */
  readonly exitCode: ExitCode;

  constructor(code: string, exitCode: ExitCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/**
 * Authentication failed: wrong key, tampered data, bad padding or bad MAC.
 * The message is always {@link AUTH_FAILED_MESSAGE}, whatever the cause.
 *
 * @example
 * ```ts
 * try { decrypt(envelope, otherKey); } catch (e) { e instanceof AuthError; } // true
 * ```
 */
export class AuthError extends AesPayloadError {
  constructor() {
    super('ERR_AUTH', EXIT.AUTH, AUTH_FAILED_MESSAGE);
  }
}

/**
 * The command line is wrong (unknown option, conflicting flags).
 *
 * @example
 * ```ts
 * throw new UsageError('--aad needs an authenticated algorithm');
 * ```
 */
export class UsageError extends AesPayloadError {
  constructor(message: string, code = 'ERR_USAGE') {
    super(code, EXIT.USAGE, message);
  }
}

/**
 * No key, an undecodable key, or a key of the wrong length for the algorithm.
 *
 * @example
 * ```ts
 * throw new KeyError('key is 16 bytes but A256GCM needs 32', 'ERR_KEY_LENGTH');
 * ```
 */
export class KeyError extends AesPayloadError {
  constructor(message: string, code = 'ERR_KEY') {
    super(code, EXIT.KEY, message);
  }
}

/**
 * Malformed input, an unsupported version or algorithm, or an input too large
 * for an in-memory format.
 *
 * @example
 * ```ts
 * throw new FormatError('envelope field "nonce" is not base64');
 * ```
 */
export class FormatError extends AesPayloadError {
  constructor(message: string, code = 'ERR_FORMAT') {
    super(code, EXIT.FORMAT, message);
  }
}

/**
 * A file could not be read or written, or an output already exists.
 *
 * @example
 * ```ts
 * throw new IOError('cannot read in.json: no such file');
 * ```
 */
export class IOError extends AesPayloadError {
  constructor(message: string, code = 'ERR_IO') {
    super(code, EXIT.IO, message);
  }
}

/**
 * The user interrupted a prompt (Ctrl-C); the CLI exits 130.
 *
 * @example
 * ```ts
 * new InterruptedError().exitCode; // 130
 * ```
 */
export class InterruptedError extends AesPayloadError {
  constructor() {
    super('ERR_INTERRUPTED', EXIT.INTERRUPTED, 'interrupted');
  }
}

const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EEXIST: 'file exists',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many symbolic links',
  EXDEV: 'cross-device link',
};

/**
 * Turn a Node system error (from `fs`) into an {@link IOError} with a short,
 * path-bearing message and no stack.
 *
 * @example
 * ```ts
 * try { readFileSync(p); } catch (e) { throw ioError(e, `cannot read ${p}`); }
 * ```
 */
export function ioError(err: unknown, what: string): AesPayloadError {
  if (err instanceof AesPayloadError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason = (code && FS_REASONS[code]) ?? (code ? code : 'I/O error');
  return new IOError(`${what}: ${reason}`, code ? `ERR_IO_${code}` : 'ERR_IO');
}
