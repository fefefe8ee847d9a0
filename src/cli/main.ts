import { Command, CommanderError, Option } from 'commander';
import { ENVIRONMENT, EXIT_CODES, KEY_SOURCES } from './help.js';
import { AesPayloadError, EXIT } from '../errors.js';
import { BrokenPipe, writeStdout } from '../io/stdout.js';
import { Ui } from './ui.js';
import { VERSION } from './version.js';
import { isSea } from '../io/sea.js';

type Register = (program: Command, ui: Ui) => void;

/**
 * Every subcommand, in the order of `--help`, and how to load it. A run
 * loads only the module of the subcommand it runs (the others' code and
 * what they import are never set up), so `aes-payload encrypt` does not
 * pay for serve, git or recipients; `--help`, completion and a mistyped
 * command load them all, as they describe them all.
 */
const COMMANDS = {
  keygen: async () => (await import('./keygen.js')).registerKeygen,
  encrypt: async () => (await import('./encrypt.js')).registerEncrypt,
  decrypt: async () => (await import('./decrypt.js')).registerDecrypt,
  verify: async () => (await import('./verify.js')).registerVerify,
  rotate: async () => (await import('./rotate.js')).registerRotate,
  exec: async () => (await import('./exec.js')).registerExec,
  edit: async () => (await import('./edit.js')).registerEdit,
  set: async () => (await import('./set.js')).registerSet,
  recipients: async () => (await import('./recipients.js')).registerRecipients,
  serve: async () => (await import('./serve.js')).registerServe,
  worker: async () => (await import('./worker.js')).registerWorker,
  completion: async () => (await import('./completion.js')).registerCompletion,
  'git-setup': async () => (await import('./git.js')).registerGitSetup,
  'git-textconv': async () => (await import('./git.js')).registerGitTextconv,
  'git-merge': async () => (await import('./git.js')).registerGitMerge,
  'git-filter': async () => (await import('./git.js')).registerGitFilter,
} satisfies Record<string, () => Promise<Register>>;

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
 * With `only`, just that subcommand is loaded and registered: a script
 * calling `aes-payload encrypt` thousands of times need not build the others.
 */
export async function buildProgram(ui: Ui, only?: keyof typeof COMMANDS): Promise<Command> {
  const names = only ? [only] : (Object.keys(COMMANDS) as (keyof typeof COMMANDS)[]);
  const registers = await Promise.all(names.map((name) => COMMANDS[name]()));
  const program = new Command('aes-payload')
    .description('Encrypt and decrypt payloads, JSON fields and large files with AES-GCM (also AES-CBC-HMAC, JWE, and CBC for old services)')
    .version(VERSION, '-V, --version')
    .option('--verbose', 'with --version: also the Node.js version, platform and OpenSSL version')
    .showSuggestionAfterError(true)
    .enablePositionalOptions()
    .addHelpText('after', `\n${KEY_SOURCES}\n\n${EXIT_CODES}\n\nEvery command has examples: aes-payload <command> --help\n\n${ENVIRONMENT}\n`)
    .exitOverride()
    .configureOutput(OUTPUT);
  for (const register of registers) register(program, ui);
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
  // `--version` alone: what commander prints for it, without loading every subcommand.
  if (top.length === 1 && (top[0] === '--version' || top[0] === '-V')) {
    OUTPUT.writeOut(`${VERSION}\n`);
    return EXIT.OK;
  }
  // Loaded here, not at start-up: `--version` writes no file.
  const { onStaleTemp } = await import('../io/output.js');
  onStaleTemp((m) => ui.warn(m));
  const first = argv[2];
  const sub = first !== undefined && Object.hasOwn(COMMANDS, first) ? (first as keyof typeof COMMANDS) : undefined;
  try {
    // completion describes every subcommand, so it registers them all.
    const program = await buildProgram(ui, sub === 'completion' ? undefined : sub);
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (e) {
    return report(e, ui, debug, sub);
  }
}
