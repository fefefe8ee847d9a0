import { randomBytes, type KeyObject } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { KeyError, UsageError, ioError, printable } from '../errors.js';
import { KEY_CMD_ENV, runKeyCommand, splitCommand } from './command.js';
import { PKCS11_MODULE_ENV, openHsmKey, parseKeyUri, type ExternalKek } from './pkcs11.js';
import { decodeKey, stripOneNewline, type KeyEncoding } from './decode.js';
import { DEFAULT_INI_KEY, findIniValue } from './ini.js';
import { keyId } from './kid.js';
import { parseKeyring, type Keyring } from './keyring.js';
import { parseStructuredKey, rsaThumbprint } from './structured.js';

/** The environment variable holding a keyring's text, read when neither a key flag nor AES_PAYLOAD_KEY is given. */
export const DEFAULT_KEYRING_ENV = 'AES_PAYLOAD_KEYRING';

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
  /** Ask for a passphrase at a hidden prompt. */
  passphrase?: boolean;
  passphraseEnv?: string;
  passphraseFile?: string;
  /** A keyring file (JSON or .ini). */
  keyring?: string;
  /** A command whose stdout is the key (run without a shell); default: env AES_PAYLOAD_KEY_CMD. */
  keyCmd?: string;
  /** The key command's time limit, in milliseconds (default 10 s). */
  keyCmdTimeout?: number;
  /** The kid the input names, passed to a key command as AES_PAYLOAD_KID. */
  kidHint?: string;
  /** An RFC 7512 pkcs11: URI naming an AES key in an HSM (JWE A*GCMKW). */
  keyUri?: string;
  /** The PKCS#11 module (a .so); default: env AES_PAYLOAD_PKCS11_MODULE (never the URI's module-path, which is refused). */
  pkcs11Module?: string;
  /** The environment variable holding the HSM PIN; default: a prompt. */
  pinEnv?: string;
  /** Where this source was named (a rules file), put in front of its errors. */
  origin?: string;
}

export interface KeyContext {
  env: NodeJS.ProcessEnv;
  /** Print a one-line warning for a person (stderr). */
  warn(message: string): void;
  /** Ask for a secret without echo; absent (or throwing a key error) when there is no terminal. */
  promptSecret?: (message: string) => Promise<string>;
  /** Say something to the person at the terminal (stderr), such as a generated passphrase. */
  tell?(message: string): void;
}

export interface ResolvedKey {
  key: Buffer;
  kid: string;
  /** Where it came from, for messages: never the key itself. */
  source: string;
}

/** What {@link resolveKeys} found: exactly one of secret, rsa or passphrase. */
export interface ResolvedKeys {
  secret?: Buffer;
  rsa?: KeyObject;
  passphrase?: Buffer;
  ring?: Keyring;
  /** A key inside an HSM (`keyUri`). */
  kek?: ExternalKek;
  /** kid of a symmetric key, RFC 7638 thumbprint of an RSA key; none for a passphrase. */
  kid?: string;
  source: string;
  /** The key text was 32 or 64 hex digits read as hex by `--key-encoding auto` (the FX peers use such text as the key itself). */
  hexDigits?: number;
}

/** How many hex digits the key text is, when `--key-encoding auto` reads it as 32 or 64 hex digits (16- or 32-byte key). */
function autoHexDigits(raw: Buffer): number | undefined {
  const { bytes } = stripOneNewline(raw);
  if (bytes.length !== 32 && bytes.length !== 64) return undefined;
  for (const c of bytes) if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))) return undefined;
  return bytes.length;
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
    // Only a regular file holding a secret can be too open: not /dev/null, a
    // character device or a pipe, and not a public key (.pub).
    if (st.isFile() && (st.mode & 0o077) !== 0 && !path.endsWith('.pub')) {
      ctx.warn(`${path} can be read by group or others; run: chmod 600 ${path}`);
    }
    // Read at most the limit (+1 to see it passed): a device or FIFO has no size to check first (/dev/zero).
    const limit = 1024 * 1024;
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const b = Buffer.alloc(64 * 1024);
      const n = readSync(fd, b, 0, b.length, null);
      if (n === 0) break;
      chunks.push(b.subarray(0, n));
      total += n;
      if (total > limit) {
        for (const c of chunks) c.fill(0);
        throw new KeyError(`${what} ${path} is too large to hold a key`, 'ERR_KEY_FILE');
      }
    }
    const out = Buffer.concat(chunks);
    for (const c of chunks) c.fill(0);
    return out;
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
  const r = await resolveKeys(src, ctx);
  if (!r.secret) {
    throw new KeyError(`${r.source} holds ${r.rsa ? 'an RSA or EC key' : 'a passphrase'}; this needs a symmetric key`, 'ERR_KEY_TYPE');
  }
  return { key: r.secret, kid: r.kid!, source: r.source };
}

