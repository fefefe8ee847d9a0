import { printable } from '../errors.js';
/**
 * The request log: one JSON line per request on stderr, batched so that a
 * busy server makes one write per turn of the event loop instead of one per
 * request. Flushed before the process exits.
 */
let pending: string[] = [];
let scheduled = false;

function flush(): void {
  scheduled = false;
  if (pending.length === 0) return;
  const text = pending.join('');
  pending = [];
  process.stderr.write(text);
}

/** Queue one line (without its newline). */
export function logLine(line: string): void {
  pending.push(`${line}\n`);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}

/** Write what is queued now (before exiting, or before a line that is not a request's). */
export function flushLog(): void {
  flush();
}

/** A line for people (start-up, warnings, reloads): after the queued request lines, at once. */
export function say(line: string): void {
  flush();
  process.stderr.write(`${printable(line, 4000)}\n`);
}

let lastMs = 0;
let lastIso = '';
/** `new Date().toISOString()`, computed at most once per millisecond. */
export function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}
