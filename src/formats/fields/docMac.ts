import { createHmac } from 'node:crypto';
import { subkey } from '../../crypto/derive.js';
import * as token from './token.js';
import type { DocHeader, MacMode } from './token.js';
import { walkAll } from './paths.js';
import { isToken, locText, type Doc } from './jsonDoc.js';

/**
 * The lines the document MAC covers (FORMAT.md §10.4): `[<location>,<value>]`
 * for every leaf (a scalar, `{}` or `[]`), or only the tokens in mode `enc`,
 * sorted by the UTF-8 bytes of the location's compact JSON.
 */
function macEntries(doc: Doc, mode: MacMode): Buffer[] {
  const lines: { loc: Buffer; line: Buffer }[] = [];
  walkAll(doc.body, (node, loc) => {
    let leaf: string | undefined;
    if (node.kind === 'string') leaf = mode === 'all' || isToken(node) ? JSON.stringify(node.value) : undefined;
    else if (mode === 'enc') return;
    else if (node.kind === 'object') leaf = node.entries.length ? undefined : '{}';
    else if (node.kind === 'array') leaf = node.items.length ? undefined : '[]';
    else leaf = doc.text.slice(node.start, node.end); // number (as written), true, false, null
    if (leaf === undefined) return;
    const l = locText(loc());
    lines.push({ loc: Buffer.from(l, 'utf8'), line: Buffer.from(`[${l},${leaf}]\n`, 'utf8') });
  });
  lines.sort((a, b) => Buffer.compare(a.loc, b.loc));
  return lines.map((x) => x.line);
}

/** The document MAC (FORMAT.md §10.4) of `doc` under `key`, for the header fields `h`. */
export function computeMac(key: Uint8Array, h: Omit<DocHeader, 'mac'>, doc: Doc): Buffer {
  const hmac = createHmac('sha256', subkey(key, 'documentMac', 32));
  hmac.update(`${token.HEADER_PREFIX}${h.mode}:${h.kid}:${h.id}\n`, 'utf8');
  for (const line of macEntries(doc, h.mode)) hmac.update(line);
  return hmac.digest();
}