/**
 * The key-source flags that are set, by their CLI names. With none, the key
 * comes from env (AES_PAYLOAD_KEY, else AES_PAYLOAD_KEYRING).
 *
 * @example
 * ```ts
 * keySourceFlags({ keyFile: 'k', prompt: true }); // ['--key-file', '--prompt']
 * ```
 */
export function keySourceFlags(src: KeySource): string[] {
  return [
    src.keyEnv !== undefined && '--key-env',
    src.keyFile !== undefined && '--key-file',
    src.ini !== undefined && '--ini',
    src.prompt && '--prompt',
    src.passphrase && '--passphrase',
    src.passphraseEnv !== undefined && '--passphrase-env',
    src.passphraseFile !== undefined && '--passphrase-file',
    src.keyring !== undefined && '--keyring',
    src.keyCmd !== undefined && '--key-cmd',
    src.keyUri !== undefined && '--key-uri',
  ].filter((f): f is string => typeof f === 'string');
}

/** Whether the key will come from a key command (`--key-cmd`, or env AES_PAYLOAD_KEY_CMD when nothing else is set). */
export function usesKeyCommand(src: KeySource, env: NodeJS.ProcessEnv): boolean {
  return src.keyCmd !== undefined || (keySourceFlags(src).length === 0 && !env[DEFAULT_KEY_ENV] && !env[DEFAULT_KEYRING_ENV] && Boolean(env[KEY_CMD_ENV]));
}

/** The environment variables that can hold key material or say how to get it, beyond those a KeySource names. */
export const KEY_ENV_VARS = [DEFAULT_KEY_ENV, DEFAULT_KEYRING_ENV, KEY_CMD_ENV, 'AES_PAYLOAD_IDENTITY', 'AES_PAYLOAD_IDENTITY_FILE'] as const; // the last two: the git drivers' age identity (src/cli/gitRecipients.ts)

/**
 * Every environment variable a child process must not inherit: the default
 * key variables and those the source names (`--key-env`, `--passphrase-env`,
 * the HSM PIN's `--pin-env`), plus `extra` (a token's variable, say).
 *
 * @example
 * ```ts
 * for (const name of secretEnvNames({ keyEnv: 'PROD_KEY' })) delete env[name];
 * ```
 */
export function secretEnvNames(src: KeySource, ...extra: (string | undefined)[]): string[] {
  return [...new Set([...KEY_ENV_VARS, src.keyEnv, src.passphraseEnv, src.pinEnv, ...extra].filter((n): n is string => typeof n === 'string' && n !== ''))];
}

/** Strip one trailing newline from a passphrase read from env or a file, and say so. */
function passphraseText(raw: Buffer, where: string, ctx: KeyContext): Buffer {
  let end = raw.length;
  if (raw[end - 1] === 0x0a) end--;
  if (end < raw.length && raw[end - 1] === 0x0d) end--;
  if (end < raw.length) ctx.warn(`the passphrase in ${where} ends in a newline; it is used without it`);
  const out = Buffer.from(raw.subarray(0, end));
  raw.fill(0);
  if (/[ \t\r\n\v\f]$/.test(out.toString('latin1'))) ctx.warn(`the passphrase in ${where} ends in white space; it is used as it is`);
  if (out.length === 0) throw new KeyError(`the passphrase in ${where} is empty`, 'ERR_KEY_MISSING');
  return out;
}

