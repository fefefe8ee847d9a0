import type { Location } from './paths.js';

/** A location for a message: compact JSON, cut to a readable length. */
export function shortLocation(loc: Location): string {
  const t = JSON.stringify(loc);
  return t.length > 80 ? `${t.slice(0, 79)}…` : t;
}

/** A replacement of `text.slice(start, end)`. */
export interface Edit {
  start: number;
  end: number;
  text: string;
}

/** Apply edits that do not overlap (in any order) to `text`: every byte outside them is kept as it was. */
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
