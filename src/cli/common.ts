import { Option, type Command } from 'commander';
import { ALGS, type Alg } from '../crypto/algs.js';
import { InterruptedError } from '../errors.js';
import { readInput, type Input } from '../io/input.js';
import { writeFileAtomic } from '../io/output.js';
import { writeStdout } from '../io/stdout.js';
import { KEY_ENCODINGS } from '../keys/decode.js';
import { resolveKey, type KeyContext, type KeySource, type ResolvedKey } from '../keys/resolve.js';
import type { Ui } from './ui.js';

/** The KEY flags shared by encrypt, decrypt and verify. None takes a secret. */
export type KeyFlags = KeySource;

export function addKeyOptions(cmd: Command): Command {
  return cmd
    .option('--key-env <NAME>', 'read the key from environment variable NAME (default: AES_PAYLOAD_KEY)')
    .option('--key-file <FILE>', 'read the key from FILE')
    .option('--ini <FILE>', 'read the key from an .ini file (SECRET_KEY = <hex>)')
    .option('--ini-section <S>', 'with --ini: the section to read (default: the only one that has the key)')
    .option('--ini-key <NAME>', 'with --ini: the key name (default: SECRET_KEY)')
    .option('--prompt', 'ask for the key at a hidden prompt (needs a terminal)')
    .addOption(
      new Option('--key-encoding <ENC>', 'how the key text is encoded').choices(KEY_ENCODINGS).default('auto'),
    );
}

export function algOption(description: string): Option {
  return new Option('--alg <ALG>', description).choices(ALGS as readonly string[] as string[]);
}

export function hasKeyFlag(o: KeyFlags): boolean {
  return o.keyEnv !== undefined || o.keyFile !== undefined || o.ini !== undefined || Boolean(o.prompt);
}

/** Run a prompt from @inquirer/prompts (loaded only now); Ctrl-C becomes exit 130. */
async function ask<T>(show: (p: typeof import('./prompts.js')) => Promise<T>): Promise<T> {
  const prompts = await import('./prompts.js');
  try {
    return await show(prompts);
  } catch (e) {
    const name = (e as Error).name;
    if (name === 'ExitPromptError' || name === 'AbortPromptError') throw new InterruptedError();
    throw e;
  }
}

/** Hidden prompt (no echo), drawn on stderr. */
export function promptSecret(message: string): Promise<string> {
  return ask((p) => p.password({ message }, { output: process.stderr }));
}

/** Yes/no question, drawn on stderr, defaulting to no. */
export function promptConfirm(message: string): Promise<boolean> {
  return ask((p) => p.confirm({ message, default: false }, { output: process.stderr }));
}

export function keyContext(ui: Ui): KeyContext {
  const ctx: KeyContext = { env: process.env, warn: (m) => ui.warn(m) };
  if (ui.interactive) ctx.promptSecret = promptSecret;
  return ctx;
}

export function resolveCliKey(o: KeyFlags, ui: Ui): Promise<ResolvedKey> {
  return resolveKey(o, keyContext(ui));
}

export function asAlg(s: string | undefined): Alg | undefined {
  return s as Alg | undefined;
}

/** Write command output: to `-o FILE` atomically, or to stdout. */
export function emit(data: Uint8Array | string, out: { output?: string; force?: boolean; mode?: number }): void {
  if (out.output !== undefined && out.output !== '-') {
    writeFileAtomic(out.output, data, { mode: out.mode ?? 0o666, overwrite: Boolean(out.force) });
  } else {
    writeStdout(data);
  }
}

/** Read the command's input; on a terminal, say how to end typed input. */
export function readCliInput(file: string | undefined, limit: number, ui: Ui): Input {
  if ((file === undefined || file === '-') && process.stdin.isTTY && ui.isTTY) {
    ui.hint('reading from the terminal; end with Ctrl-D');
  }
  return readInput(file, limit);
}
