import { Chalk, supportsColorStderr, type ChalkInstance } from 'chalk';

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

/** Everything the CLI says to people goes through here, to stderr. */
export class Ui {
  readonly c: ChalkInstance;
  readonly isTTY: boolean;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.isTTY = Boolean(process.stderr.isTTY);
    this.c = new Chalk({ level: stderrColorLevel(env, this.isTTY) });
  }

  /** Whether prompts may be shown: stdin and stderr are both terminals. */
  get interactive(): boolean {
    return this.isTTY && Boolean(process.stdin.isTTY);
  }

  line(text: string): void {
    process.stderr.write(`${text}\n`);
  }

  warn(message: string): void {
    this.line(`${this.c.yellow('aes-payload: warning:')} ${message}`);
  }

  error(message: string): void {
    this.line(`${this.c.red('aes-payload:')} ${message}`);
  }

  hint(message: string): void {
    this.line(this.c.dim(message));
  }
}
