import { AesPayloadError, AuthError, EXIT, KeyError } from '../errors.js';
import { detectHead } from '../formats/index.js';
import type { Source } from '../io/source.js';
import type { Keys } from '../ops/index.js';
import { ringKey } from '../keys/keyring.js';
import { ArmorReader, armorSink } from '../formats/stream/armor.js';
import { decryptStream, encryptStream, type StreamOptions, type StreamResult } from '../formats/stream/pipeline.js';
import { isTerminal } from './terminal.js';
import { terminalTextSink } from '../io/ttyText.js';
import { discardSink, fileSink, stdoutSink, type Sink } from '../formats/stream/sink.js';
import { progress } from './progress.js';
import type { Ui } from './ui.js';

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

/** Whether the source starts like a stream (binary or armored). Peeks only. */
export function streamKind(src: Source): 'binary' | 'armor' | undefined {
  return detectHead((n) => src.peek(n), 'stream')?.kind;
}

function sinkFor(out: { output?: string; force?: boolean }, mode: number): Sink {
  if (out.output !== undefined && out.output !== '-') return fileSink(out.output, { mode, overwrite: Boolean(out.force) });
  return stdoutSink();
}

function options(ui: Ui, label: string, size: number | undefined): { opts: StreamOptions; done: () => void } {
  const p = progress(ui, label, size);
  return { opts: { onProgress: (n) => p.update(n) }, done: () => p.stop() };
}

export async function encryptStreamCli(src: Source, key: Buffer, out: { output?: string; force?: boolean; armor?: boolean }, ui: Ui): Promise<StreamResult> {
  const base = sinkFor(out, 0o666);
  const sink = out.armor ? armorSink(base) : base;
  const { opts, done } = options(ui, 'encrypting', src.size);
  try {
    return await encryptStream(src, sink, key, opts);
  } finally {
    done();
    src.close();
  }
}

export async function decryptStreamCli(src: Source, kind: 'binary' | 'armor', key: Buffer | ((kid: string) => Buffer), out: { output?: string; force?: boolean } | 'discard', ui: Ui): Promise<StreamResult> {
  const toTty = out !== 'discard' && out.output === undefined && isTerminal(1);
  const sink: Sink =
    out === 'discard' ? discardSink() : toTty ? terminalTextSink(sinkFor(out, 0o600)) : sinkFor(out, 0o600);
  const { opts, done } = options(ui, out === 'discard' ? 'verifying' : 'decrypting', src.size);
  try {
    return await decryptStream(kind === 'armor' ? new ArmorReader(src) : src, sink, key, opts);
  } catch (e) {
    if (e instanceof AuthError && sink.written > 0 && out !== 'discard' && (out.output === undefined || out.output === '-')) {
      throw new AesPayloadError(
        'ERR_AUTH',
        EXIT.AUTH,
        `${e.message}; ${sink.written} bytes of plaintext were already written to stdout and are incomplete: discard them`,
      );
    }
    throw e;
  } finally {
    done();
    src.close();
  }
}
