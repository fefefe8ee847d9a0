import { randomBytes } from 'node:crypto';
import { AuthError, KeyError, UsageError, printable, quote } from '../errors.js';
import { isSea } from '../io/sea.js';

/**
 * PKCS#11 key custody (docs/FORMAT.md §8, "HSM keys"): an AES key inside an HSM,
 * named by an RFC 7512 URI, wraps a fresh content key per message with
 * CKM_AES_GCM (96-bit IV, 128-bit tag, no AAD): exactly the JWE `A*GCMKW`
 * construction, computed inside the HSM, so the output is a standard JWE
 * whose key-encryption key never leaves the token. `pkcs11js` is an optional
 * dependency, loaded only here.
 */
export interface Pkcs11Uri {
  token?: string;
  object?: string;
  id?: Buffer;
  serial?: string;
  slotId?: number;
}

/** The module path from env when `--pkcs11-module` names none. */
export const PKCS11_MODULE_ENV = 'AES_PAYLOAD_PKCS11_MODULE';

function pct(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new UsageError(`--key-uri: ${what} has a bad %-escape`);
  }
}

/**
 * Parse an RFC 7512 `pkcs11:` URI (path attributes `token`, `object`, `id`,
 * `serial`, `slot-id`, `type=secret-key`). A PIN in the URI (`pin-value`,
 * `pin-source`) is refused: it would be on the command line. So are
 * `module-path` and `module-name`: the library loaded into the process that
 * holds the keys comes from `--pkcs11-module` or AES_PAYLOAD_PKCS11_MODULE
 * only, never from a URI that may have been copied from elsewhere.
 *
 * @example
 * ```ts
 * parseKeyUri('pkcs11:token=prod;object=payload-kek;type=secret-key'); // { token: 'prod', object: 'payload-kek' }
 * ```
 */
export function parseKeyUri(uri: string): Pkcs11Uri {
  if (!uri.startsWith('pkcs11:')) throw new UsageError('--key-uri takes an RFC 7512 URI, pkcs11:token=…;object=…');
  const rest = uri.slice(7);
  const q = rest.indexOf('?');
  const path = q === -1 ? rest : rest.slice(0, q);
  const query = q === -1 ? '' : rest.slice(q + 1);
  const out: Pkcs11Uri = {};
  const seen = new Set<string>();
  for (const part of path.split(';').filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq === -1) throw new UsageError(`--key-uri: ${quote(part, 40)} is not attr=value`);
    const k = part.slice(0, eq);
    // RFC 7512 §2.3: an attribute may appear at most once; which one a reader takes would be a guess.
    if (seen.has(k)) throw new UsageError(`--key-uri: the attribute ${quote(k, 30)} is given more than once`);
    seen.add(k);
    const v = pct(part.slice(eq + 1), k);
    if (k === 'token') out.token = v;
    else if (k === 'object') out.object = v;
    else if (k === 'id') out.id = Buffer.from(v, 'latin1');
    else if (k === 'serial') out.serial = v;
    else if (k === 'slot-id') out.slotId = Number(v);
    else if (k === 'type') {
      if (v !== 'secret-key') throw new UsageError(`--key-uri: type=${quote(v, 20)}; the key must be a secret-key (AES)`);
    } else if (!['manufacturer', 'model', 'library-manufacturer', 'library-description', 'library-version', 'slot-description', 'slot-manufacturer'].includes(k)) {
      throw new UsageError(`--key-uri: unknown attribute ${quote(k, 30)}`);
    }
  }
  for (const part of query.split('&').filter(Boolean)) {
    const eq = part.indexOf('=');
    const k = eq === -1 ? part : part.slice(0, eq);
    if (k === 'pin-value' || k === 'pin-source') throw new UsageError(`--key-uri: no ${k} in the URI (it would be on the command line); use --pin-env NAME or the prompt`);
    if (k === 'module-path' || k === 'module-name') {
      throw new UsageError(`--key-uri: no ${k} in the URI (it would choose a library to load); name the module with --pkcs11-module FILE or env ${PKCS11_MODULE_ENV}`);
    }
    throw new UsageError(`--key-uri: unknown query attribute ${quote(k, 30)}`);
  }
  if (out.object === undefined && out.id === undefined) throw new UsageError('--key-uri must name the key: object=LABEL or id=%xx');
  return out;
}

