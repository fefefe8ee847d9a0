import type { Keys } from '../keys/model.js';
import type { DecryptOptions, DecryptResult, DecryptedFormat, EncryptOptions } from '../ops/types.js';
import type { JsonNode } from './common/jsonSpans.js';

/** An input as detection sees it: the text, and (once asked for) its JSON root, parsed once. */
export interface Probe {
  readonly text: string;
  /** The text without a BOM and leading white space. */
  readonly start: string;
  /** The JSON root (parsed on first use; throws as the parser does for JSON that is not well formed). */
  root(): JsonNode;
}

/** An input's first `n` bytes (fewer at its end), read without consuming them: what rung 0 of the ladder sees. */
export type Peek = (n: number) => Uint8Array;

/**
 * One format's whole interface (src/formats/<name>/index.ts): how it is
 * recognised by structure, how an input of it is opened, and which options
 * each direction takes. The registry (src/formats/index.ts) lists them and
 * runs their structural tests in one ordered ladder.
 */
export interface PayloadFormat {
  /** The folder's name. */
  readonly name: string;
  /** The names `--format` takes and {@link DecryptResult.format} reports for this format. */
  readonly formats: readonly DecryptedFormat[];
  /** Structural tests (no key, nothing authenticated), named; the registry's ladder orders them. */
  readonly detect: Readonly<Record<string, (p: Probe) => boolean>>;
  /** Open an input already detected as `format`; plaintext only once it authenticated. */
  open(text: string, keys: Keys, opts: DecryptOptions, forVerify: boolean, format: DecryptedFormat): DecryptResult;
  /** The kid an input names, read without a key and without authenticating anything; undefined when it names none. */
  kid(text: string): string | undefined;
  /** The options of {@link EncryptOptions} and {@link DecryptOptions} this format reads. */
  readonly options: { readonly encrypt: readonly (keyof EncryptOptions)[]; readonly decrypt: readonly (keyof DecryptOptions)[] };
}

/** The names of a JSON object's members, or none when the root is not an object. */
export function memberNames(root: JsonNode): string[] | undefined {
  return root.kind === 'object' ? root.entries.map((e) => e.key) : undefined;
}
