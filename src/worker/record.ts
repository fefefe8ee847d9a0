import { AesPayloadError } from '../errors.js';
import { decrypt, encrypt, type DecryptOptions, type EncryptOptions, type Keys } from '../ops/index.js';

/** What a worker does to each record. */
export type WorkerOp = 'encrypt' | 'decrypt';

/** One record's outcome: its output, or the error code that sends it to the dead-letter subject. */
export type RecordResult = { ok: true; data: Uint8Array } | { ok: false; code: string };

/**
 * The function a worker runs on each message body: the same encrypt and
 * decrypt (whole record or --fields) that line mode runs on each line, so a
 * record comes out of the worker exactly as its line would come out of
 * `encrypt --lines` (and a worker's output is read by `decrypt --lines`).
 * An expected failure (not authentic, not JSON, a missing field) is its
 * code, never its message (which could quote the record); anything else is
 * thrown.
 *
 * @example
 * ```ts
 * const run = recordOp('encrypt', { secret: key }, { fields: parsePaths('email') });
 * run(Buffer.from('{"email":"a@b.c"}'));
 * ```
 */
export function recordOp(op: WorkerOp, keys: Keys, opts: EncryptOptions | DecryptOptions): (body: Uint8Array) => RecordResult {
  return (body) => {
    try {
      if (op === 'encrypt') return { ok: true, data: Buffer.from(encrypt(body, keys, opts as EncryptOptions).text, 'utf8') };
      return { ok: true, data: decrypt(body, keys, opts as DecryptOptions).plaintext };
    } catch (e) {
      if (e instanceof AesPayloadError) return { ok: false, code: e.code };
      throw e;
    }
  };
}

/** The dead-letter body for a failed record: its stream sequence and error code, never any of the record. */
export function deadLetter(seq: number, code: string): string {
  return `{"aesp_error":{"seq":${seq},"code":${JSON.stringify(code)}}}`;
}

/**
 * The `Nats-Msg-Id` of a record's output (and of its dead letter):
 * `<stream>:<created-ms>:<durable>:<seq>`, so a redelivered record is stored
 * once, while two pipelines (two durables) on one stream, or a stream
 * deleted and made again (its sequence restarting), never share an id.
 * `prefix` is `<stream>:<created-ms>:<durable>`.
 */
export function outputMsgId(prefix: string, seq: number): string {
  return `${prefix}:${seq}`;
}
