import { realpathSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import { UsageError } from '../errors.js';
import type { Rules } from './rules.js';

// A rule's path globs (docs/FORMAT.md §16.3): as regular expressions, and as
// .gitattributes patterns.

/**
 * A path glob as a regular expression over a `/`-separated relative path:
 * `*` and `?` within one name, `**` across names, `{a,b}` alternatives. A
 * glob without `/` matches the file's name in any directory (as in
 * .gitattributes).
 */
export function globRegex(glob: string): RegExp {
  const anywhere = !glob.includes('/'); // a leading "/" anchors the glob at the root
  if (glob.startsWith('/')) glob = glob.slice(1);
  let re = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      braces++;
      re += '(?:';
    } else if (c === '}' && braces) {
      braces--;
      re += ')';
    } else if (c === ',' && braces) re += '|';
    else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  if (braces) throw new Error(`path glob ${JSON.stringify(glob)}: an unclosed "{"`);
  return new RegExp(`^${anywhere ? '(?:.*/)?' : ''}${re}$`, 'su');
}

/** Expand `{a,b}` alternatives (nested too) into plain globs. */
export function expandBraces(glob: string): string[] {
  let depth = 0;
  let open = -1;
  const commas: number[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '{') {
      if (depth++ === 0) open = i;
    } else if (c === '}' && depth) {
      if (--depth === 0) {
        const parts: string[] = [];
        let from = open + 1;
        for (const k of [...commas, i]) {
          parts.push(glob.slice(from, k));
          from = k + 1;
        }
        const head = glob.slice(0, open);
        const tail = glob.slice(i + 1);
        const out: string[] = [];
        for (const p of parts) for (const e of expandBraces(head + p + tail)) if (!out.includes(e)) out.push(e);
        return out;
      }
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  return [glob];
}

/**
 * A rules file's path globs as .gitattributes patterns for the repository
 * root: braces expanded (git has none), the rules file's directory put in
 * front (its globs are relative to it). A glob git would read differently
 * (a `[` class, which the rules file takes as a plain character) is refused.
 */
export function gitPatterns(rules: Rules, root: string): string[] {
  let dir = rules.dir;
  let top = root;
  try {
    dir = realpathSync(dir);
    top = realpathSync(root);
  } catch {
    /* as given */
  }
  const rel = relative(top, dir).split(sep).join('/');
  if (rel.startsWith('..') || isAbsolute(rel)) throw new UsageError(`the rules file ${rules.file} is outside the repository ${root}; give git-setup the PATTERNS`);
  const out: string[] = [];
  for (const r of rules.rules) {
    for (const g of r.paths) {
      if (/[[\\]/.test(g)) throw new UsageError(`${rules.file}: line ${r.line}: path ${JSON.stringify(g)} holds "[" or "\\", which git reads differently; give git-setup the PATTERNS`);
      for (const e of expandBraces(g)) {
        const anywhere = !e.includes('/');
        const body = e.startsWith('/') ? e.slice(1) : e;
        const p = rel === '' ? e : anywhere ? `${rel}/**/${body}` : `${rel}/${body}`;
        if (!out.includes(p)) out.push(p);
      }
    }
  }
  return out;
}
