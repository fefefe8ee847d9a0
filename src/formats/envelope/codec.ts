import { isAlg, type Alg } from '../../crypto/algs.js';
import { FormatError, quote } from '../../errors.js';
import { b64decodeChecked, b64decodeStrict, b64encode } from '../common/base64.js';
import { parseJson } from '../common/jsonSpans.js';

/**
 * The JSON envelopes (docs/FORMAT.md §3):
 *
 * - version 2, the native format: `{"v":2,"alg":"A256GCM","kid":"…","nonce":"…","data":"…","mac":"…"}`
 *   with optional `aad` or `kdf`, sealed under a key derived for envelopes
 *   with the header bound into the AAD;
 * - version 1 (aes-payload 0.1), read only with `allowLegacy`;
 * - the origin microservice's `{"data","key","mac","nonce"}` (no `v`), whose
 *   key travels with it, and other objects with no `v` (legacy).
 */
export interface Envelope {
  /** 2, 1, or 0 when the object has no `v` (the origin format and its kin). */
  version: 0 | 1 | 2;
  alg?: Alg;
  kid?: string;
  nonce: Buffer;
  data: Buffer;
  mac?: Buffer;
  aad?: Buffer;
  /** An embedded key: such an envelope is not secret. Never in version 2. */
  key?: Buffer;
  /** The key is derived from a passphrase with scrypt (docs/FORMAT.md §3.4). */
  kdf?: Kdf;
}

/** `"kdf":{"name":"scrypt","salt":…,"N":…,"r":…,"p":…}` */
export interface Kdf {
  name: 'scrypt';
  salt: Buffer;
  N: number;
  r: number;
  p: number;
}

const LEGACY_FIELDS = new Set(['v', 'alg', 'kid', 'kdf', 'nonce', 'data', 'mac', 'aad', 'key']);
const V2_FIELDS = new Set(['v', 'alg', 'kid', 'kdf', 'nonce', 'data', 'mac', 'aad']);
/** Members an object must have to be taken for an envelope at all. */
export const ENVELOPE_MEMBERS = LEGACY_FIELDS;

const KID = /^[0-9a-f]{16}$/;

/**
 * The AAD of a version-2 envelope: the header, then the user's AAD, so that
 * an edited `alg` or `kid` fails like any other tampering.
 *
 *     ASCII("aes-payload v2 envelope:" ‖ alg ‖ ":" ‖ kid ‖ ":") ‖ aad
 *
 * with `kid` empty for passphrase envelopes.
 */
export function envelopeAad(alg: Alg, kid: string | undefined, aad: Uint8Array | undefined): Buffer {
  const head = Buffer.from(`aes-payload v2 envelope:${alg}:${kid ?? ''}:`, 'ascii');
  return aad && aad.length ? Buffer.concat([head, aad]) : head;
}

/**
 * Encode a version-2 envelope as one line of JSON (no trailing newline).
 * Member order: v, alg, kid, kdf, nonce, data, mac, aad.
 *
 * @example
 * ```ts
 * encode({ version: 2, alg: 'A256GCM', kid, nonce, data, mac });
 * ```
 */
export function encode(env: Envelope): string {
  // Built as a string (every value is base64, a number, a known name or a
  // checked kid): line mode encodes one envelope per record, and this is
  // several times faster than stringifying an object.
  let s = `{"v":2,"alg":"${env.alg}"`;
  if (env.kid !== undefined) s += `,"kid":"${env.kid}"`;
  if (env.kdf) {
    s += `,"kdf":{"name":"${env.kdf.name}","salt":"${b64encode(env.kdf.salt)}","N":${env.kdf.N},"r":${env.kdf.r},"p":${env.kdf.p}}`;
  }
  s += `,"nonce":"${b64encode(env.nonce)}","data":"${b64encode(env.data)}","mac":"${b64encode(env.mac!)}"`;
  if (env.aad) s += `,"aad":"${b64encode(env.aad)}"`;
  return `${s}}`;
}

/**
 * Encode the origin microservice's self-keyed envelope, members in its
 * (alphabetical) order: `{"data","key","mac","nonce"}`. It is not secret.
 *
 * @example
 * ```ts
 * encodeOrigin({ data, key, mac, nonce }); // '{"data":"…","key":"…","mac":"…","nonce":"…"}'
 * ```
 */
export function encodeOrigin(e: { data: Buffer; key: Buffer; mac: Buffer; nonce: Buffer }): string {
  return `{"data":"${b64encode(e.data)}","key":"${b64encode(e.key)}","mac":"${b64encode(e.mac)}","nonce":"${b64encode(e.nonce)}"}`;
}

function field(o: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const v = o[name];
  if (v === undefined) {
    if (required) throw new FormatError(`envelope has no "${name}" field`, 'ERR_ENVELOPE');
    return undefined;
  }
  if (typeof v !== 'string') throw new FormatError(`envelope field "${name}" is not a string`, 'ERR_ENVELOPE');
  return v;
}

function bytesField(o: Record<string, unknown>, name: string, required: true): Buffer;
function bytesField(o: Record<string, unknown>, name: string, required: false): Buffer | undefined;
function bytesField(o: Record<string, unknown>, name: string, required: boolean): Buffer | undefined {
  const s = field(o, name, required);
  return s === undefined ? undefined : b64decodeStrict(s, `envelope field "${name}"`);
}

