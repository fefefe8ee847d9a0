import { Command, CommanderError, Option } from 'commander';
import { ENVIRONMENT, EXIT_CODES, KEY_SOURCES } from './help.js';
import { AesPayloadError, EXIT } from '../errors.js';
import { BrokenPipe, writeStdout } from '../io/stdout.js';
import { onStaleTemp } from '../io/output.js';
import { registerDecrypt } from './decrypt.js';
import { registerEncrypt } from './encrypt.js';
import { registerKeygen } from './keygen.js';
import { Ui } from './ui.js';
import { registerVerify } from './verify.js';
import { registerRotate } from './rotate.js';
import { VERSION, registerServe } from './serve.js';
import { registerExec } from './exec.js';
import { registerEdit } from './edit.js';
import { registerCompletion } from './completion.js';
import { registerWorker } from './worker.js';
import { registerGitFilter, registerGitMerge, registerGitSetup, registerGitTextconv } from './git.js';
import { registerSet } from './set.js';
import { isSea } from '../io/sea.js';
import { registerRecipients } from './recipients.js';


const COMMANDS = { keygen: registerKeygen, encrypt: registerEncrypt, decrypt: registerDecrypt, verify: registerVerify, rotate: registerRotate, exec: registerExec, edit: registerEdit, set: registerSet, recipients: registerRecipients, serve: registerServe, worker: registerWorker, completion: registerCompletion, 'git-setup': registerGitSetup, 'git-textconv': registerGitTextconv, 'git-merge': registerGitMerge, 'git-filter': registerGitFilter } as const;

/**
 * Help and --version go to stdout synchronously: commander's default
 * (process.stdout.write) reports a reader that closed early (`--help | head -1`)
 * as an 'error' event after the fact, an uncaught EPIPE. A closed reader is
 * exit 0, as for data. Errors are reported by `report`, not by commander.
 */
const OUTPUT = {
  outputError: () => {},
  writeOut: (s: string) => {
    try {
      writeStdout(s);
    } catch (e) {
      if (!(e instanceof BrokenPipe)) throw e;
    }
  },
};

/**
 * Build the commander program (also used by tests that walk the options).
 * With `only`, just that subcommand is registered: a script calling
 * `aes-payload encrypt` thousands of times need not build the other three.
 */
export function buildProgram(ui: Ui, only?: keyof typeof COMMANDS): Command {
  const program = new Command('aes-payload')
    .description('Encrypt and decrypt payloads, JSON fields and large files with AES-GCM (also AES-CBC-HMAC, JWE, and CBC for old services)')
    .version(VERSION, '-V, --version')
    .option('--verbose', 'with --version: also the Node.js version, platform and OpenSSL version')
    .showSuggestionAfterError(true)
    .enablePositionalOptions()
    .addHelpText('after', `\n${KEY_SOURCES}\n\n${EXIT_CODES}\n\nEvery command has examples: aes-payload <command> --help\n\n${ENVIRONMENT}\n`)
    .exitOverride()
    .configureOutput(OUTPUT);
  for (const [name, register] of Object.entries(COMMANDS)) if (!only || only === name) register(program, ui);
  for (const c of program.commands) {
    c.addOption(new Option('-q, --quiet', 'print only errors and warnings on stderr').helpGroup('Options:'));
    c.exitOverride();
    const all = (x: Command): void => {
      x.configureOutput(OUTPUT);
      // Every command takes -q, a subcommand's own subcommands too (recipients add … -q).
      if (x !== c) x.addOption(new Option('-q, --quiet', 'print only errors and warnings on stderr').helpGroup('Options:'));
      x.commands.forEach(all);
    };
    all(c);
  }
  program.hook('preAction', (_, action) => {
    if (action.optsWithGlobals().quiet) ui.quiet = true;
  });
  return program;
}