/** A key-encryption key inside an HSM: wraps and unwraps content keys with AES-GCM, in the HSM. */
export interface ExternalKek {
  /** Key size in bits (128, 192 or 256): the JWE `A<bits>GCMKW`. */
  bits: number;
  /** The `kid` written into JWEs: the object's label (or id as hex). */
  kid: string;
  gcmWrap(cek: Uint8Array): { iv: Buffer; ciphertext: Buffer; tag: Buffer };
  /** Unwrap; any failure is an {@link AuthError}. */
  gcmUnwrap(iv: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Buffer;
  close(): void;
}

type Pkcs11Module = typeof import('pkcs11js');

async function loadPkcs11js(): Promise<Pkcs11Module> {
  try {
    // The CLI bundle is CommonJS, run where dynamic import() is not available: require() there; import() in the ESM library.
    const m = (typeof require === 'function' ? require('pkcs11js') : await import('pkcs11js')) as Pkcs11Module & { default?: Pkcs11Module };
    return m.PKCS11 ? m : m.default!;
  } catch {
    if (isSea()) throw new KeyError('the single executable cannot load the PKCS#11 addon (pkcs11js); use the npm package for --key-uri', 'ERR_PKCS11');
    throw new KeyError('--key-uri needs the optional dependency pkcs11js, which is not installed (npm install pkcs11js; it builds with node-gyp)', 'ERR_PKCS11');
  }
}

const trim = (s: string) => s.replace(/[\s\0]+$/, '');

/**
 * Open the HSM key a URI names: load the module, find the token, log in
 * with the PIN, find exactly one AES secret key. Errors are key errors
 * (exit 3): a wrong PIN, a missing token or object, a module that fails.
 *
 * @example
 * ```ts
 * const kek = await openHsmKey(parseKeyUri(uri), { module: '/usr/lib/softhsm/libsofthsm2.so', pin: '1234' });
 * const w = kek.gcmWrap(cek); kek.close();
 * ```
 */
export async function openHsmKey(uri: Pkcs11Uri, o: { module: string; pin: string | undefined }): Promise<ExternalKek> {
  const lib = await loadPkcs11js();
  const p = new lib.PKCS11();
  const fail = (e: unknown, what: string): never => {
    const code = (e as { message?: string }).message ?? String(e);
    if (/CKR_PIN_INCORRECT|CKR_PIN_INVALID|CKR_PIN_LEN_RANGE/.test(code)) throw new KeyError(`the HSM refused the PIN (${printable(code.split(':')[0] ?? code, 60)})`, 'ERR_PKCS11_PIN');
    throw new KeyError(`PKCS#11 ${what}: ${printable(code, 120)}`, 'ERR_PKCS11');
  };
  try {
    p.load(o.module);
  } catch (e) {
    throw new KeyError(`cannot load the PKCS#11 module ${quote(o.module, 80)}: ${printable((e as Error).message, 120)}`, 'ERR_PKCS11');
  }
  let initialized = false;
  let session: Buffer | undefined;
  let loggedIn = false;
  const close = () => {
    try {
      if (loggedIn && session) p.C_Logout(session);
    } catch {
      /* closing anyway */
    }
    try {
      if (session) p.C_CloseSession(session);
    } catch {
      /* closing anyway */
    }
    try {
      if (initialized) p.C_Finalize();
    } catch {
      /* closing anyway */
    }
    session = undefined;
    initialized = false;
  };
  try {
    try {
      p.C_Initialize();
      initialized = true;
    } catch (e) {
      fail(e, 'initialisation failed');
    }
    const slots = p.C_GetSlotList(true);
    const match = slots.filter((s) => {
      const info = p.C_GetTokenInfo(s);
      if (uri.token !== undefined && trim(info.label) !== uri.token) return false;
      if (uri.serial !== undefined && trim(info.serialNumber) !== uri.serial) return false;
      if (uri.slotId !== undefined && s.readUIntLE(0, Math.min(6, s.length)) !== uri.slotId) return false;
      return true;
    });
    if (match.length === 0) throw new KeyError(`no PKCS#11 token${uri.token !== undefined ? ` labelled ${quote(uri.token, 40)}` : ''} in ${quote(o.module, 80)}`, 'ERR_PKCS11_TOKEN');
    if (match.length > 1) throw new KeyError('the key URI matches several tokens; add token= or serial=', 'ERR_PKCS11_TOKEN');
    try {
      session = p.C_OpenSession(match[0]!, lib.CKF_SERIAL_SESSION);
    } catch (e) {
      fail(e, 'cannot open a session');
    }
    if (o.pin !== undefined) {
      try {
        p.C_Login(session!, lib.CKU_USER, o.pin);
        loggedIn = true;
      } catch (e) {
        fail(e, 'login failed');
      }
    }
    const template: { type: number; value: unknown }[] = [
      { type: lib.CKA_CLASS, value: lib.CKO_SECRET_KEY },
      { type: lib.CKA_KEY_TYPE, value: lib.CKK_AES },
    ];
    if (uri.object !== undefined) template.push({ type: lib.CKA_LABEL, value: uri.object });
    if (uri.id !== undefined) template.push({ type: lib.CKA_ID, value: uri.id });
    p.C_FindObjectsInit(session!, template as Parameters<typeof p.C_FindObjectsInit>[1]);
    const found = p.C_FindObjects(session!, 2);
    p.C_FindObjectsFinal(session!);
    const name = uri.object !== undefined ? `object ${quote(uri.object, 40)}` : `id ${uri.id!.toString('hex')}`;
    if (found.length === 0) throw new KeyError(`no AES secret key with ${name} on the token${o.pin === undefined ? ' (no PIN was given: private objects need one)' : ''}`, 'ERR_PKCS11_OBJECT');
    if (found.length > 1) throw new KeyError(`several AES keys match ${name}; add id=`, 'ERR_PKCS11_OBJECT');
    const key = found[0]!;
    const attrs = p.C_GetAttributeValue(session!, key, [{ type: lib.CKA_VALUE_LEN }]);
    const len = (attrs[0]!.value as Buffer).readUIntLE(0, Math.min(6, (attrs[0]!.value as Buffer).length));
    if (![16, 24, 32].includes(len)) throw new KeyError(`the HSM key is ${len} bytes, not an AES key size`, 'ERR_KEY_LENGTH');
    const params = (iv: Buffer) => ({ mechanism: lib.CKM_AES_GCM, parameter: { type: lib.CK_PARAMS_AES_GCM, iv, aad: Buffer.alloc(0), ivBits: 96, tagBits: 128 } });
    const s = session!;
    const kid = uri.object ?? uri.id!.toString('hex');
    return {
      bits: len * 8,
      kid,
      gcmWrap(cek) {
        const iv = randomBytes(12);
        let out: Buffer;
        try {
          p.C_EncryptInit(s, params(iv) as Parameters<typeof p.C_EncryptInit>[1], key);
          out = p.C_Encrypt(s, Buffer.from(cek), Buffer.alloc(cek.length + 16));
        } catch (e) {
          return fail(e, 'wrapping the content key failed (the key must allow CKA_ENCRYPT with CKM_AES_GCM)');
        }
        return { iv, ciphertext: Buffer.from(out.subarray(0, cek.length)), tag: Buffer.from(out.subarray(cek.length)) };
      },
      gcmUnwrap(iv, ciphertext, tag) {
        try {
          p.C_DecryptInit(s, params(Buffer.from(iv)) as Parameters<typeof p.C_DecryptInit>[1], key);
          const out = p.C_Decrypt(s, Buffer.concat([ciphertext, tag]), Buffer.alloc(ciphertext.length + 16));
          return Buffer.from(out);
        } catch {
          throw new AuthError();
        }
      },
      close,
    };
  } catch (e) {
    close();
    throw e;
  }
}
