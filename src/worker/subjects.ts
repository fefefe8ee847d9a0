/**
 * Whether the NATS subject `subject` (a literal, or itself a pattern) can
 * match the pattern `filter` (`*` one token, `>` the rest): then a worker
 * reading `filter` would read what it publishes to `subject`.
 *
 * @example
 * ```ts
 * subjectMatches('records.>', 'records.enc'); // true
 * ```
 */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>' || s[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (f[i] !== '*' && s[i] !== '*' && f[i] !== s[i]) return false;
  }
  return f.length === s.length;
}
