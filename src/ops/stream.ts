/**
 * Stream files (docs/FORMAT.md §7) for the CLI: recognised by their first
 * bytes (rung 0, src/formats/index.ts), sealed and opened chunk by chunk
 * into a sink (src/formats/stream/), with the key a stream takes.
 */
import { KeyError } from '../errors.js';
import { detectHead } from '../formats/index.js';
import { ArmorReader, armorSink } from '../formats/stream/armor.js';
import { decodeHeader, detect, STREAM_HEADER_LEN } from '../formats/stream/codec.js';
import { decryptStream, encryptStream, type StreamResult } from '../formats/stream/pipeline.js';
import { discardSink, fileSink, stdoutSink, type Sink } from '../formats/stream/sink.js';
import type { Source } from '../io/source.js';
import { ringKey } from '../keys/keyring.js';
import type { Keys } from '../keys/model.js';

export type { Sink, StreamResult };
export type HeadKind = 'binary' | 'armor';

/** Where streamed output goes: -o FILE (atomically, with `mode`), stdout, or nowhere (verify). */
export function outputSink(out: { output?: string; force?: boolean } | 'discard', mode: number): Sink {
  if (out === 'discard') return discardSink();
  if (out.output !== undefined && out.output !== '-') return fileSink(out.output, { mode, overwrite: Boolean(out.force) });
  return stdoutSink();
}

/** Whether the source starts like a stream (binary or armored). Peeks only. */
export function streamKind(src: Source): HeadKind | undefined {
  return detectHead((n) => src.peek(n), 'stream')?.kind;
}

/** Whether these first bytes (64 are enough) are a stream's. */
export function startsLikeStream(prefix: Uint8Array): boolean {
  return detect(prefix) !== undefined;
}

/** The key to encrypt a stream with (a keyring's primary key). */
export function streamKey(keys: Keys): Buffer {
  if (keys.secret) return Buffer.from(keys.secret);
  if (keys.rsa) throw new KeyError('the stream format needs a symmetric key, not an RSA or EC key', 'ERR_KEY_TYPE');
  throw new KeyError('the stream format needs a key; passphrases are not supported for streams', 'ERR_KEY_TYPE');
}

/** The key for a stream whose header names `kid`: from the keyring, or the one key. */
export function streamKeyFor(keys: Keys): (kid: string) => Buffer {
  return (kid) => (keys.ring ? ringKey(keys.ring, kid) : streamKey(keys));
}

/** Encrypt `src` into `sink` as a stream (armored with `armor`). */
export function sealStream(src: Source, key: Buffer, sink: Sink, opts: { armor?: boolean; onProgress: (n: number) => void }): Promise<StreamResult> {
  return encryptStream(src, opts.armor ? armorSink(sink) : sink, key, { onProgress: opts.onProgress });
}

/** Decrypt a stream into `sink`, each chunk released only after it authenticates. */
export function openStream(src: Source, kind: HeadKind, key: Buffer | ((kid: string) => Buffer), sink: Sink, opts: { onProgress: (n: number) => void }): Promise<StreamResult> {
  return decryptStream(kind === 'armor' ? new ArmorReader(src) : src, sink, key, { onProgress: opts.onProgress });
}

/** The algorithm and kid a stream's header names (unauthenticated: verify --no-key). */
export function streamHeaderOf(src: Source, kind: HeadKind): { alg: string; kid: string } {
  const head = Buffer.alloc(STREAM_HEADER_LEN);
  const got = (kind === 'armor' ? new ArmorReader(src) : src).read(head);
  const h = decodeHeader(head.subarray(0, got));
  return { alg: h.alg, kid: h.kid.toString('hex') };
}
