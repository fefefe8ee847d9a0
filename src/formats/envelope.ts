import { isAlg, type Alg } from '../crypto/algs.js';
import { FormatError } from '../errors.js';
import { b64decodeStrict, b64encode } from './base64.js';
import { jsonSyntaxError } from './jsonSpans.js';

/**
 * The native JSON envelope, version 1 (docs/FORMAT.md, "JSON envelope"):
 * `{"v":1,"alg":"A256GCM","kid":"…","nonce":"…","data":"…","mac":"…"}`
 * with optional `aad` and `key`. The origin microservice's
 * `{data,key,mac,nonce}` (no `v`, `alg` or `kid`) decodes too.
 */
export interface Envelope {
  v?: 1;
  alg?: Alg;
  kid?: string;
  nonce: Buffer;
  data: Buffer;
  mac?: Buffer;
  aad?: Buffer;
  /** An embedded key (`--random-key`): such an envelope is not secret. */
  key?: Buffer;
  /** The key is derived from a passphrase with scrypt (docs/FORMAT.md §3.2). */
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

const FIELDS = new Set(['v', 'alg', 'kid', 'kdf', 'nonce', 'data', 'mac', 'aad', 'key']);

/**
 * Encode an envelope as one line of JSON (no trailing newline). Field order:
 * v, alg, kid, kdf, nonce, data, mac, aad, key.
 *
 * @example
 * ```ts
 * encode({ v: 1, alg: 'A256GCM', kid, nonce, data, mac });
 * ```
 */
export function encode(env: Envelope): string {
  // Built as a string (every value is base64, a number or a known name; only
  // the kid goes through JSON.stringify): line mode encodes one envelope per
  // record, and this is several times faster than stringifying an object.
  let s = `{"v":${env.v ?? 1}`;
  if (env.alg) s += `,"alg":"${env.alg}"`;
  if (env.kid !== undefined) s += `,"kid":${JSON.stringify(env.kid)}`;
  if (env.kdf) {
    s += `,"kdf":{"name":"${env.kdf.name}","salt":"${b64encode(env.kdf.salt)}","N":${env.kdf.N},"r":${env.kdf.r},"p":${env.kdf.p}}`;
  }
  s += `,"nonce":"${b64encode(env.nonce)}","data":"${b64encode(env.data)}"`;
  if (env.mac && env.mac.length) s += `,"mac":"${b64encode(env.mac)}"`;
  if (env.aad) s += `,"aad":"${b64encode(env.aad)}"`;
  if (env.key) s += `,"key":"${b64encode(env.key)}"`;
  return `${s}}`;
}

/**
 * Names of the top-level members of a JSON object text, in order, duplicates
 * included (JSON.parse silently keeps the last duplicate; other parsers keep
 * the first, so an envelope with duplicates means different things to
 * different readers and is refused). The text must already be valid JSON.
 */
export function topLevelNames(text: string): string[] {
  const names: string[] = [];
  let depth = 0;
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      // Find the closing quote: the next '"' preceded by an even number of backslashes.
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        let k = j - 1;
        while (text[k] === '\\') k--;
        if ((j - 1 - k) % 2 === 0) break;
      }
      if (depth === 1 && expectName) {
        names.push(JSON.parse(text.slice(i, j + 1)) as string);
        expectName = false;
      }
      i = j;
    } else if (ch === '{' || ch === '[') {
      depth++;
      expectName = depth === 1 && ch === '{';
    } else if (ch === '}' || ch === ']') {
      depth--;
    } else if (ch === ',' && depth === 1) {
      expectName = true;
    }
  }
  return names;
}

/** Whether the text looks like a JSON object (first non-blank byte is `{`). */
export function detect(text: string): boolean {
  return /^[\s\uFEFF]*\{/.test(text);
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

/**
 * Parse and check a JSON envelope. Unknown fields, wrong types, an unknown
 * `v` or `alg`, and non-canonical base64 are refused (exit 4).
 *
 * @example
 * ```ts
 * const env = decode('{"v":1,"alg":"A256GCM",…}');
 * ```
 */
export function decode(text: string): Envelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    throw jsonSyntaxError(text, 'input');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new FormatError('envelope is not a JSON object', 'ERR_ENVELOPE');
  }
  const o = parsed as Record<string, unknown>;
  const names = topLevelNames(text);
  if (names.length !== Object.keys(o).length) {
    const dup = names.find((n, i) => names.indexOf(n) !== i) ?? '';
    throw new FormatError(`envelope has a duplicate field "${dup.slice(0, 40)}"`, 'ERR_ENVELOPE');
  }
  for (const k of Object.keys(o)) {
    if (!FIELDS.has(k)) throw new FormatError(`envelope has an unknown field "${k.slice(0, 40)}"`, 'ERR_ENVELOPE');
  }
  const env: Envelope = { nonce: bytesField(o, 'nonce', true), data: bytesField(o, 'data', true) };
  if (o.v !== undefined) {
    if (o.v !== 1) throw new FormatError(`unsupported envelope version ${JSON.stringify(o.v).slice(0, 20)}`, 'ERR_VERSION');
    env.v = 1;
  }
  const alg = field(o, 'alg', false);
  if (alg !== undefined) {
    if (!isAlg(alg)) throw new FormatError(`unsupported algorithm "${alg.slice(0, 40)}"`, 'ERR_ALG');
    env.alg = alg;
  }
  const kid = field(o, 'kid', false);
  if (kid !== undefined) env.kid = kid;
  const mac = bytesField(o, 'mac', false);
  if (mac) env.mac = mac;
  const aad = bytesField(o, 'aad', false);
  if (aad) env.aad = aad;
  const key = bytesField(o, 'key', false);
  if (key) env.key = key;
  if (o.kdf !== undefined) env.kdf = decodeKdf(o.kdf);
  return env;
}

function decodeKdf(v: unknown): Kdf {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FormatError('envelope field "kdf" is not a JSON object', 'ERR_ENVELOPE');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['name', 'salt', 'N', 'r', 'p'].includes(k)) throw new FormatError(`envelope "kdf" has an unknown field "${k.slice(0, 40)}"`, 'ERR_ENVELOPE');
  }
  if (o.name !== 'scrypt') throw new FormatError(`unsupported kdf ${JSON.stringify(o.name)?.slice(0, 40)}`, 'ERR_KDF');
  const salt = bytesField(o, 'salt', true);
  if (salt.length < 16 || salt.length > 64) throw new FormatError('envelope "kdf" salt must be 16 to 64 bytes', 'ERR_KDF');
  const num = (n: string): number => {
    const x = o[n];
    if (typeof x !== 'number' || !Number.isSafeInteger(x)) throw new FormatError(`envelope "kdf" ${n} is not an integer`, 'ERR_KDF');
    return x;
  };
  return { name: 'scrypt', salt, N: num('N'), r: num('r'), p: num('p') };
}
