import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { b64encode, b64field, headerError } from './b64.js';
import { LineReader } from './reader.js';
import { AuthError } from '../../errors.js';

/** One recipient stanza: its type (first argument), other arguments and body. */
export interface Stanza {
  type: string;
  args: string[];
  body: Buffer;
}

/** A parsed v1 header: stanzas, MAC, and the bytes the MAC covers. */
export interface Header {
  stanzas: Stanza[];
  mac: Buffer;
  /** The header up to and including `---` (what the MAC is computed over). */
  macInput: Buffer;
}

export const INTRO = 'age-encryption.org/v1\n';
/** The version line every age file starts with (any version: only v1 is read). */
export const MAGIC = 'age-encryption.org/';

/** Our limits for hostile input (FORMAT.md, "age files"). */
export const AGE_LIMITS = {
  /** Largest header we read: 1 MiB (a post-quantum stanza is about 1.6 KB). */
  headerBytes: 1 << 20,
  /** Most stanzas in one header. */
  stanzas: 1000,
  /** Longest stanza argument line. */
  argLine: 4096,
} as const;

const COLUMNS = 64;
const BYTES_PER_LINE = 48;

function validArg(a: string): boolean {
  if (a.length === 0) return false;
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

/**
 * Read and parse an age v1 header strictly (C2SP age.md): the version line,
 * one or more stanzas whose bodies are canonical unpadded base64 in full
 * 64-column lines ending with a shorter (maybe empty) line, and the MAC
 * line. The reader is left at the first payload byte.
 */
export function parseHeader(r: LineReader): Header {
  let total = 0;
  const parts: Buffer[] = [];
  const next = (max: number, what: string): string => {
    const l = r.line(Math.min(max, AGE_LIMITS.headerBytes - total));
    if (l === undefined) throw headerError(total + max >= AGE_LIMITS.headerBytes ? `larger than ${AGE_LIMITS.headerBytes} bytes` : `${what} is too long`);
    if (l.length === 0 || l[l.length - 1] !== 0x0a) throw headerError(l.length === 0 && total === 0 ? 'the file is empty' : 'the header ends early');
    total += l.length;
    parts.push(l);
    return l.toString('latin1').slice(0, -1);
  };
  const intro = next(INTRO.length + 64, 'the version line');
  if (`${intro}\n` !== INTRO) throw headerError(intro.startsWith(MAGIC) ? 'unsupported version (only age-encryption.org/v1 is read)' : 'not an age file');
  const stanzas: Stanza[] = [];
  for (;;) {
    const peek = r.peek(3).toString('latin1');
    if (peek === '---') {
      const line = next(80, 'the MAC line');
      const sp = line.split(' ');
      if (sp[0] !== '---' || sp.length !== 2) throw headerError('malformed MAC line');
      const mac = b64field(sp[1]!, 'the header MAC');
      if (mac.length !== 32) throw headerError('the header MAC is not 32 bytes');
      const all = Buffer.concat(parts);
      return { stanzas, mac, macInput: all.subarray(0, all.length - line.length - 1 + 3) };
    }
    if (stanzas.length >= AGE_LIMITS.stanzas) throw headerError(`more than ${AGE_LIMITS.stanzas} stanzas`);
    const argLine = next(AGE_LIMITS.argLine, 'a stanza line');
    if (!argLine.startsWith('->')) throw headerError('malformed stanza opening line');
    const sp = argLine.split(' ');
    if (sp[0] !== '->' || sp.length < 2 || !sp.slice(1).every(validArg)) throw headerError('malformed stanza opening line');
    const body: Buffer[] = [];
    for (;;) {
      const l = next(COLUMNS + 1, 'a stanza body line');
      const b = b64field(l, 'a stanza body line');
      if (b.length > BYTES_PER_LINE) throw headerError('a stanza body line is longer than 64 columns');
      body.push(b);
      if (b.length < BYTES_PER_LINE) break;
    }
    stanzas.push({ type: sp[1]!, args: sp.slice(2), body: Buffer.concat(body) });
  }
}

/** The header bytes up to and including `---`, as age writes them. */
export function serializeHeaderWithoutMac(stanzas: readonly Stanza[]): Buffer {
  let s = INTRO;
  for (const st of stanzas) {
    for (const a of [st.type, ...st.args]) if (!validArg(a)) throw new Error('invalid stanza argument');
    s += `-> ${[st.type, ...st.args].join(' ')}\n`;
    const b = b64encode(st.body);
    for (let i = 0; i + COLUMNS <= b.length; i += COLUMNS) s += `${b.slice(i, i + COLUMNS)}\n`;
    s += `${b.slice(b.length - (b.length % COLUMNS))}\n`;
  }
  return Buffer.from(`${s}---`, 'latin1');
}

/** HMAC-SHA-256 of the header under HKDF(file key, "", "header"). */
export function headerMac(fileKey: Uint8Array, macInput: Uint8Array): Buffer {
  const key = Buffer.from(hkdfSync('sha256', fileKey, Buffer.alloc(0), 'header', 32));
  return createHmac('sha256', key).update(macInput).digest();
}

/** A whole header with its MAC line. */
export function serializeHeader(stanzas: readonly Stanza[], fileKey: Uint8Array): Buffer {
  const head = serializeHeaderWithoutMac(stanzas);
  return Buffer.concat([head, Buffer.from(` ${b64encode(headerMac(fileKey, head))}\n`, 'latin1')]);
}

/** An authentication failure of an age file; `stage` tells tests which check failed (the message does not). */
export class AgeAuthError extends AuthError {
  constructor(readonly stage: 'mac' | 'payload', detail?: string) {
    super(detail);
  }
}

/** Check the header MAC in constant time (testkit: "HMAC failure"). */
export function checkHeaderMac(h: Header, fileKey: Uint8Array): void {
  if (!timingSafeEqual(headerMac(fileKey, h.macInput), h.mac)) throw new AgeAuthError('mac');
}
