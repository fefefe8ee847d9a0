import { AesPayloadError, AuthError, EXIT } from '../errors.js';
import type { Source } from '../io/source.js';
import { terminalTextSink } from '../io/ttyText.js';
import { openStream, outputSink, sealStream, type HeadKind, type Sink, type StreamResult } from '../ops/stream.js';
import { isTerminal } from './terminal.js';
import { progress } from './progress.js';
import type { Ui } from './ui.js';

export { streamKey, streamKeyFor, streamKind } from '../ops/stream.js';

/** Where plaintext goes: a file, stdout (printable text only on a terminal: src/io/ttyText.ts; -o - forces it), or nowhere (verify). */
export function plaintextSink(out: { output?: string; force?: boolean } | 'discard'): Sink {
  const toTty = out !== 'discard' && out.output === undefined && isTerminal(1);
  return toTty ? terminalTextSink(outputSink(out, 0o600)) : outputSink(out, 0o600);
}

/** An authentication failure after plaintext already went to stdout says so: what was written is incomplete. */
export function partialOutput(e: unknown, sink: Sink, out: { output?: string } | 'discard'): unknown {
  if (e instanceof AuthError && sink.written > 0 && out !== 'discard' && (out.output === undefined || out.output === '-')) {
    return new AesPayloadError('ERR_AUTH', EXIT.AUTH, `${e.message}; ${sink.written} bytes of plaintext were already written to stdout and are incomplete: discard them`);
  }
  return e;
}

export async function encryptStreamCli(src: Source, key: Buffer, out: { output?: string; force?: boolean; armor?: boolean }, ui: Ui): Promise<StreamResult> {
  const sink = outputSink(out, 0o666);
  const p = progress(ui, 'encrypting', src.size);
  try {
    return await sealStream(src, key, sink, { armor: Boolean(out.armor), onProgress: (n) => p.update(n) });
  } finally {
    p.stop();
    src.close();
  }
}

export async function decryptStreamCli(src: Source, kind: HeadKind, key: Buffer | ((kid: string) => Buffer), out: { output?: string; force?: boolean } | 'discard', ui: Ui): Promise<StreamResult> {
  const sink = plaintextSink(out);
  const p = progress(ui, out === 'discard' ? 'verifying' : 'decrypting', src.size);
  try {
    return await openStream(src, kind, key, sink, { onProgress: (n) => p.update(n) });
  } catch (e) {
    throw partialOutput(e, sink, out);
  } finally {
    p.stop();
    src.close();
  }
}
