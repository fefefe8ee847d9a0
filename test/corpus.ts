// A corpus of hostile inputs for the hardening tests (test/hardening.test.ts):
// valid outputs of every format, then mutated. Each mutant says whether the
// documented behaviour is to reject it (most) or to accept it (a BOM or CRLF
// line endings around an otherwise valid input are documented as accepted).
import { createCipheriv, randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { decodeHeader } from '../src/formats/stream/codec.js';
import { encrypt } from '../src/ops/index.js';
import { encryptFields } from '../src/formats/fields/fields.js';
import { parsePaths } from '../src/formats/fields/paths.js';
import { encryptStream } from '../src/formats/stream/pipeline.js';
import { armorSink } from '../src/formats/stream/armor.js';
import type { Sink } from '../src/formats/stream/sink.js';

export interface Mutant {
  cls: string;
  name: string;
  data: Buffer;
  /** Extra CLI arguments (a passphrase source, --lines). */
  args?: string[];
  env?: Record<string, string>;
  expect: 'reject' | { plaintext: Buffer };
}

export const PLAINTEXT = '{"secret":"corpus-plaintext-7f3a9c"}';
const b64u = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');

function memorySink(): Sink & { bytes: () => Buffer } {
  const parts: Buffer[] = [];
  let written = 0;
  return {
    async write(b) {
      parts.push(Buffer.from(b));
      written += b.length;
    },
    commit() {},
    abort() {},
    get written() {
      return written;
    },
    bytes: () => Buffer.concat(parts),
  };
}

function reader(data: Buffer) {
  let at = 0;
  return {
    read(buf: Buffer) {
      const n = data.copy(buf, 0, at);
      at += n;
      return n;
    },
  };
}

/** Spread `count` positions over [0, len). */
function spread(len: number, count: number): number[] {
  const out = new Set<number>();
  for (let i = 0; i < count; i++) out.add(Math.floor(((i + 0.5) * len) / count));
  return [...out];
}

function flip(b: Buffer, pos: number, bit = 0): Buffer {
  const c = Buffer.from(b);
  c[pos]! ^= 1 << bit;
  return c;
}

/** Positions just before each structural character of a JSON text. */
function jsonBoundaries(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) if ('{}[],:"'.includes(text[i]!)) out.push(i);
  return out;
}

function craftJwe(header: Record<string, unknown>, key: Buffer, pt: Buffer, ek = Buffer.alloc(0)): string {
  const p = b64u(JSON.stringify(header));
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(p, 'ascii'));
  const ct = Buffer.concat([c.update(pt), c.final()]);
  return [p, b64u(ek), b64u(iv), b64u(ct), b64u(c.getAuthTag())].join('.');
}

/**
 * Build the corpus for `key` (32 bytes). Mutants of the passphrase formats
 * use env P = "corpus-passphrase".
 */
