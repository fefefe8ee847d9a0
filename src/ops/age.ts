/**
 * age files (src/formats/age, FORMAT.md §15) for the CLI: recognised by
 * their first bytes, the header read and opened with identities, the
 * payload sealed or opened into a sink, and keys in their text forms.
 */
import {
  checkStanzas,
  formatIdentity,
  generateIdentity,
  openBody,
  readAgeHeader,
  recipientOf,
  sealAge,
  SECRET_PREFIX,
  type AgeIdentity,
  type AgeInput,
  type AgeRecipient,
  type Emit,
} from '../formats/age/index.js';
import { detectHead } from '../formats/index.js';
import { GcPacer } from '../formats/stream/gc.js';
import type { Sink } from '../formats/stream/sink.js';
import type { Source } from '../io/source.js';
import type { HeadKind } from './stream.js';

export type { AgeIdentity, AgeInput, AgeRecipient };
export { formatRecipient, recipientOf, parseIdentityFile, parseRecipient, parseRecipientsFile } from '../formats/age/keys.js';
export { pqAvailable, pqUnavailableMessage } from '../formats/age/mlkem768x25519.js';
/** Read an age file's header (the reader is left at the payload); then the file key, unwrapped with any one identity once the header MAC checks out. */
export { readAgeHeader as readAgeFile, openHeader as ageFileKey } from '../formats/age/index.js';

/** Whether the source starts like an age file (binary, or armored after white space). Peeks only. */
export function ageKind(src: Source): HeadKind | undefined {
  return detectHead((n) => src.peek(n), 'age')?.kind;
}

/** Whether a text is (or looks like) an age secret key: never to be echoed. */
export function looksLikeAgeSecret(s: string): boolean {
  return SECRET_PREFIX.test(s);
}

/** A passphrase as the identity of an age file (its scrypt stanza). */
export function passphraseIdentity(passphrase: Uint8Array): AgeIdentity {
  return { type: 'scrypt', passphrase: Buffer.from(passphrase) };
}

/** A passphrase as the one recipient of an age file. */
export function passphraseRecipient(passphrase: Buffer): AgeRecipient {
  return { type: 'scrypt', passphrase };
}

/** Write to the sink; a minor GC every MiB keeps node:crypto's per-chunk buffers from piling up (src/formats/stream/gc.ts). */
function emitTo(sink: Sink): Emit {
  const gc = new GcPacer();
  return async (parts) => {
    if (sink.writev) sink.writev(parts);
    else for (const p of parts) await sink.write(p);
    for (const p of parts) gc.produced(p.length);
  };
}

/** The stanza types of a header (the alg column of verify). */
export function stanzaTypes(input: AgeInput): string[] {
  return input.header.stanzas.map((s) => s.type);
}

/** Decrypt the payload into `sink`, each chunk released only after it authenticates. */
export function openAgeBody(input: AgeInput, fileKey: Buffer, sink: Sink, onProgress: (n: number) => void): Promise<number> {
  return openBody(input, fileKey, emitTo(sink), onProgress);
}

/** Header only (verify --no-key): the stanza types, after the stanza rules that need no key (what decrypt would refuse as malformed). */
export function ageHeaderTypes(src: Source, kind: HeadKind): string[] {
  const { stanzas } = readAgeHeader(src, kind).header;
  checkStanzas(stanzas);
  return stanzas.map((s) => s.type);
}

/** Encrypt `src` to `recipients` as an age file into `sink`. */
export function sealAgeFile(src: Source, recipients: readonly AgeRecipient[], sink: Sink, opts: { armor: boolean; onProgress: (n: number) => void }): Promise<number> {
  return sealAge(src, recipients, emitTo(sink), opts);
}

/** A new age identity (post-quantum with `pq`): its file line, its recipient, and a wipe of its secret. */
export function newAgeIdentity(pq: boolean): { line: string; recipient: string; wipe: () => void } {
  const id = generateIdentity(pq);
  return {
    line: formatIdentity(id),
    recipient: recipientOf(id),
    wipe: () => {
      if (id.type === 'X25519') id.secret.fill(0);
      else if (id.type === 'mlkem768x25519') id.seed.fill(0);
    },
  };
}
