import type { DecryptFormat, DecryptedFormat } from '../ops/types.js';
import { parseJsonSpans, type JsonNode } from './common/jsonSpans.js';
import { readText } from './common/utf8.js';
import { ageHead } from './age/detect.js';
import { envelopeFormat } from './envelope/index.js';
import { fieldsFormat } from './fields/index.js';
import { notEncrypted } from './fields/jsonDoc.js';
import type { FieldPath } from './fields/paths.js';
import { jweFormat } from './jwe/index.js';
import { rawFormat } from './raw/index.js';
import { detect as streamDetect } from './stream/codec.js';
import type { PayloadFormat, Peek, Probe } from './types.js';

/**
 * The registry: every format aes-payload reads whole, and the one place
 * where an input's format is detected. Adding a format is a folder
 * (src/formats/<name>/index.ts, a {@link PayloadFormat}) and rows here.
 * The chunked stream (src/formats/stream/) and age files (src/formats/age/)
 * are recognised by their first bytes before an input is read whole, and
 * read by their own streaming pipelines: their rows are in {@link HEAD_LADDER}.
 */
export const FORMATS = [envelopeFormat, rawFormat, jweFormat, fieldsFormat] as const satisfies readonly PayloadFormat[];

/** The format that reads `format` (a name `--format` takes or detection gives). */
export function formatOf(format: DecryptedFormat): PayloadFormat {
  const f = FORMATS.find((x) => (x.formats as readonly DecryptedFormat[]).includes(format));
  if (!f) throw new TypeError(`unknown format ${format}`);
  return f;
}

/**
 * The detection ladder, in order: the first rung whose test holds names the
 * format. `json` says which inputs a rung applies to: text that starts like
 * JSON (`{` or `[`), text that does not, or both. The order is the
 * specification (docs/FORMAT.md §5): it is what makes detection by
 * structure unambiguous, so a format's rungs cannot be ordered inside its
 * folder alone.
 */
const LADDER: readonly { format: DecryptedFormat; json?: boolean; test: (p: Probe) => boolean }[] = [
  { format: 'jwe', test: jweFormat.detect.compact },
  { format: 'env', json: false, test: fieldsFormat.detect.env },
  { format: 'yaml', json: false, test: fieldsFormat.detect.yaml },
  { format: 'raw', json: false, test: rawFormat.detect.text },
  { format: 'json', json: true, test: envelopeFormat.detect.canonical },
  { format: 'fields', json: true, test: fieldsFormat.detect.header },
  { format: 'jwe-json', json: true, test: jweFormat.detect.json },
  { format: 'json', json: true, test: envelopeFormat.detect.members },
  { format: 'fields', json: true, test: fieldsFormat.detect.tokens },
];

/** The formats rung 0 recognises. */
export type HeadFormat = 'stream' | 'age';

/**
 * Rung 0 of the ladder (docs/FORMAT.md §5): the formats recognised by their
 * first bytes, before an input is read whole (they may be binary, and
 * larger than memory), each then read by its own pipeline in bounded
 * memory: the stream magic `AESPSTRM` or its armor BEGIN line, and age's
 * `age-encryption.org/` or its armor BEGIN line (after up to 1 KiB of white
 * space). Their magics exclude each other and every text of the ladder below.
 */
const HEAD_LADDER: readonly { format: HeadFormat; test: (peek: Peek) => 'binary' | 'armor' | undefined }[] = [
  { format: 'stream', test: (peek) => streamDetect(peek(64)) },
  { format: 'age', test: ageHead },
];

/**
 * Rung 0: which first-bytes format an input is, and whether it is binary or
 * armored; `only` asks about one format (what `--format stream` or
 * `--format age` allows). Undefined: the input is read whole and goes down
 * the {@link detectFormat} ladder.
 */
export function detectHead(peek: Peek, only?: HeadFormat): { format: HeadFormat; kind: 'binary' | 'armor' } | undefined {
  for (const rung of HEAD_LADDER) {
    if (only !== undefined && rung.format !== only) continue;
    const kind = rung.test(peek);
    if (kind) return { format: rung.format, kind };
  }
  return undefined;
}

function probe(text: string): Probe {
  let root: JsonNode | undefined;
  return { text, start: text.replace(/^\uFEFF/, '').trimStart(), root: () => (root ??= parseJsonSpans(text, 'input')) };
}

function startsJson(p: Probe): boolean {
  return p.start[0] === '{' || p.start[0] === '[';
}

/**
 * Which format an input is (docs/FORMAT.md §5), by structure, never by a
 * substring: five base64url parts are a compact JWE; a JSON object is a
 * field document if it has a root `"aesp"` header or holds token values, a
 * JWE if its members are JWE members with `ciphertext`, an envelope if its
 * members are envelope members with `nonce` and `data`; any other JSON is
 * "not an encrypted input" (exit 4); anything else is raw. The binary
 * stream is recognised by the CLI before the input is read whole.
 *
 * @example
 * ```ts
 * detectFormat('{"v":2,"alg":"A256GCM",…}', 'auto'); // 'json'
 * detectFormat('{"role":"admin"}', 'auto'); // throws: not an encrypted input
 * ```
 */
export function detectFormat(text: string, format: DecryptFormat | undefined, fields?: FieldPath[]): DecryptedFormat {
  if (format === 'env' || format === 'yaml') return format;
  const p = probe(text);
  const json = startsJson(p);
  if (fields) return !json && fieldsFormat.detect.env(p) ? 'env' : !json && fieldsFormat.detect.yaml(p) ? 'yaml' : 'fields';
  if (format && format !== 'auto') return format;
  for (const rung of LADDER) {
    if ((rung.json === undefined || rung.json === json) && rung.test(p)) return rung.format;
  }
  throw notEncrypted();
}

/**
 * The kid an input names, read without a key and without authenticating
 * anything (for a key command's AES_PAYLOAD_KID, never for a decision);
 * undefined when it names none or cannot be read.
 *
 * @example
 * ```ts
 * inputKid('{"v":2,"alg":"A256GCM","kid":"3f1c…",…}'); // '3f1c…'
 * ```
 */
export function inputKid(input: string | Uint8Array): string | undefined {
  const text = asText(input);
  try {
    return formatOf(detectFormat(text, 'auto')).kid(text);
  } catch {
    /* no kid to offer */
  }
  return undefined;
}

/** An input as text: bytes are UTF-8 or refused (no U+FFFD in place of what another reader would read otherwise). */
export function asText(input: string | Uint8Array): string {
  return typeof input === 'string' ? input : readText(input);
}
