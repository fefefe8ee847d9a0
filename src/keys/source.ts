import type { KeyObject } from 'node:crypto';
import { KEY_CMD_ENV } from './command.js';
import type { KeyEncoding } from './decode.js';
import type { Keyring } from './keyring.js';
import type { ExternalKek } from './pkcs11.js';

// Where a key comes from (the key-source flags and the environment
// variables), and what resolving it gives (resolve.ts does the resolving).

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

/** What resolving a key may use: the environment, and the person at the terminal. */
export interface KeyContext {
  env: NodeJS.ProcessEnv;
  /** Print a one-line warning for a person (stderr). */
  warn(message: string): void;
  /** Ask for a secret without echo; absent (or throwing a key error) when there is no terminal. */
  promptSecret?: (message: string) => Promise<string>;
  /** Say something to the person at the terminal (stderr), such as a generated passphrase. */
  tell?(message: string): void;
}

/** A symmetric key, as {@link resolveKey} gives it. */
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
