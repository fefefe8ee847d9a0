import { KeyError, UsageError, printable } from '../errors.js';
import { KEY_CMD_ENV, runKeyCommand, splitCommand } from './command.js';
import { PKCS11_MODULE_ENV, openHsmKey, parseKeyUri } from './pkcs11.js';
import { decodeKey, stripOneNewline } from './decode.js';
import { DEFAULT_INI_KEY, findIniValue } from './ini.js';
import { keyId } from './kid.js';
import { parseKeyring } from './keyring.js';
import { resolvePassphrase } from './passphrase.js';
import { readSecretFile } from './secretFile.js';
import { DEFAULT_KEYRING_ENV, DEFAULT_KEY_ENV, keySourceFlags, type KeyContext, type KeySource, type ResolvedKey, type ResolvedKeys } from './source.js';
import { parseStructuredKey, rsaThumbprint } from './structured.js';

/**
 * The one key resolver: a key of any kind from exactly one source. The
 * sources and what resolving gives are in `source.ts`; secret files are read
 * by `secretFile.ts`, passphrases by `passphrase.ts`. The names other modules
 * import from here stay here.
 */
export { DEFAULT_KEYRING_ENV, DEFAULT_KEY_ENV, KEY_ENV_VARS, keySourceFlags, secretEnvNames, usesKeyCommand, type KeyContext, type KeySource, type ResolvedKey, type ResolvedKeys } from './source.js';
export { readSecretFile } from './secretFile.js';
export { MIN_PASSPHRASE, generatePassphrase } from './passphrase.js';

/** How many hex digits the key text is, when `--key-encoding auto` reads it as 32 or 64 hex digits (16- or 32-byte key). */
function autoHexDigits(raw: Buffer): number | undefined {
  const { bytes } = stripOneNewline(raw);
  if (bytes.length !== 32 && bytes.length !== 64) return undefined;
  for (const c of bytes) if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))) return undefined;
  return bytes.length;
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
