import type { Location } from './paths.js';

/** A replacement of text[start, end) by `text`: how field documents are rewritten in place. */
export interface Edit {
  start: number;
  end: number;
  text: string;
}

/** Apply non-overlapping edits to `text` (in any order; sorted here). */
export function splice(text: string, edits: Edit[]): string {
  edits.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const e of edits) {
    out += text.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + text.slice(at);
}

/** A location for a message: compact JSON, cut to a readable length. */
export const where = (loc: Location): string => {
  const t = JSON.stringify(loc);
  return t.length > 80 ? `${t.slice(0, 79)}…` : t;
};