// The exact shape encode() writes for a keyed A*GCM envelope without aad or
// kdf: line mode reads these by the million. Anything else takes the strict
// parser. Every string here is a checked charset, so no escape or duplicate
// can hide in a match.
const CANONICAL = /^\{"v":2,"alg":"(A(?:128|192|256)GCM)","kid":"([0-9a-f]{16})","nonce":"([A-Za-z0-9+/]*={0,2})","data":"([A-Za-z0-9+/]*={0,2})","mac":"([A-Za-z0-9+/]*={0,2})"\}\s*$/;

/**
 * Parse and check an envelope of any version. Unknown members, duplicates at
 * any depth, wrong types, an unknown `v` or `alg`, and non-canonical base64
 * are refused (exit 4). What a version allows is checked by the caller.
 *
 * @example
 * ```ts
 * const env = decode('{"v":2,"alg":"A256GCM",…}');
 * ```
 */
export function decode(text: string): Envelope {
  return decodeFast(text) ?? decodeStrict(text);
}

/** The canonical keyed envelope, parsed by its one regular shape; undefined for anything else. */
export function decodeFast(text: string): Envelope | undefined {
  const m = CANONICAL.exec(text);
  if (m) {
    return {
      version: 2,
      alg: m[1] as Alg,
      kid: m[2]!,
      nonce: b64decodeChecked(m[3]!, 'envelope field "nonce"'),
      data: b64decodeChecked(m[4]!, 'envelope field "data"'),
      mac: b64decodeChecked(m[5]!, 'envelope field "mac"'),
    };
  }
  return undefined;
}

function decodeStrict(text: string): Envelope {
  const parsed = parseJson(text, 'input');
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new FormatError('envelope is not a JSON object', 'ERR_ENVELOPE');
  }
  const o = parsed as Record<string, unknown>;
  let version: 0 | 1 | 2 = 0;
  if (o.v !== undefined) {
    if (o.v !== 1 && o.v !== 2) throw new FormatError(`unsupported envelope version ${quote(o.v, 20)}`, 'ERR_VERSION');
    version = o.v;
  }
  const allowed = version === 2 ? V2_FIELDS : LEGACY_FIELDS;
  for (const k of Object.keys(o)) {
    if (!allowed.has(k)) {
      throw new FormatError(`envelope has an unknown field ${quote(k)}${k === 'key' ? ' (a version-2 envelope never carries its key)' : ''}`, 'ERR_ENVELOPE');
    }
  }
  const env: Envelope = { version, nonce: bytesField(o, 'nonce', true), data: bytesField(o, 'data', true) };
  const alg = field(o, 'alg', version === 2);
  if (alg !== undefined) {
    if (!isAlg(alg)) throw new FormatError(`unsupported algorithm ${quote(alg)}`, 'ERR_ALG');
    env.alg = alg;
  }
  const kid = field(o, 'kid', false);
  if (kid !== undefined) {
    if (version === 2 && !KID.test(kid)) throw new FormatError(`envelope field "kid" is not 16 lowercase hex digits: ${quote(kid)}`, 'ERR_ENVELOPE');
    env.kid = kid;
  }
  const mac = bytesField(o, 'mac', false);
  if (mac) env.mac = mac;
  const aad = bytesField(o, 'aad', false);
  if (aad) env.aad = aad;
  const key = bytesField(o, 'key', false);
  if (key) env.key = key;
  if (o.kdf !== undefined) env.kdf = decodeKdf(o.kdf);
  if (version === 2) {
    if (!env.mac) throw new FormatError('envelope has no "mac" field', 'ERR_ENVELOPE');
    if (env.kdf && env.kid !== undefined) throw new FormatError('a version-2 envelope has either "kid" or "kdf", not both', 'ERR_ENVELOPE');
    if (!env.kdf && env.kid === undefined) throw new FormatError('envelope has no "kid" field', 'ERR_ENVELOPE');
  }
  return env;
}

/** Whether this is exactly the origin microservice's shape: data, key, mac and nonce, nothing else. */
export function isOrigin(env: Envelope): boolean {
  return env.version === 0 && env.key !== undefined && env.mac !== undefined && env.alg === undefined && env.kid === undefined && !env.kdf && !env.aad;
}

function decodeKdf(v: unknown): Kdf {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FormatError('envelope field "kdf" is not a JSON object', 'ERR_ENVELOPE');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['name', 'salt', 'N', 'r', 'p'].includes(k)) throw new FormatError(`envelope "kdf" has an unknown field ${quote(k)}`, 'ERR_ENVELOPE');
  }
  if (o.name !== 'scrypt') throw new FormatError(`unsupported kdf ${quote(o.name)}`, 'ERR_KDF');
  const salt = bytesField(o, 'salt', true);
  if (salt.length < 16 || salt.length > 64) throw new FormatError('envelope "kdf" salt must be 16 to 64 bytes', 'ERR_KDF');
  const num = (n: string): number => {
    const x = o[n];
    if (typeof x !== 'number' || !Number.isSafeInteger(x)) throw new FormatError(`envelope "kdf" ${n} is not an integer`, 'ERR_KDF');
    return x;
  };
  return { name: 'scrypt', salt, N: num('N'), r: num('r'), p: num('p') };
}
