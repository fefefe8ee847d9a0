import { Command, CommanderError } from 'commander';
import { AesPayloadError, EXIT } from '../errors.js';
import { BrokenPipe } from '../io/stdout.js';
import { onStaleTemp } from '../io/output.js';
import { registerDecrypt } from './decrypt.js';
import { registerEncrypt } from './encrypt.js';
import { registerKeygen } from './keygen.js';
import { Ui } from './ui.js';
import { registerVerify } from './verify.js';
import { registerRotate } from './rotate.js';

declare const __VERSION__: string | undefined;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

const COMMANDS = { keygen: registerKeygen, encrypt: registerEncrypt, decrypt: registerDecrypt, verify: registerVerify, rotate: registerRotate } as const;

/**
 * Build the commander program (also used by tests that walk the options).
 * With `only`, just that subcommand is registered: a script calling
 * `aes-payload encrypt` thousands of times need not build the other three.
 */
export function buildProgram(ui: Ui, only?: keyof typeof COMMANDS): Command {
  const program = new Command('aes-payload')
    .description('Encrypt and decrypt payloads with AES-GCM, AES-CBC-HMAC and AES-CBC')
    .version(VERSION, '-V, --version')
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      '\nKeys come from env AES_PAYLOAD_KEY, --key-env NAME, --key-file FILE, --ini FILE or --prompt;\n' +
        'never from the command line. Exit codes: 0 ok, 1 authentication failed, 2 usage, 3 key problem,\n' +
        '4 malformed input or unsupported alg, 5 I/O error.',
    )
    .exitOverride()
    .configureOutput({ outputError: () => {} });
  for (const [name, register] of Object.entries(COMMANDS)) if (!only || only === name) register(program, ui);
  for (const c of program.commands) c.exitOverride().configureOutput({ outputError: () => {} });
  return program;
}

/** Map any error to its one-line message and exit status. */
export function report(e: unknown, ui: Ui, debug: boolean): number {
  if (e instanceof BrokenPipe) return EXIT.OK;
  if (e instanceof CommanderError) {
    if (e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.OK;
    if (e.code === 'commander.help') return EXIT.USAGE;
    ui.error(`${e.message.replace(/^error: /, '')} (see aes-payload --help)`);
    return EXIT.USAGE;
  }
  if (e instanceof AesPayloadError) {
    ui.error(e.message); // "interrupted" for Ctrl-C at a prompt (exit 130)
    if (debug && e.stack) ui.raw(e.stack);
    return e.exitCode;
  }
  const err = e as Error;
  ui.error(`internal error: ${err?.message ?? String(e)} (set AES_PAYLOAD_DEBUG=1 for details)`);
  if (debug && err?.stack) ui.raw(err.stack);
  return EXIT.INTERNAL;
}

/** Run the CLI; resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const ui = new Ui();
  onStaleTemp((m) => ui.warn(m));
  const debug = process.env.AES_PAYLOAD_DEBUG === '1';
  try {
    const first = argv[2];
    const program = buildProgram(ui, first !== undefined && Object.hasOwn(COMMANDS, first) ? (first as keyof typeof COMMANDS) : undefined);
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (e) {
    return report(e, ui, debug);
  }
}
