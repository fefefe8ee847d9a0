import { FormatError } from '../../errors.js';
import { parseJsonSpans, type JsonEntry, type JsonNode } from '../common/jsonSpans.js';
import * as token from './token.js';
import { select, walkAll, type FieldPath, type Location } from './paths.js';
import { shortLocation } from './splice.js';

// A JSON field document as the field operations see it: parsed with source
// spans, its header member set apart, its reserved strings found by kind.

/**
 * Field documents, version 2 (docs/FORMAT.md §10): JSON whose selected
 * values are tokens, authenticated as a whole by a header in the root
 * object's `"aesp"` member. The header names the key (kid), a random
 * document id that every token's AAD binds, and an HMAC over the sorted
 * (location, value) list of the document: every value by default, or only
 * the tokens (`mode` `enc`). Moving, removing, adding or replacing a token,
 * or removing the header, fails.
 */
export const HEADER_MEMBER = 'aesp';

/** Finds the key for a kid (a single key, or a keyring). */
export type KeyForKid = (kid: string) => Uint8Array;

/** The key argument of every function here: one key, or a lookup by kid (a keyring). */
export type FieldsKey = Uint8Array | KeyForKid;

/** A {@link FieldsKey} as a lookup by kid. */
export const lookup = (k: FieldsKey): KeyForKid => (typeof k === 'function' ? k : () => k);

/** A JSON string node. */
export type StringNode = JsonNode & { kind: 'string' };
/** A value of the body and its location. */
export interface Found {
  loc: Location;
  node: JsonNode;
}

/** A parsed JSON field document. */
export interface Doc {
  text: string;
  root: JsonNode;
  /** The root object's `"aesp"` member, when there is one. */
  header?: { entry: JsonEntry; value: string };
  /** The document without its header: what paths select and the MAC covers. */
  body: JsonNode;
}

/**
 * A byte order mark before a JSON field document is refused: Python's json
 * module and jq refuse it, so a document that kept it would not read again
 * everywhere (docs/FORMAT.md §10).
 */
export function refuseBom(text: string, what: string | undefined): void {
  if (text.charCodeAt(0) === 0xfeff) {
    throw new FormatError(`${what ?? 'input'}: a byte order mark (U+FEFF) before the JSON, which Python's json module and jq refuse; remove it (sed -i '1s/^\\xEF\\xBB\\xBF//' FILE)`, 'ERR_BOM');
  }
}

/** Parse a JSON text as a field document: its root, its header member (a reserved string), and its body without it. */
export function parseDoc(text: string, what: string | undefined): Doc {
  const root = parseJsonSpans(text, what);
  if (root.kind !== 'object') return { text, root, body: root };
  const entry = root.entries.find((e) => e.key === HEADER_MEMBER);
  if (!entry || entry.value.kind !== 'string' || !token.reserved(entry.value.value)) return { text, root, body: root };
  return { text, root, header: { entry, value: entry.value.value }, body: { ...root, entries: root.entries.filter((e) => e !== entry) } };
}

/** The reserved strings of a body, by kind (see {@link scan}). */
export interface Scan {
  v2: Found[];
  v1: Found[];
  /** Strings with the reserved prefix that are not tokens. */
  bad: Found[];
}

/** Every string value with the reserved prefix, by kind, in document order. */
export function scan(body: JsonNode): Scan {
  const s: Scan = { v2: [], v1: [], bad: [] };
  walkAll(body, (node, loc) => {
    if (node.kind !== 'string' || !token.reserved(node.value)) return;
    let t: token.Token | undefined;
    try {
      t = token.decode(node.value);
    } catch {
      /* not a well-formed token: a fake, or damage */
    }
    (t ? (t.version === 2 ? s.v2 : s.v1) : s.bad).push({ loc: loc(), node });
  });
  return s;
}

/** What a JSON text is as a field document, by structure: undefined when it has no token and no header. */
export function fieldDocumentKind(text: string): 'v2' | 'v1' | undefined {
  return kindOf(parseDoc(text, undefined));
}

/** What a parsed document is, by structure (see {@link fieldDocumentKind}). */
export function kindOf(doc: Doc): 'v2' | 'v1' | undefined {
  if (doc.header) return 'v2';
  const s = scan(doc.body);
  if (s.v2.length) return 'v2';
  if (s.v1.length) return 'v1';
  if (s.bad.length) return 'v2'; // a reserved string: a damaged document, reported as such
  return undefined;
}

/** A location as compact JSON: the key of maps by location, and what the MAC sorts by. */
export const locText = (loc: Location): string => JSON.stringify(loc);
/** A location for messages. */
export const where = shortLocation;

/** Whether a node is a field token (a reserved string that is not a header). */
export const isToken = (n: JsonNode): n is StringNode => n.kind === 'string' && n.value.startsWith(token.TOKEN_PREFIX) && !token.isHeaderText(n.value);

/** The error for JSON that holds nothing encrypted. */
export function notEncrypted(): FormatError {
  return new FormatError('not an encrypted input (a JSON object that is not an aes-payload envelope, JWE or field document)', 'ERR_NOT_ENCRYPTED');
}

/**
 * The tokens that hold what `p` would select, when `p` selects nothing
 * itself: `card.number` is inside `card` when `card` is encrypted whole.
 * Only prefixes without `**` count, so `**.password` is never taken as
 * "somewhere inside some encrypted value".
 */
export function coveringTokens(body: JsonNode, p: FieldPath): Found[] {
  for (let k = p.segments.length - 1; k > 0; k--) {
    const prefix = p.segments.slice(0, k);
    if (prefix.some((s) => 'deep' in s)) continue;
    const hits = select(body, { text: p.text, segments: prefix }).filter((f) => f.node.kind === 'string' && token.reserved(f.node.value));
    if (hits.length) return hits;
  }
  return [];
}
