import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { quote } from '../errors.js';
import { parseJson } from '../formats/common/jsonSpans.js';
import { HttpError } from './http.js';

/**
 * Request bodies (docs/SERVICE.md, "Requests and answers"): read up to the
 * cap, then parsed once, strictly, straight from the bytes. Every request
 * body is a flat JSON object of string members, so the common case needs no
 * general parser: the bytes must be UTF-8, the object flat, its members
 * known; a string without escapes is handed on as a slice of the body.
 * Anything else goes to the strict general parser, which names the problem.
 */

/** One string member: where its bytes are, and whether they hold escapes. */
export interface Member {
  text(): string;
  bytes(): Buffer;
}

const tooLarge = (max: number) => new HttpError(413, 'ERR_TOO_LARGE', `the body is over ${max} bytes`);

/** The media type, without parameters, lower-cased. */
export function mediaType(req: IncomingMessage): string {
  const t = req.headers['content-type'];
  if (t === undefined) return '';
  if (t === 'application/json') return t;
  return t.split(';')[0]!.trim().toLowerCase();
}

/** Whether the request announces a body (Content-Length above 0, or chunked). */
export function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  if (cl !== undefined) return cl !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/** The declared length is over the cap (checked before reading anything). */
export function declaredTooLarge(req: IncomingMessage, max: number): boolean {
  const declared = Number(req.headers['content-length']);
  return Number.isFinite(declared) && declared > max;
}

/**
 * Read the body, at most `max` bytes: past the cap reading stops and the
 * promise rejects with 413. A client that goes away rejects with
 * {@link ClientGone}, which the service neither answers nor logs as an error.
 */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  if (declaredTooLarge(req, max)) return Promise.reject(tooLarge(max));
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let parts: Buffer[] | undefined;
    let size = 0;
    let done = false;
    const onData = (b: Buffer) => {
      if (done) return;
      size += b.length;
      if (size > max) {
        done = true;
        req.pause(); // stop reading at the cap; the answer closes the connection
        reject(tooLarge(max));
        return;
      }
      if (first === undefined) first = b;
      else (parts ??= [first]).push(b);
    };
    const onEnd = () => {
      if (done) return;
      done = true;
      resolve(parts ? Buffer.concat(parts, size) : (first ?? Buffer.alloc(0)));
    };
    const onGone = () => {
      if (done) return;
      done = true;
      reject(new ClientGone());
    };
    // 'close' also follows an 'error' or 'aborted'; a complete request has had its 'end'.
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', () => {});
    req.on('close', () => {
      if (!req.complete) onGone();
    });
  });
}

/** The client closed the connection before its request was complete. */
export class ClientGone extends Error {
  constructor() {
    super('the client closed the connection');
  }
}

const badUtf8 = () => new HttpError(400, 'ERR_UTF8', 'the body is not valid UTF-8 (or a string holds an escaped lone surrogate)');

class Slice implements Member {
  constructor(
    private readonly buf: Buffer,
    private readonly start: number,
    private readonly end: number,
  ) {}
  text(): string {
    return this.buf.toString('utf8', this.start, this.end);
  }
  bytes(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }
}

class Decoded implements Member {
  constructor(private readonly s: string) {}
  text(): string {
    return this.s;
  }
  bytes(): Buffer {
    return Buffer.from(this.s, 'utf8');
  }
}

const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Index of the first byte at or after `i` that is not JSON white space. */
function ws(b: Buffer, i: number): number {
  while (i < b.length) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/**
 * A flat object of strings, parsed from bytes; undefined for anything the
 * general parser must judge (another shape, a duplicate, a bad escape).
 */
function flat(b: Buffer): Map<string, Member> | undefined {
  const out = new Map<string, Member>();
  let i = ws(b, 0);
  if (b[i] !== 0x7b) return undefined;
  i = ws(b, i + 1);
  if (b[i] === 0x7d) return ws(b, i + 1) === b.length ? out : undefined;
  for (;;) {
    if (b[i] !== 0x22) return undefined;
    // the key
    let j = i + 1;
    let esc = false;
    for (; j < b.length; j++) {
      const c = b[j]!;
      if (c === 0x22) break;
      if (c === 0x5c) {
        esc = true;
        j++;
      } else if (c < 0x20) return undefined;
    }
    if (j >= b.length) return undefined;
    let key: string;
    if (esc) {
      try {
        key = JSON.parse(b.toString('utf8', i, j + 1)) as string;
      } catch {
        return undefined;
      }
    } else key = b.toString('utf8', i + 1, j);
    if (out.has(key)) return undefined;
    i = ws(b, j + 1);
    if (b[i] !== 0x3a) return undefined;
    i = ws(b, i + 1);
    if (b[i] !== 0x22) return undefined;
    // the value
    j = i + 1;
    esc = false;
    for (; j < b.length; j++) {
      const c = b[j]!;
      if (c === 0x22) break;
      if (c === 0x5c) {
        esc = true;
        j++;
      } else if (c < 0x20) return undefined;
    }
    if (j >= b.length) return undefined;
    if (esc) {
      let s: string;
      try {
        s = JSON.parse(b.toString('utf8', i, j + 1)) as string;
      } catch {
        return undefined;
      }
      if (!wellFormed(s)) throw badUtf8();
      out.set(key, new Decoded(s));
    } else out.set(key, new Slice(b, i + 1, j));
    i = ws(b, j + 1);
    if (b[i] === 0x2c) {
      i = ws(b, i + 1);
      continue;
    }
    if (b[i] === 0x7d) return ws(b, i + 1) === b.length ? out : undefined;
    return undefined;
  }
}

/**
 * Parse a request body into its string members, refusing invalid UTF-8,
 * escaped lone surrogates, duplicates (ERR_JSON), anything but an object
 * (ERR_REQUEST), members not in `known` (including `__proto__` and
 * `constructor`), and members that are not strings.
 */
export function parseMembers(body: Buffer, known: ReadonlySet<string>): Map<string, Member> {
  // Key names are ASCII (latin1Slice above) only once the whole body is known to be UTF-8.
  if (!isUtf8(body)) throw badUtf8();
  let m = flat(body);
  if (m === undefined) {
    let o: unknown;
    try {
      o = parseJson(body.toString('utf8'), 'the request body');
    } catch (e) {
      throw new HttpError(400, 'ERR_JSON', (e as Error).message);
    }
    if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new HttpError(400, 'ERR_REQUEST', 'the request body must be a JSON object');
    m = new Map();
    for (const [k, v] of Object.entries(o)) {
      if (!known.has(k)) throw unknownMember(k);
      if (typeof v !== 'string') throw new HttpError(400, 'ERR_REQUEST', `${quote(k)} must be a string`);
      if (!wellFormed(v)) throw badUtf8();
      m.set(k, new Decoded(v));
    }
    return m;
  }
  for (const k of m.keys()) if (!known.has(k)) throw unknownMember(k);
  return m;
}

function unknownMember(k: string): HttpError {
  // quote(): control, invisible and bidi characters escaped, as in every message (SECURITY.md).
  return new HttpError(400, 'ERR_REQUEST', `unknown member ${quote(k, 40)}`);
}
