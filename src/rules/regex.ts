import { FormatError } from '../errors.js';

// A rule's fields-regex, kept to bounded matching time.

/** The longest key name a fields-regex is tested on; a document with a longer name is refused. */
export const MAX_REGEX_NAME = 256;

/**
 * Why a fields-regex could backtrack without bound, or undefined: a
 * backreference, or a quantified group that holds a quantifier or an
 * alternation (`(a+)+`, `(a|a)*`, `(a*){2,}`). With neither, and names cut at
 * MAX_REGEX_NAME characters, matching time is bounded.
 */
export function unboundedRegex(src: string): string | undefined {
  const stack: { quant: boolean; alt: boolean }[] = [{ quant: false, alt: false }];
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const d = src[i + 1] ?? '';
      if (!inClass && (/[1-9]/.test(d) || d === 'k')) return 'a backreference';
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') stack.push({ quant: false, alt: false });
    else if (c === '|') stack[stack.length - 1]!.alt = true;
    else if (c === ')') {
      const g = stack.pop() ?? { quant: false, alt: false };
      if (!stack.length) stack.push({ quant: false, alt: false });
      const next = src[i + 1];
      const quantified = next === '*' || next === '+' || next === '?' || next === '{';
      if (quantified && next !== '?' && (g.quant || g.alt)) return `a repeated group holding ${g.quant ? 'a quantifier' : 'alternatives'}`;
      const top = stack[stack.length - 1]!;
      top.quant ||= g.quant || quantified;
    } else if (c === '*' || c === '+' || c === '{') stack[stack.length - 1]!.quant = true;
  }
  return undefined;
}

/** Whether a key name matches a rule's fields-regex; a name over MAX_REGEX_NAME characters is refused (bounded time). */
export function regexSelects(re: RegExp, name: string): boolean {
  if (name.length > MAX_REGEX_NAME) throw new FormatError(`a key name of ${name.length} characters (over ${MAX_REGEX_NAME}) in a document a fields-regex rule applies to; refusing to test it`, 'ERR_RULES');
  return re.test(name);
}
