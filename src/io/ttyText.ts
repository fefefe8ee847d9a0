import { UsageError } from '../errors.js';

/**
 * Decrypted bytes bound for a terminal must be printable UTF-8 text, as age
 * refuses binary on a terminal: invalid UTF-8 would be shown altered (U+FFFD),
 * and control characters (ESC, C1 controls, a lone CR…) would be obeyed by
 * the terminal instead of shown. Only TAB, LF and CR LF pass among controls.
 * Checked incrementally, so a stream can be checked chunk by chunk.
 *
 * @example
 * ```ts
 * const t = new TerminalText();
 * t.check(Buffer.from('ok\n')); // undefined
 * t.check(Buffer.from('\x1b[2J')); // 'a control character (U+001B)'
 * ```
 */
export class TerminalText {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private cr = false;

  /** Why these bytes (following the ones checked before) cannot go to a terminal, or undefined. */
  check(b: Uint8Array): string | undefined {
    let text: string;
    try {
      text = this.decoder.decode(b, { stream: true });
    } catch {
      return 'it is not UTF-8 text';
    }
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.cr && c !== 0x0a) return 'a carriage return not followed by a line feed';
      this.cr = c === 0x0d;
      if (c === 0x0d || c === 0x0a || c === 0x09) continue;
      if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return `a control character (U+${c.toString(16).toUpperCase().padStart(4, '0')})`;
    }
    return undefined;
  }

  /** Why the end of the bytes cannot go to a terminal (a cut UTF-8 sequence, a final CR), or undefined. */
  end(): string | undefined {
    try {
      this.decoder.decode();
    } catch {
      return 'it is not UTF-8 text';
    }
    return this.cr ? 'a carriage return not followed by a line feed' : undefined;
  }
}

/** The refusal, with what to do instead. */
export function terminalRefusal(why: string, partial = false): UsageError {
  return new UsageError(
    `refusing to write the plaintext to the terminal: ${why}${partial ? ' (the text before it was written)' : ''}; use -o FILE or a pipe (| cat -v shows it), or -o - to force it`,
    'ERR_TTY_BINARY',
  );
}

/** Throw unless all of `b` may be written to a terminal. */
export function assertTerminalText(b: Uint8Array): void {
  const t = new TerminalText();
  const why = t.check(b) ?? t.end();
  if (why) throw terminalRefusal(why);
}

/** A sink wrapper for a stream decrypted to a terminal: each piece is checked before it is written. */
export function terminalTextSink<S extends { write(b: Uint8Array): Promise<void>; commit(): void; abort(): void; readonly written: number }>(inner: S): S {
  const t = new TerminalText();
  return {
    write: async (b: Uint8Array) => {
      const why = t.check(b);
      if (why) throw terminalRefusal(why, inner.written > 0);
      await inner.write(b);
    },
    commit: () => {
      const why = t.end();
      if (why) throw terminalRefusal(why, inner.written > 0);
      inner.commit();
    },
    abort: () => inner.abort(),
    get written() {
      return inner.written;
    },
  } as unknown as S;
}