async function resolvePassphrase(src: KeySource, ctx: KeyContext, confirm: boolean): Promise<ResolvedKeys> {
  if (src.passphraseEnv !== undefined) {
    const v = ctx.env[src.passphraseEnv];
    if (v === undefined) throw new KeyError(`environment variable ${src.passphraseEnv} is not set`, 'ERR_KEY_MISSING');
    if (v === '') throw new KeyError(`environment variable ${src.passphraseEnv} is empty`, 'ERR_KEY_MISSING');
    const where = `env ${src.passphraseEnv}`;
    return { passphrase: passphraseText(Buffer.from(v, 'utf8'), where, ctx), source: where };
  }
  if (src.passphraseFile !== undefined) {
    const where = `passphrase file ${src.passphraseFile}`;
    return { passphrase: passphraseText(readSecretFile(src.passphraseFile, 'passphrase file', ctx), where, ctx), source: where };
  }
  if (!ctx.promptSecret) throw new KeyError('--passphrase needs a terminal', 'ERR_NO_TTY');
  if (!confirm) {
    const p = await ctx.promptSecret('Passphrase');
    if (p === '') throw new KeyError('the passphrase is empty', 'ERR_KEY_MISSING');
    return { passphrase: Buffer.from(p, 'utf8'), source: 'prompt' };
  }
  // Encrypting: an empty answer generates one (as age does); a short one is
  // warned about; a confirmation that does not match asks again, 3 times in all.
  for (let attempt = 1; ; attempt++) {
    const first = await ctx.promptSecret('Passphrase (leave empty to generate one)');
    if (first === '') {
      const g = generatePassphrase();
      ctx.tell?.(`using the autogenerated passphrase: ${g}`);
      return { passphrase: Buffer.from(g, 'utf8'), source: 'prompt' };
    }
    if ([...first].length < MIN_PASSPHRASE) ctx.warn(`the passphrase is shorter than ${MIN_PASSPHRASE} characters, which makes it easy to guess; leave it empty to generate one`);
    if ((await ctx.promptSecret('Confirm passphrase')) === first) return { passphrase: Buffer.from(first, 'utf8'), source: 'prompt' };
    if (attempt === 3) throw new KeyError('the passphrases do not match (3 tries)', 'ERR_KEY_MISMATCH');
    ctx.warn('the passphrases do not match; try again');
  }
}

/** Passphrases shorter than this (in characters) get a warning when they are chosen. */
export const MIN_PASSPHRASE = 12;

/**
 * A random passphrase: 6 groups of 5 characters from a 32-letter alphabet
 * without look-alikes (150 bits), e.g. `k7rxm-2vq9d-…`.
 *
 * @example
 * ```ts
 * generatePassphrase(); // 'b4nq8-x2mfk-…'
 * ```
 */
export function generatePassphrase(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  const bytes = randomBytes(30);
  let s = '';
  for (let i = 0; i < 30; i++) s += (i && i % 5 === 0 ? '-' : '') + alphabet[bytes[i]! & 31];
  return s;
}

/**
 * Resolve a key of any kind from exactly one source: a symmetric key (env,
 * ini, prompt or key file), an RSA private key or oct JWK (key file holding a
 * PEM or JWK), or a passphrase (`passphrase`, `passphraseEnv`,
 * `passphraseFile`). `confirmPassphrase` asks twice at a prompt (encrypt).
 *
 * @example
 * ```ts
 * const k = await resolveKeys({ keyFile: 'rsa.pem' }, { env: process.env, warn: console.error });
 * // { rsa: KeyObject, kid: 'NzbLsXh8…', source: 'key file rsa.pem' }
 * ```
 */
export async function resolveKeys(src: KeySource, ctx: KeyContext, confirmPassphrase = false): Promise<ResolvedKeys> {
  if (src.origin === undefined) return resolveKeysOf(src, ctx, confirmPassphrase);
  try {
    return await resolveKeysOf(src, ctx, confirmPassphrase);
  } catch (e) {
    if (e instanceof Error && !e.message.startsWith(src.origin)) e.message = `${src.origin}: ${e.message}`;
    throw e;
  }
}

