import { Option, type Command } from 'commander';
import { InterruptedError, KeyError, UsageError } from '../errors.js';
import { isTerminal, noPromptReason, promptIo, type PromptIo } from './terminal.js';
import { KEY_GROUP } from './help.js';
import { writeFileAtomic } from '../io/output.js';
import { writeStdout } from '../io/stdout.js';
import { KEY_ENCODINGS } from '../keys/decode.js';
import { keySourceFlags, resolveKey, resolveKeys, type KeyContext, type KeySource, type ResolvedKey, type ResolvedKeys } from '../keys/resolve.js';
import type { Ui } from './ui.js';
import { ALGS, isJweAlgName, type Alg, type Keys } from '../ops/index.js';
import { constants as osConstants } from 'node:os';

/** The KEY flags shared by encrypt, decrypt and verify. None takes a secret. */
export type KeyFlags = KeySource;

export function addKeyOptions(cmd: Command): Command {
  return cmd
    .optionsGroup(KEY_GROUP)
    .option('--key-env <NAME>', 'read the key from environment variable NAME (default: AES_PAYLOAD_KEY)')
    .option('--key-file <FILE>', 'read the key from FILE')
    .option('--ini <FILE>', 'read the key from an .ini file (SECRET_KEY = <hex>)')
    .option('--ini-section <S>', 'with --ini: the section to read (default: the only one that has the key)')
    .option('--ini-key <NAME>', 'with --ini: the key name (default: SECRET_KEY)')
    .option('--prompt', 'ask for the key at a hidden prompt (needs a terminal)')
    .option('--passphrase', 'ask for a passphrase at a hidden prompt instead of a key (scrypt; PBES2 for JWE)')
    .option('--passphrase-env <NAME>', 'read a passphrase from environment variable NAME')
    .option('--passphrase-file <FILE>', 'read a passphrase from FILE (one trailing newline is dropped)')
    .option('--keyring <FILE>', 'several keys with a primary (JSON or .ini); default: env AES_PAYLOAD_KEYRING')
    .option('--key-uri <URI>', 'an AES key in an HSM, as an RFC 7512 pkcs11: URI (JWE A*GCMKW; the key never leaves the HSM)')
    .option('--pkcs11-module <FILE>', 'with --key-uri: the PKCS#11 module; default: env AES_PAYLOAD_PKCS11_MODULE')
    .option('--pin-env <NAME>', 'with --key-uri: read the token PIN from environment variable NAME (default: a prompt)')
    .option('--key-cmd <CMD>', 'run CMD (no shell) and read the key from its stdout; default: env AES_PAYLOAD_KEY_CMD')
    .option('--key-cmd-timeout <SECONDS>', 'with --key-cmd: the time limit (default 10)', (v: string) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new UsageError(`--key-cmd-timeout takes seconds (0 < s <= 3600), not ${JSON.stringify(v.slice(0, 20))}`);
      return Math.round(n * 1000);
    })
    .addOption(
      new Option('--key-encoding <ENC>', 'how the key text is encoded').choices(KEY_ENCODINGS).default('auto'),
    );
}

export function algOption(description: string): Option {
  return new Option('--alg <ALG>', description).choices(ALGS as readonly string[] as string[]);
}

export function hasKeyFlag(o: KeyFlags): boolean {
  return keySourceFlags(o).length > 0;
}

/**
 * Run a prompt from @inquirer/prompts (loaded only now) on the terminal
 * (terminal.ts: stderr, reading stdin or /dev/tty); Ctrl-C becomes exit 130.
 * With no terminal to prompt on, a key error (exit 3) that says why.
 */
async function ask<T>(what: string, show: (p: typeof import('./prompts.js'), io: PromptIo) => Promise<T>, onEof?: () => T): Promise<T> {
  const io = promptIo();
  if (!io) throw new KeyError(`cannot ask for ${what}: ${noPromptReason() ?? 'no terminal'}`, 'ERR_NO_TTY');
  const prompts = await import('./prompts.js');
  try {
    return await show(prompts, io);
  } catch (e) {
    const name = (e as Error).name;
    // Ctrl-C is SIGINT (exit 130). Ctrl-D (end of input) closes the prompt with nothing typed: no answer, not an interruption.
    if (name === 'ExitPromptError' && !/SIGINT/.test((e as Error).message)) {
      if (onEof) return onEof();
      throw new KeyError(`no ${what.replace(/^the /, '')} given: end of input (Ctrl-D) at the prompt`, 'ERR_KEY_MISSING');
    }
    if (name === 'ExitPromptError' || name === 'AbortPromptError') throw new InterruptedError();
    throw e;
  } finally {
    io.close();
  }
}

