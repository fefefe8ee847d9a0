import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { KeyError, UsageError, ioError } from '../errors.js';
import { decodeKey, type KeyEncoding } from './decode.js';
import { DEFAULT_INI_KEY, findIniValue } from './ini.js';
import { keyId } from './kid.js';

/**
 * The environment variable read when no key flag is given.
 *
 * @example
 * ```ts
 * process.env[DEFAULT_KEY_ENV]; // the key text, e.g. 64 hex digits
 * ```
 */
export const DEFAULT_KEY_ENV = 'AES_PAYLOAD_KEY';

/** Where the key comes from: at most one of env, file, ini or prompt. */
export interface KeySource {
  keyEnv?: string;
  keyFile?: string;
  ini?: string;
  iniSection?: string;
  iniKey?: string;
  prompt?: boolean;
  keyEncoding?: KeyEncoding;
}

export interface KeyContext {
  env: NodeJS.ProcessEnv;
  /** Print a one-line warning for a person (stderr). */
  warn(message: string): void;
  /** Ask for a secret without echo; absent when there is no terminal. */
  promptSecret?: (message: string) => Promise<string>;
}

export interface ResolvedKey {
  key: Buffer;
  kid: string;
  /** Where it came from, for messages: never the key itself. */
  source: string;
}

/** Read a small secret file, warning when group or others can read it. */
export function readSecretFile(path: string, what: string, ctx: KeyContext): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw ioError(e, `cannot read ${what} ${path}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw ioError({ code: 'EISDIR' }, `cannot read ${what} ${path}`);
    if (st.size > 1024 * 1024) throw new KeyError(`${what} ${path} is too large to hold a key`, 'ERR_KEY_FILE');
    if ((st.mode & 0o077) !== 0) {
      ctx.warn(`${path} can be read by group or others; run: chmod 600 ${path}`);
    }
    return readFileSync(fd);
  } catch (e) {
    throw ioError(e, `cannot read ${what} ${path}`);
  } finally {
    closeSync(fd);
  }
}

function trailingWhitespaceWarning(raw: Buffer, where: string, ctx: KeyContext): void {
  const text = raw.toString('latin1').replace(/\r?\n$/, '');
  if (/\s$/.test(text)) ctx.warn(`the key in ${where} ends in white space`);
}

/**
 * Resolve the key from exactly one source. With no source flag the key comes
 * from env AES_PAYLOAD_KEY; with none there either, a {@link KeyError} (exit 3)
 * names every way to give one.
 *
 * @example
 * ```ts
 * const { key, kid } = await resolveKey({ ini: 'development.ini' }, { env: process.env, warn: console.error });
 * ```
 */
export async function resolveKey(src: KeySource, ctx: KeyContext): Promise<ResolvedKey> {
  const chosen = [
    src.keyEnv !== undefined && '--key-env',
    src.keyFile !== undefined && '--key-file',
    src.ini !== undefined && '--ini',
    src.prompt && '--prompt',
  ].filter(Boolean);
  if (chosen.length > 1) throw new UsageError(`choose one key source, not ${chosen.join(' and ')}`);
  if (src.ini === undefined && (src.iniSection !== undefined || src.iniKey !== undefined)) {
    throw new UsageError('--ini-section and --ini-key need --ini FILE');
  }
  const encoding = src.keyEncoding ?? 'auto';
  let raw: Buffer;
  let source: string;
  if (src.keyFile !== undefined) {
    raw = readSecretFile(src.keyFile, 'key file', ctx);
    source = `key file ${src.keyFile}`;
  } else if (src.ini !== undefined) {
    const text = readSecretFile(src.ini, 'ini file', ctx).toString('utf8');
    const name = src.iniKey ?? DEFAULT_INI_KEY;
    const { value, section } = findIniValue(text, name, src.iniSection, src.ini);
    raw = Buffer.from(value, 'utf8');
    source = `${src.ini}${section ? ` [${section}]` : ''} ${name}`;
  } else if (src.prompt) {
    if (!ctx.promptSecret) throw new KeyError('--prompt needs a terminal (stdin and stderr must be a TTY)', 'ERR_NO_TTY');
    raw = Buffer.from(await ctx.promptSecret('Key'), 'utf8');
    source = 'prompt';
  } else {
    const name = src.keyEnv ?? DEFAULT_KEY_ENV;
    const value = ctx.env[name];
    if (value === undefined || value === '') {
      if (src.keyEnv !== undefined) throw new KeyError(`environment variable ${name} is not set`, 'ERR_KEY_MISSING');
      throw new KeyError(
        `no key: set ${DEFAULT_KEY_ENV}, or pass --key-env NAME, --key-file FILE or --ini FILE (or --prompt)`,
        'ERR_KEY_MISSING',
      );
    }
    raw = Buffer.from(value, 'utf8');
    source = `env ${name}`;
  }
  trailingWhitespaceWarning(raw, source, ctx);
  let key: Buffer;
  try {
    key = decodeKey(raw, encoding);
  } catch (e) {
    if (e instanceof KeyError) throw new KeyError(`${source}: ${e.message}`, e.code);
    throw e;
  } finally {
    raw.fill(0);
  }
  return { key, kid: keyId(key), source };
}
