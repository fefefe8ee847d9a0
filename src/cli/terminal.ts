import { closeSync, fstatSync, openSync } from 'node:fs';

/**
 * Whether a descriptor is a terminal, without creating process.stdin or
 * process.stdout: merely touching those makes Node switch a pipe to
 * non-blocking mode, and aes-payload reads and writes its data with
 * blocking system calls, so that the kernel does the back-pressure.
 *
 * @example
 * ```ts
 * isTerminal(1); // false under `| cat`
 * ```
 */
export function isTerminal(fd: 0 | 1 | 2): boolean {
  // A terminal is a character device. Pipes and files, the usual case, are
  // answered without loading node:tty (which loads node:net).
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false; // closed: isatty() says false too
  }
  return process.getBuiltinModule('node:tty').isatty(fd);
}

/** Where a prompt reads keys and draws itself. */
export interface PromptIo {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Let go of /dev/tty (when it was opened). */
  close(): void;
}

/** Why no prompt can be shown, or undefined when one can. */
export function noPromptReason(): string | undefined {
  if (!process.stderr.isTTY) return 'standard error is not a terminal, and prompts are drawn there';
  if (isTerminal(0)) return undefined;
  try {
    closeSync(openSync('/dev/tty', 'r'));
    return undefined;
  } catch {
    return 'there is no terminal (standard input is not one, and /dev/tty cannot be opened)';
  }
}

/**
 * The terminal to prompt on: stdin and stderr when stdin is a terminal;
 * otherwise (data piped in) the controlling terminal, /dev/tty, for input,
 * as age, gpg and openssl do. Prompts are drawn on stderr only, so none is
 * shown when stderr is not a terminal.
 */
export function promptIo(): PromptIo | undefined {
  if (!process.stderr.isTTY) return undefined;
  if (isTerminal(0)) return { input: process.stdin, output: process.stderr, close() {} };
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r');
  } catch {
    return undefined;
  }
  // node:tty loads only here: most runs never prompt.
  const { ReadStream } = process.getBuiltinModule('node:tty');
  const input = new ReadStream(fd);
  return {
    input,
    output: process.stderr,
    close() {
      input.setRawMode?.(false);
      input.destroy();
    },
  };
}
