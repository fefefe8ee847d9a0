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
  /**
   * @param detail Only facts that are public anyway (kids), never which check
   * failed: the message must be the same for a bad tag, bad padding or a bad
   * MAC.
   */
  constructor(detail?: string) {
    super('ERR_AUTH', EXIT.AUTH, detail ? `${AUTH_FAILED_MESSAGE} (${detail})` : AUTH_FAILED_MESSAGE);
  }
}

/**
 * One input that authenticates under more than one key tried (a keyring for
 * raw input, several JWE recipients): AES-GCM and the MAC half of CBC-HMAC
 * do not commit to a key, so such an input can be built on purpose to read
 * differently under each. It is refused (exit 1, code ERR_KEY_AMBIGUOUS)
 * rather than read under whichever key came first.
 *
 * @example
 * ```ts
 * throw new AmbiguousKeyError(['5f0b2f6c0f6d1e7a', '9a1c…']);
 * ```
 */
export class AmbiguousKeyError extends AesPayloadError {
  constructor(kids: string[], what = 'keys') {
    super(
      'ERR_KEY_AMBIGUOUS',
      EXIT.AUTH,
      `the input authenticates under more than one key${kids.length ? ` (${what} ${kids.slice(0, 4).join(', ')}${kids.length > 4 ? ', …' : ''})` : ''}, so it could read differently under each: refused (formats that commit to their key: SECURITY.md)`,
    );
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
  ENXIO: 'no such device (a terminal that is not there, or a FIFO with no writer)',
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

// C0 and C1 controls, DEL, line and paragraph separators, and the invisible or
// direction-changing code points that can make a terminal, CI log or JSON
// reader show something other than the bytes: soft hyphen, combining grapheme
// joiner, Arabic letter mark, Hangul and Khmer fillers, Mongolian selectors,
// zero-width and bidi controls, word joiner and invisible operators,
// variation selectors, BOM, interlinear annotation, tag characters
// (U+E0000-E007F, "ASCII smuggling") and variation selectors supplement
// (U+E0100-E01EF); lone surrogates too.
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb]|\udb40[\udc00-\udc7f\udd00-\uddef]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Every UTF-16 unit of a match as `\uXXXX` (a tag character is a pair: both halves). */
function escapeUnsafe(s: string): string {
  return s.replace(UNSAFE, (c) => {
    let out = '';
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });
}

function cut(s: string, max: number): string {
  const cps = [...s];
  return cps.length > max ? `${cps.slice(0, max).join('')}…` : s;
}

/**
 * Show a string that came from the input inside a message: cut to `max`
 * code points, every control, invisible and bidi character escaped as
 * `\uXXXX`, in double quotes (quotes and backslashes escaped), so that a
 * message stays one honest line.
 *
 * @example
 * ```ts
 * quote('A256GCM\u001b[2K'); // '"A256GCM\\u001b[2K"'
 * ```
 */
export function quote(s: unknown, max = 40): string {
  // A value of another type is shown as its JSON (a number as itself).
  if (typeof s !== 'string') return escapeUnsafe(cut(JSON.stringify(s) ?? String(s), max));
  return `"${escapeUnsafe(cut(s, max).replace(/["\\]/g, (c) => `\\${c}`))}"`;
}

/**
 * Like {@link quote}, without the quotes and with a longer default cap: for
 * file names and other text a person typed, which may still hold anything.
 *
 * @example
 * ```ts
 * printable('evil\rOK.json'); // 'evil\\u000dOK.json'
 * ```
 */
export function printable(s: string, max = 200): string {
  return escapeUnsafe(cut(s, max));
}

/**
 * An identifier from the input (a kid, a label): as it is when it is short
 * and plain, else {@link quote}d.
 *
 * @example
 * ```ts
 * shown('5f0b2f6c0f6d1e7a'); // '5f0b2f6c0f6d1e7a'
 * ```
 */
export function shown(s: string, max = 64): string {
  return /^[A-Za-z0-9._:+/=-]{1,64}$/.test(s) && s.length <= max ? s : quote(s, max);
}
