import { writeSync } from 'node:fs';
import { Chalk, supportsColorStderr, type ChalkInstance } from 'chalk';
import { printable } from '../errors.js';
import { isTerminal, noPromptReason } from './terminal.js';

/**
 * Colour level for stderr: NO_COLOR (non-empty) turns colour off unless
 * FORCE_COLOR is set; FORCE_COLOR forces it; otherwise colour only on a TTY.
 */
export function stderrColorLevel(env: NodeJS.ProcessEnv, isTTY: boolean): 0 | 1 | 2 | 3 {
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === 'false' || force === '0') return 0;
    if (force === '' || force === 'true') return 1;
    const n = Number.parseInt(force, 10);
    return (Number.isFinite(n) ? Math.max(0, Math.min(3, n)) : 1) as 0 | 1 | 2 | 3;
  }
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  if (!isTTY) return 0;
  return supportsColorStderr ? (supportsColorStderr.level as 0 | 1 | 2 | 3) : 0;
}

/** Set once a direct write to stderr failed: from then on, every line goes through process.stderr, in order. */
let viaStream = false;

/**
 * Write to stderr. On a terminal through process.stderr (a spinner may be
 * drawn there, and ora watches that stream's writes); otherwise straight to
 * descriptor 2, as stdout's data is (src/io/stdout.ts): making process.stderr
 * loads node:net for a pipe and switches the pipe to non-blocking mode, a
 * start-up cost for a line such as verify's `OK`. A direct write that fails
 * (EAGAIN on a pipe another process made non-blocking, EPIPE, EBADF) hands
 * what is left to process.stderr, which then does what it always did.
 */
function toStderr(text: string, tty: boolean): void {
  if (tty || viaStream) {
    process.stderr.write(text);
    return;
  }
  const bytes = Buffer.from(text);
  let off = 0;
  try {
    while (off < bytes.length) off += writeSync(2, bytes, off);
  } catch {
    viaStream = true;
    process.stderr.write(bytes.subarray(off));
  }
}

/** Everything the CLI says to people goes through here, to stderr. */
export class Ui {
  readonly isTTY: boolean;
  /** `--quiet`: only errors and warnings. */
  quiet = false;
  private readonly level: 0 | 1 | 2 | 3;
  private chalk: ChalkInstance | undefined;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    // Neither process.stderr nor chalk is made here: most runs print nothing,
    // and each costs start-up time (net or tty, and chalk's own set-up).
    this.isTTY = isTerminal(2);
    this.level = stderrColorLevel(env, this.isTTY);
  }

  /** chalk at the colour level of stderr, made on first use. */
  get c(): ChalkInstance {
    return (this.chalk ??= new Chalk({ level: this.level }));
  }

  /** `text` in a colour; without colour (level 0) as chalk returns it, the text itself, without loading chalk. */
  private paint(style: 'green' | 'yellow' | 'red' | 'dim', text: string): string {
    return this.level === 0 ? text : this.c[style](text);
  }

  /** Whether prompts may be shown: stderr is a terminal, and stdin or /dev/tty is one to read. */
  get interactive(): boolean {
    return noPromptReason() === undefined;
  }

  /**
   * One line for a person. Every control, invisible or bidi character in
   * `text` is escaped, so no input-derived string can end the line, move
   * the cursor or repaint what came before.
   */
  line(text: string): void {
    if (this.quiet) return;
    toStderr(`${printable(text, 4000)}\n`, this.isTTY);
  }

  /** `OK <text>`, with OK in green on a colour terminal. */
  ok(text: string): void {
    if (this.quiet) return;
    toStderr(`${this.paint('green', 'OK')} ${printable(text, 4000)}\n`, this.isTTY);
  }

  warn(message: string): void {
    toStderr(`${this.paint('yellow', 'aes-payload: warning:')} ${printable(message, 4000)}\n`, this.isTTY);
  }

  error(message: string): void {
    toStderr(`${this.paint('red', 'aes-payload:')} ${printable(message, 4000)}\n`, this.isTTY);
  }

  hint(message: string): void {
    if (this.quiet) return;
    toStderr(`${this.paint('dim', printable(message, 4000))}\n`, this.isTTY);
  }

  /** Text written as it is (several lines, such as a stack trace with AES_PAYLOAD_DEBUG=1). */
  raw(text: string): void {
    toStderr(`${text}\n`, this.isTTY);
  }
}