/** Hidden prompt (no echo, no Ctrl-T reveal), drawn on stderr. */
export function promptSecret(message: string): Promise<string> {
  return ask(`the ${message.split(' ')[0]!.toLowerCase()}`, (p, io) => p.password({ message, toggleMask: false }, { input: io.input, output: io.output }));
}

/** Yes/no question, drawn on stderr, defaulting to no (also at end of input, Ctrl-D). */
export function promptConfirm(message: string): Promise<boolean> {
  return ask('a confirmation', (p, io) => p.confirm({ message, default: false }, { input: io.input, output: io.output }), () => false);
}

export function keyContext(ui: Ui): KeyContext {
  return {
    env: process.env,
    warn: (m) => ui.warn(m),
    tell: (m) => ui.line(m),
    promptSecret: (m) => {
      const why = noPromptReason();
      if (why) {
        const what = m.startsWith('Key') ? 'key' : m.startsWith('PIN') ? 'PIN' : 'passphrase';
        const alt = what === 'key' ? '--key-env NAME, --key-file FILE or --ini FILE' : what === 'PIN' ? '--pin-env NAME' : '--passphrase-env NAME or --passphrase-file FILE';
        throw new KeyError(`the ${what} prompt needs a terminal: ${why}; in scripts, use ${alt}`, 'ERR_NO_TTY');
      }
      return promptSecret(m);
    },
  };
}

export function resolveCliKey(o: KeyFlags, ui: Ui): Promise<ResolvedKey> {
  return resolveKey(o, keyContext(ui));
}

/** Resolve a key of any kind (symmetric, RSA private, passphrase). */
export async function resolveCliKeys(o: KeyFlags, ui: Ui, confirmPassphrase = false): Promise<ResolvedKeys> {
  const r = await resolveKeys(o, keyContext(ui), confirmPassphrase);
  if (r.kek) process.once('exit', () => r.kek!.close()); // log out of the HSM and close its session
  return r;
}

/** The keys a command decrypts with, from what the resolver found (an HSM key, a keyring, a key, RSA, a passphrase). */
export function keysOf(r: ResolvedKeys): Keys {
  return { ...(r.kek ? { kek: r.kek } : {}), ...(r.secret ? { secret: r.secret } : {}), ...(r.ring ? { ring: r.ring } : {}), ...(r.rsa ? { rsa: r.rsa } : {}), ...(r.passphrase ? { passphrase: r.passphrase } : {}) };
}

/** The shell's exit status for death by a signal: 128 + its number. */
export function signalStatus(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 1);
}

/** Parse a comma-separated list option. */
export function commaList(s: string | undefined): string[] | undefined {
  if (s === undefined) return undefined;
  return s.split(',').map((x) => x.trim()).filter(Boolean);
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

/** When the input is a terminal, say how to end typed input. */
export function terminalHint(file: string | undefined, ui: Ui): void {
  if ((file === undefined || file === '-') && isTerminal(0) && ui.isTTY) {
    ui.hint('reading from the terminal; end with Ctrl-D');
  }
}

/** `--allow-alg LIST` for decrypt and verify. */
export function allowAlgOption(): Option {
  return new Option('--allow-alg <LIST>', 'JWE: accept only these "alg" and "enc" values (comma-separated)');
}

export function parseAllowAlg(s: string | undefined): { allowAlg?: ReadonlySet<string> } {
  const list = commaList(s);
  if (!list) return {};
  for (const a of list) {
    if (!isJweAlgName(a)) throw new UsageError(`--allow-alg: unknown algorithm "${a}"`);
  }
  return { allowAlg: new Set(list) };
}

/** `--input-type json|env`: what a document for field encryption is; default from the file name. */
export function inputTypeOption(what = 'with --fields: the document type'): Option {
  return new Option('--input-type <TYPE>', `${what} (default: from the file name, .env or .yaml/.yml; else json)`).choices(['json', 'env', 'yaml']);
}

export { inputTypeOf } from '../ops/documents.js';
