// age's conformance suite: every vector of the C2SP CCTV age testkit (test/vectors/age-testkit,
// SOURCE and LICENSE there). Each `expect` must come out as the vector says, and all plaintext
// released before a failure must match the `payload` hash.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AesPayloadError } from '../src/errors.js';
import {
  AgeAuthError,
  bufferReader,
  detect,
  NoIdentityMatchedError,
  openBody,
  openHeader,
  parseIdentity,
  pqAvailable,
  pqUnavailableMessage,
  readAgeHeader,
  serializeHeader,
  type AgeIdentity,
} from '../src/formats/age/index.js';

const DIR = join(import.meta.dirname, 'vectors/age-testkit');

interface Vector {
  name: string;
  expect: string;
  payload?: string;
  identities: string[];
  passphrases: string[];
  armored: boolean;
  fileKey: string;
  body: Buffer;
}

function load(name: string): Vector {
  const raw = readFileSync(join(DIR, name));
  const end = raw.indexOf('\n\n');
  const head = raw.subarray(0, end).toString('utf8').split('\n');
  const v: Vector = { name, expect: '', identities: [], passphrases: [], armored: false, fileKey: '', body: raw.subarray(end + 2) };
  let compressed = false;
  for (const l of head) {
    const i = l.indexOf(': ');
    const k = l.slice(0, i);
    const val = l.slice(i + 2);
    if (k === 'expect') v.expect = val;
    else if (k === 'payload') v.payload = val;
    else if (k === 'identity') v.identities.push(val);
    else if (k === 'passphrase') v.passphrases.push(val);
    else if (k === 'armored') v.armored = val === 'yes';
    else if (k === 'compressed') compressed = val === 'zlib';
    else if (k === 'file key') v.fileKey = val;
    else if (k !== 'comment') throw new Error(`${name}: unknown key ${k}`);
  }
  if (compressed) v.body = inflateSync(v.body);
  return v;
}

type Outcome = 'success' | 'no match' | 'HMAC failure' | 'header failure' | 'payload failure' | 'armor failure';

/** Decrypt as the CLI does (identities first, passphrases as scrypt identities); classify the outcome. */
async function run(v: Vector): Promise<{ outcome: Outcome; released: Buffer; error?: unknown }> {
  const out: Buffer[] = [];
  const released = () => Buffer.concat(out);
  try {
    const ids: AgeIdentity[] = [...v.identities.map(parseIdentity), ...v.passphrases.map((p) => ({ type: 'scrypt' as const, passphrase: Buffer.from(p) }))];
    const input = readAgeHeader(bufferReader(v.body), v.armored ? 'armor' : 'binary');
    const fk = openHeader(input, ids);
    expect(fk.toString('hex')).toBe(v.fileKey);
    await openBody(input, fk, (b) => void out.push(b));
    return { outcome: 'success', released: released() };
  } catch (e) {
    const outcome: Outcome | undefined =
      e instanceof NoIdentityMatchedError ? 'no match'
      : e instanceof AgeAuthError ? (e.stage === 'mac' ? 'HMAC failure' : 'payload failure')
      : e instanceof AesPayloadError && e.code === 'ERR_AGE_HEADER' ? 'header failure'
      : e instanceof AesPayloadError && e.code === 'ERR_AGE_ARMOR' ? 'armor failure'
      : undefined;
    if (!outcome) throw e;
    return { outcome, released: released(), error: e };
  }
}

const names = readdirSync(DIR).filter((n) => n !== 'LICENSE' && n !== 'SOURCE').sort();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('C2SP CCTV age testkit', () => {
  it('ships all 143 vectors with their licence and source', () => {
    expect(names).toHaveLength(143);
    expect(readFileSync(join(DIR, 'LICENSE'), 'utf8')).toMatch(/0BSD|Zero-Clause BSD|Permission to use/);
    expect(readFileSync(join(DIR, 'SOURCE'), 'utf8')).toContain('C2SP/CCTV');
  });

  for (const name of names) {
    const v = load(name);
    const pq = v.identities.some((i) => i.startsWith('AGE-SECRET-KEY-PQ-'));
    it(`${name}: ${v.expect}${pq && !pqAvailable() ? ' (post-quantum: refused on this Node)' : ''}`, async () => {
      if (pq && !pqAvailable()) {
        // Node < 24.7 has no ML-KEM: the identity is refused with the one-line message.
        expect(() => v.identities.map(parseIdentity)).toThrow(pqUnavailableMessage());
        return;
      }
      // Detection by structure: the armored vectors are the ones that start like armor.
      if (v.expect !== 'armor failure') expect(detect(v.body.subarray(0, 2048))).toBe(v.armored ? 'armor' : v.body.length ? 'binary' : undefined);
      const r = await run(v);
      expect(r.outcome, String((r.error as Error | undefined)?.message)).toBe(v.expect);
      if (v.payload !== undefined) expect(sha256(r.released)).toBe(v.payload);
      else expect(r.released.length).toBe(0);
    });
  }

  it('header round trip: every vector whose header parses re-serializes to the same bytes', () => {
    let checked = 0;
    for (const name of names) {
      const v = load(name);
      if (v.expect === 'header failure' || v.expect === 'armor failure' || v.armored) continue;
      const input = readAgeHeader(bufferReader(v.body));
      const fk = Buffer.from(v.fileKey, 'hex');
      const again = serializeHeader(input.header.stanzas, fk);
      if (v.expect === 'HMAC failure') {
        expect(again.subarray(0, input.header.macInput.length)).toEqual(input.header.macInput);
      } else {
        expect(v.body.subarray(0, again.length)).toEqual(again);
      }
      checked++;
    }
    expect(checked).toBe(50);
  });
});