export async function buildCorpus(key: Buffer): Promise<Mutant[]> {
  const pt = Buffer.from(PLAINTEXT);
  const m: Mutant[] = [];
  const reject = (cls: string, name: string, data: Buffer | string, extra: Partial<Mutant> = {}) =>
    m.push({ cls, name, data: Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8'), expect: 'reject', ...extra });
  const accept = (cls: string, name: string, data: Buffer | string, plaintext: Buffer = pt) =>
    m.push({ cls, name, data: Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8'), expect: { plaintext } });

  const samples: Record<string, string> = {
    json: encrypt(pt, key).text,
    'json+aad': encrypt(pt, key, { aad: 'ctx' }).text,
    'json A128CBC-HS256': encrypt(pt, key, { alg: 'A128CBC-HS256' }).text,
    raw: encrypt(pt, key, { format: 'raw' }).text,
    'jwe compact': encrypt(pt, key, { format: 'jwe' }).text,
    'jwe A256KW': encrypt(pt, key, { format: 'jwe', wrap: 'A256KW' }).text,
    'jwe-json': encrypt(pt, key, { format: 'jwe-json', aad: 'ctx' }).text,
    fields: encryptFields(`{\n  "id": 1,\n  "secret": "corpus-plaintext-7f3a9c",\n  "n": 12.5\n}\n`, key, { paths: parsePaths('secret') }).text,
  };
  const fieldsPlain = Buffer.from(`{\n  "id": 1,\n  "secret": "corpus-plaintext-7f3a9c",\n  "n": 12.5\n}\n`);
  const sink = memorySink();
  await encryptStream(reader(Buffer.alloc(150_000, 7)), sink, key);
  const stream = sink.bytes();
  const asink = memorySink();
  await encryptStream(reader(pt), armorSink(asink), key);
  const armored = asink.bytes().toString();

  reject('empty', 'empty input', '');
  reject('empty', 'only white space', ' \n\t\n');

  // single-bit flips spread over every field of every format
  for (const [name, text] of Object.entries(samples)) {
    const b = Buffer.from(text);
    for (const pos of spread(b.length, 24)) {
      const f = flip(b, pos, pos % 7);
      if (f.toString() === text) continue;
      reject('bit flip', `${name} @${pos}`, f);
    }
  }
  for (const pos of [...spread(68, 20), ...spread(stream.length - 68, 20).map((p) => p + 68)]) reject('bit flip', `stream @${pos}`, flip(stream, pos, pos % 8));
  // truncation at every structural boundary
  for (const [name, text] of Object.entries(samples)) {
    const cuts = name.startsWith('jwe compact') || name === 'jwe A256KW' ? [...text].flatMap((c, i) => (c === '.' ? [i, i + 1] : [])) : name === 'raw' ? spread(text.length, 12) : jsonBoundaries(text);
    for (const cut of cuts.slice(0, 30)) if (cut > 0 && cut < text.trimEnd().length) reject('truncation', `${name} at ${cut}`, text.slice(0, cut));
  }
  for (const cut of [1, 8, 9, 10, 11, 12, 20, 36, 67, 68, 68 + 16, 68 + 65552, 68 + 65552 * 2, stream.length - 17, stream.length - 1]) {
    reject('truncation', `stream at ${cut}`, stream.subarray(0, cut));
  }
  for (const cut of [10, 40, armored.length - 40, armored.length - 5]) reject('truncation', `armor at ${cut}`, armored.slice(0, cut));
  // extension
  for (const [name, text] of Object.entries(samples)) {
    if (name === 'raw') {
      reject('extension', `${name} + base64`, `${text.trimEnd()}AAAA\n`);
      continue;
    }
    reject('extension', `${name} + junk`, `${text.trimEnd()}x\n`);
    reject('extension', `${name} twice`, `${text.trimEnd()}${text}`);
  }
  reject('extension', 'stream + byte', Buffer.concat([stream, Buffer.from([0])]));
  reject('extension', 'stream + chunk', Buffer.concat([stream, stream.subarray(68, 68 + 65552)]));
  reject('extension', 'armor + line', armored.replace('-----END', 'AAAA\n-----END'));
  reject('extension', 'armor + trailing text', `${armored}junk\n`);

  // envelope fields: versions, algorithms, missing, extra, wrong types
  const env = JSON.parse(samples.json!) as Record<string, unknown>;
  const variant = (name: string, o: Record<string, unknown>) => reject('envelope fields', name, JSON.stringify(o));
  for (const v of [0, 1, 3, '2', null, 1.5, true, 1e999]) variant(`v ${JSON.stringify(v)}`, { ...env, v });
  for (const alg of ['A256GCM-X', 'none', '', 'a256gcm', 'A128GCM', 'A192GCM', 'A256CBC', 5, null, 'RSA-OAEP']) variant(`alg ${JSON.stringify(alg)}`, { ...env, alg });
  for (const f of ['nonce', 'data', 'mac']) {
    const o = { ...env };
    delete o[f];
    variant(`missing ${f}`, o);
  }
  for (const extra of [{ x: 1 }, { key2: 'AAAA' }, { aad: 'Y3R4' }, { kdf: { name: 'scrypt' } }, { key: 'AAAA' }]) variant(`extra ${Object.keys(extra)[0]}`, { ...env, ...extra });
  for (const [f, v] of [['nonce', 123], ['data', []], ['mac', {}], ['kid', 5], ['nonce', null], ['data', true]] as const) variant(`${f} of type ${typeof v}`, { ...env, [f]: v });
  variant('array instead of object', [env] as unknown as Record<string, unknown>);
  reject('envelope fields', 'string instead of object', JSON.stringify(JSON.stringify(env)));

  // base64 problems, nonce and tag sizes
  const nonceStr = env.nonce as string;
  const badNonce = nonceStr.slice(0, -1) + (nonceStr.endsWith('A') ? 'B' : 'A');
  for (const [name, nonce] of [
    ['non-canonical nonce', nonceStr.slice(0, -2) + (nonceStr.at(-2) === 'A' ? 'B' : 'A') + nonceStr.at(-1)],
    ['nonce with a bad character', `!${nonceStr.slice(1)}`],
    ['nonce without padding', nonceStr.replace(/=+$/, '').slice(0, -1)],
    ['base64url nonce', nonceStr.replace(/\+/g, '-').replace(/\//g, '_') + '-'],
    ['zero-length nonce', ''],
    ['oversize nonce (200 bytes)', randomBytes(200).toString('base64')],
    ['one-byte nonce', 'AA=='],
    ['changed nonce', badNonce],
  ] as const) variant(name, { ...env, nonce });
  for (const [name, mac] of [
    ['oversize tag', randomBytes(17).toString('base64')],
    ['short tag', randomBytes(15).toString('base64')],
    ['empty tag', ''],
    ['tag with white space', ` ${env.mac as string}`],
  ] as const) variant(name, { ...env, mac });
  variant('data with a newline', { ...env, data: `${env.data as string}\n` });
  for (const pos of spread((env.data as string).length, 6)) {
    const d = env.data as string;
    variant(`data char changed @${pos}`, { ...env, data: d.slice(0, pos) + (d[pos] === 'A' ? 'B' : 'A') + d.slice(pos + 1) });
  }
  reject('base64', 'raw with a bad character', `${samples.raw!.trimEnd().slice(0, -3)}!==\n`);
  reject('base64', 'raw non-canonical', `${samples.raw!.trimEnd().slice(0, -2)}${samples.raw!.trimEnd().at(-2) === 'A' ? 'B' : 'A'}=\n`);
  reject('base64', 'raw too short', 'AAAA\n');
  const compact = samples['jwe compact']!.trimEnd().split('.');
  for (let i = 0; i < 5; i++) {
    const parts = [...compact];
    parts[i] = `${parts[i]}=`;
    reject('base64', `jwe part ${i} padded`, parts.join('.'));
    const p2 = [...compact];
    p2[i] = `+${p2[i]!.slice(1)}`;
    reject('base64', `jwe part ${i} standard alphabet`, p2.join('.'));
  }

  // encodings and odd text
  for (const [name, text] of Object.entries(samples)) {
    const b = Buffer.from(text);
    reject('bad UTF-8', `${name} with 0xff in front`, Buffer.concat([Buffer.from([0xff]), b]));
    reject('bad UTF-8', `${name} with 0xc3 0x28 inside`, Buffer.concat([b.subarray(0, 10), Buffer.from([0xc3, 0x28]), b.subarray(10)]));
  }
  accept('BOM', 'json envelope with a UTF-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(samples.json!)]));
  // A BOM before a field document is refused (docs/FORMAT.md §5.1): Python's json and jq refuse it, so the output would not read everywhere.
  reject('BOM', 'field document with a UTF-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(samples.fields!)]));
  reject('BOM', 'BOM inside an envelope', samples.json!.replace('"nonce"', '\ufeff"nonce"'));
  accept('CRLF', 'json envelope with CRLF', `${samples.json!.trimEnd()}\r\n`);
  accept('CRLF', 'raw with CRLF', `${samples.raw!.trimEnd()}\r\n`);
  accept('CRLF', 'field document with CRLF', samples.fields!.replace(/\n/g, '\r\n'), Buffer.from(fieldsPlain.toString().replace(/\n/g, '\r\n')));
  reject('CRLF', 'CR inside base64', samples.json!.replace(/"data":"(.)/, '"data":"\r$1'));
  reject('deep JSON', 'array nested 100,000 deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
  reject('deep JSON', 'object nested 100,000 deep', `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`);
  reject('deep JSON', 'tokens nested 100,000 deep', `${'{"a":'.repeat(100_000)}"aesp:1:A256GCM:0000000000000000:AAAAAAAAAAAAAAAA::AAAAAAAAAAAAAAAAAAAAAA"${'}'.repeat(100_000)}`);
  reject('huge numbers', 'v is 2e400', samples.json!.replace('"v":2', '"v":2e400'));
  reject('huge numbers', 'v is 2 followed by 5000 zeros', samples.json!.replace('"v":2', `"v":2${'0'.repeat(5000)}`));
  reject('huge numbers', 'scrypt N is 2^1000', JSON.stringify({ v: 2, alg: 'A256GCM', kdf: { name: 'scrypt', salt: randomBytes(16).toString('base64'), N: 2 ** 1000, r: 8, p: 1 }, nonce: env.nonce, data: env.data, mac: env.mac }), { args: ['--passphrase-env', 'P'], env: { P: 'corpus-passphrase' } });
  for (const f of ['nonce', 'v', 'alg', 'data']) reject('duplicate keys', `duplicate "${f}"`, samples.json!.replace('{', `{"${f}":${JSON.stringify(env[f])},`));
  reject('duplicate keys', 'duplicate key in a field document', samples.fields!.replace('"id": 1,', '"id": 1, "id": 2,'));
  reject('duplicate keys', 'duplicate JWE header parameter', `${b64u('{"alg":"dir","alg":"dir","enc":"A256GCM"}')}.${compact.slice(1).join('.')}`);

  // JWE header attacks
  reject('jwe header', 'alg none', craftJwe({ alg: 'none', enc: 'A256GCM' }, key, pt));
  reject('jwe header', 'alg RSA1_5', craftJwe({ alg: 'RSA1_5', enc: 'A256GCM' }, key, pt, randomBytes(256)));
  reject('jwe header', 'crit with an unknown name', craftJwe({ alg: 'dir', enc: 'A256GCM', crit: ['exp'], exp: 1 }, key, pt));
  reject('jwe header', 'crit empty', craftJwe({ alg: 'dir', enc: 'A256GCM', crit: [] }, key, pt));
  reject('jwe header', 'enc unknown', craftJwe({ alg: 'dir', enc: 'A512GCM' }, key, pt));
  reject('jwe header', 'zip unknown', craftJwe({ alg: 'dir', enc: 'A256GCM', zip: 'GZIP' }, key, pt));
  reject('jwe header', 'zip bomb (65 MiB of zeros)', craftJwe({ alg: 'dir', enc: 'A256GCM', zip: 'DEF' }, key, deflateRawSync(Buffer.alloc(65 * 1024 * 1024))));
  reject('jwe header', 'header not JSON', `${b64u('{alg')}.${compact.slice(1).join('.')}`);
  reject('jwe header', 'header an array', `${b64u('[]')}.${compact.slice(1).join('.')}`);
  reject('jwe header', 'header changed, still valid JSON', `${b64u('{"alg":"dir","enc":"A256GCM","x":1}')}.${compact.slice(1).join('.')}`);
  const pb = (p2c: number) =>
    craftJwe({ alg: 'PBES2-HS256+A128KW', enc: 'A256GCM', p2s: b64u(randomBytes(16)), p2c }, key, pt, randomBytes(40));
  const pass = { args: ['--passphrase-env', 'P'], env: { P: 'corpus-passphrase' } };
  reject('kdf costs', 'PBES2 p2c at the cap (1,000,000)', pb(1_000_000), pass);
  reject('kdf costs', 'PBES2 p2c over the cap', pb(1_000_001), pass);
  reject('kdf costs', 'PBES2 p2c 2^53', pb(2 ** 53), pass);
  reject('kdf costs', 'PBES2 p2c under the floor', pb(999), pass);
  const scryptEnv = (N: number, r: number, p: number) =>
    JSON.stringify({ v: 2, alg: 'A256GCM', kdf: { name: 'scrypt', salt: randomBytes(16).toString('base64'), N, r, p }, nonce: env.nonce, data: env.data, mac: env.mac });
  reject('kdf costs', 'scrypt at the work cap (N=2^18, r=8, p=2: N·r·p = 2^22, 256 MiB)', scryptEnv(2 ** 18, 8, 2), pass);
  for (const [N, r, p] of [[2 ** 20, 8, 4], [2 ** 20, 8, 1], [2 ** 19, 8, 1], [2 ** 15, 8, 17], [2 ** 15, 1024, 1], [3000, 8, 1], [0, 8, 1]] as const) {
    reject('kdf costs', `scrypt N=${N} r=${r} p=${p}`, scryptEnv(N, r, p), pass);
  }

  // field tokens
  const tok = (JSON.parse(samples.fields!) as { secret: string }).secret;
  const parts = tok.split(':');
  const withToken = (t: string) => samples.fields!.replace(tok, t);
  for (let i = 2; i < 7; i++) {
    const p = [...parts];
    p[i] = i === 3 ? '0123456789abcdef' : `${p[i]}A`;
    reject('field tokens', `token part ${i} changed`, withToken(p.join(':')));
    const q = [...parts];
    q.splice(i, 1);
    reject('field tokens', `token part ${i} missing`, withToken(q.join(':')));
  }
  reject('field tokens', 'token version 3', withToken(tok.replace('aesp:2:', 'aesp:3:')));
  reject('field tokens', 'token downgraded to version 1', withToken(tok.replace('aesp:2:', 'aesp:1:')));
  const header = (JSON.parse(samples.fields!) as { aesp: string }).aesp;
  reject('field tokens', 'document header removed', samples.fields!.replace(/,\s*"aesp": "[^"]+"/, ''));
  for (const pos of spread(header.length, 8)) reject('field tokens', `header char changed @${pos}`, samples.fields!.replace(header, header.slice(0, pos) + (header[pos] === 'A' ? 'B' : 'A') + header.slice(pos + 1)));
  reject('field tokens', 'header mode switched to enc', samples.fields!.replace(':doc:all:', ':doc:enc:'));
  reject('field tokens', 'plaintext value changed', samples.fields!.replace('"id": 1', '"id": 2'));
  reject('field tokens', 'token moved to another key', samples.fields!.replace(`"secret": "${tok}"`, `"secret2": "${tok}"`));
  reject('field tokens', 'token with plain CBC', withToken(tok.replace('A256GCM', 'A256CBC')));
  for (const pos of spread(tok.length, 12)) reject('field tokens', `token char changed @${pos}`, withToken(tok.slice(0, pos) + (tok[pos] === 'A' ? 'B' : 'A') + tok.slice(pos + 1)));

  // NDJSON: a bad line among good ones
  const line = samples.json!.trimEnd();
  const lines = { args: ['--lines'] };
  reject('ndjson', 'second line tampered', `${line}\n${line.replace(/"mac":"(.)/, (_, c: string) => `"mac":"${c === 'A' ? 'B' : 'A'}`)}\n`, lines);
  reject('ndjson', 'second line truncated', `${line}\n${line.slice(0, 40)}\n`, lines);
  reject('ndjson', 'second line empty object', `${line}\n{}\n`, lines);
  reject('ndjson', 'second line deep', `${line}\n${'['.repeat(100_000)}\n`, lines);

  // streams: header fields
  const h = decodeHeader(stream.subarray(0, 68));
  void h;
  for (const [name, pos, val] of [
    ['version 2', 8, 2],
    ['version 0', 8, 0],
    ['alg id 2', 9, 2],
    ['alg id 255', 9, 255],
    ['chunk size 2^11', 10, 11],
    ['chunk size 2^25', 10, 25],
    ['reserved byte set', 11, 1],
  ] as const) {
    const c = Buffer.from(stream);
    c[pos] = val;
    reject('stream header', name, c);
  }
  reject('stream header', 'magic changed', Buffer.concat([Buffer.from('AESPSTRN'), stream.subarray(8)]));
  return m;
}