/** Commander's message, on one line: its "(Did you mean X?)" joins the sentence. */
function usageMessage(e: CommanderError): { text: string; suggested: boolean } {
  let text = e.message.replace(/^error: /, '');
  const unknown = /^unknown command '([^']*)'/.exec(text);
  if (unknown && (unknown[1] === 'version' || unknown[1] === 'help')) return { text: `unknown command '${unknown[1]}'; did you mean --${unknown[1]}?`, suggested: true };
  const suggested = /\n\(Did you mean (.+)\?\)/.test(text);
  text = text.replace(/\n\(Did you mean (.+)\?\)/, '; did you mean $1?').replace(/\s*\n\s*/g, ' ');
  return { text, suggested };
}

/** Map any error to its one-line message and exit status. `sub` is the subcommand run, for the help pointer. */
export function report(e: unknown, ui: Ui, debug: boolean, sub?: string): number {
  const helpHint = `(see aes-payload ${sub ? `${sub} ` : ''}--help)`;
  if (e instanceof BrokenPipe) return EXIT.OK;
  if (e instanceof CommanderError) {
    if (e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.OK;
    if (e.code === 'commander.help') return EXIT.USAGE;
    const { text, suggested } = usageMessage(e);
    ui.error(suggested ? text : `${text} ${helpHint}`);
    return EXIT.USAGE;
  }
  if (e instanceof AesPayloadError) {
    ui.error(e.exitCode === EXIT.USAGE ? `${e.message} ${helpHint}` : e.message); // "interrupted" for Ctrl-C at a prompt (exit 130)
    if (debug && e.stack) ui.raw(e.stack);
    return e.exitCode;
  }
  const err = e as Error;
  ui.error(`internal error: ${err?.message ?? String(e)} (set AES_PAYLOAD_DEBUG=1 for details)`);
  if (debug && err?.stack) ui.raw(err.stack);
  return EXIT.INTERNAL;
}

/**
 * `aes-payload --version`, and with `--verbose` what a bug report needs:
 * the Node.js version, platform, OpenSSL, and whether this is the single executable.
 */
export function versionText(verbose: boolean): string {
  if (!verbose) return VERSION;
  const sea = isSea();
  return [`aes-payload ${VERSION}`, `node ${process.version}`, `platform ${process.platform}-${process.arch}`, `openssl ${process.versions.openssl}`, `build ${sea ? 'single executable' : 'npm package'}`].join('\n');
}

/**
 * An argument Node.js itself acts on wherever it stands before `--`: it
 * applies the file named by --env-file or --env-file-if-exists before any
 * JavaScript runs, NODE_OPTIONS included (nodejs/node#54232). The shipped
 * entry points stop Node's scan (bin/aes-payload.js starts Node with `--`,
 * the single executable has `--` in its execArgv), and no option of ours has
 * such a name; one given anyway is refused, not passed over.
 */
export function nodeReadsArgument(arg: string): boolean {
  return arg.startsWith('--env-file'); // --env-file, --env-file=F, --env-file-if-exists[=F], and any later variant
}

/** Run the CLI; resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const ui = new Ui();
  onStaleTemp((m) => ui.warn(m));
  const debug = process.env.AES_PAYLOAD_DEBUG === '1';
  const top = argv.slice(2);
  const end = top.indexOf('--');
  if ((end === -1 ? top : top.slice(0, end)).some(nodeReadsArgument)) {
    ui.error('--env-file is not an option of aes-payload, and Node.js itself would read the file it names (nodejs/node#54232); use exec -f FILE (or --file FILE)');
    return EXIT.USAGE;
  }
  if (top.length === 2 && top.includes('--verbose') && (top.includes('--version') || top.includes('-V'))) {
    process.stdout.write(`${versionText(true)}\n`);
    return EXIT.OK;
  }
  const first = argv[2];
  const sub = first !== undefined && Object.hasOwn(COMMANDS, first) ? (first as keyof typeof COMMANDS) : undefined;
  try {
    // completion describes every subcommand, so it registers them all.
    const program = buildProgram(ui, sub === 'completion' ? undefined : sub);
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (e) {
    return report(e, ui, debug, sub);
  }
}