async function resolveKeysOf(src: KeySource, ctx: KeyContext, confirmPassphrase: boolean): Promise<ResolvedKeys> {
  const chosen = keySourceFlags(src);
  if (chosen.length > 1) throw new UsageError(`choose one key source, not ${chosen.join(' and ')}`);
  if (src.ini === undefined && (src.iniSection !== undefined || src.iniKey !== undefined)) {
    throw new UsageError('--ini-section and --ini-key need --ini FILE');
  }
  if ((src.pkcs11Module !== undefined || src.pinEnv !== undefined) && src.keyUri === undefined) throw new UsageError('--pkcs11-module and --pin-env need --key-uri');
  if (src.passphrase || src.passphraseEnv !== undefined || src.passphraseFile !== undefined) {
    return resolvePassphrase(src, ctx, confirmPassphrase);
  }
  if (src.keyUri !== undefined) {
    const uri = parseKeyUri(src.keyUri);
    const module = src.pkcs11Module ?? ctx.env[PKCS11_MODULE_ENV];
    if (!module) throw new KeyError(`--key-uri needs the PKCS#11 module: --pkcs11-module FILE or env ${PKCS11_MODULE_ENV}`, 'ERR_PKCS11');
    let pin: string | undefined;
    if (src.pinEnv !== undefined) {
      pin = ctx.env[src.pinEnv];
      if (pin === undefined || pin === '') throw new KeyError(`environment variable ${src.pinEnv} is not set`, 'ERR_KEY_MISSING');
    } else {
      if (!ctx.promptSecret) throw new KeyError('the HSM PIN needs --pin-env NAME or a terminal', 'ERR_NO_TTY');
      pin = await ctx.promptSecret(`PIN for ${uri.token !== undefined ? `token ${uri.token}` : 'the token'}`);
    }
    const kek = await openHsmKey(uri, { module, pin });
    return { kek, kid: kek.kid, source: `HSM key ${printable(uri.object ?? kek.kid, 60)}` };
  }
  if (src.keyring !== undefined || (chosen.length === 0 && !ctx.env[DEFAULT_KEY_ENV] && ctx.env[DEFAULT_KEYRING_ENV])) {
    const where = src.keyring !== undefined ? `keyring ${src.keyring}` : `env ${DEFAULT_KEYRING_ENV}`;
    const text = src.keyring !== undefined ? readSecretFile(src.keyring, 'keyring', ctx).toString('utf8') : ctx.env[DEFAULT_KEYRING_ENV]!;
    const ring = parseKeyring(text, where);
    return { ring, secret: ring.keys.get(ring.primary)!, kid: ring.primary, source: where };
  }
  const encoding = src.keyEncoding ?? 'auto';
  let raw: Buffer;
  let source: string;
  const keyCmd = src.keyCmd ?? (chosen.length === 0 && !ctx.env[DEFAULT_KEY_ENV] && ctx.env[KEY_CMD_ENV] ? ctx.env[KEY_CMD_ENV] : undefined);
  if (src.keyFile !== undefined || keyCmd !== undefined) {
    if (keyCmd !== undefined) {
      raw = await runKeyCommand(keyCmd, { env: ctx.env, ...(src.kidHint !== undefined ? { kid: src.kidHint } : {}), ...(src.keyCmdTimeout !== undefined ? { timeoutMs: src.keyCmdTimeout } : {}) });
      source = `key command ${printable(splitCommand(keyCmd)[0]!, 80)}`;
    } else {
      raw = readSecretFile(src.keyFile!, 'key file', ctx);
      source = `key file ${src.keyFile}`;
    }
    if (encoding === 'auto') {
      const structured = parseStructuredKey(raw, source);
      if (structured) {
        raw.fill(0);
        if (structured.kind === 'public') {
          throw new KeyError(`${source} holds a public key, which cannot decrypt; use it with encrypt --recipient`, 'ERR_KEY_TYPE');
        }
        if (structured.kind === 'private') return { rsa: structured.key, kid: rsaThumbprint(structured.key), source };
        return { secret: structured.key, kid: keyId(structured.key), source };
      }
    }
  } else if (src.ini !== undefined) {
    const text = readSecretFile(src.ini, 'ini file', ctx).toString('utf8');
    const name = src.iniKey ?? DEFAULT_INI_KEY;
    const { value, section } = findIniValue(text, name, src.iniSection, src.ini);
    raw = Buffer.from(value, 'utf8');
    source = `${src.ini}${section ? ` [${section}]` : ''} ${name}`;
  } else if (src.prompt) {
    if (!ctx.promptSecret) throw new KeyError('--prompt needs a terminal', 'ERR_NO_TTY');
    raw = Buffer.from(await ctx.promptSecret('Key'), 'utf8');
    source = 'prompt';
  } else {
    const name = src.keyEnv ?? DEFAULT_KEY_ENV;
    const value = ctx.env[name];
    if (value === undefined || value === '') {
      if (src.keyEnv !== undefined) throw new KeyError(`environment variable ${name} is not set`, 'ERR_KEY_MISSING');
      throw new KeyError(
        `no key: set ${DEFAULT_KEY_ENV} (or ${DEFAULT_KEYRING_ENV}, or ${KEY_CMD_ENV}), or pass --key-env NAME, --key-file FILE, --ini FILE, --keyring FILE or --key-cmd CMD (or --prompt)`,
        'ERR_KEY_MISSING',
      );
    }
    raw = Buffer.from(value, 'utf8');
    source = `env ${name}`;
  }
  trailingWhitespaceWarning(raw, source, ctx);
  const hexDigits = encoding === 'auto' ? autoHexDigits(raw) : undefined;
  let key: Buffer;
  try {
    key = decodeKey(raw, encoding);
  } catch (e) {
    if (e instanceof KeyError) throw new KeyError(`${source}: ${e.message}`, e.code);
    throw e;
  } finally {
    raw.fill(0);
  }
  return { secret: key, kid: keyId(key), source, ...(hexDigits !== undefined ? { hexDigits } : {}) };
}
