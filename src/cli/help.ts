import type { Command } from 'commander';

/** The exit-code table, as in the README and docs/FORMAT.md §7. */
export const EXIT_CODES = `Exit codes:
  0    ok (also when the reader closes stdout early, as in | head -c1)
  1    authentication failed (wrong key, tampered data, bad padding or MAC; an age file no identity opens)
  2    usage (also plaintext that is not text, to a terminal)
  3    key problem (no key, undecodable, wrong length, unknown kid, no terminal for a prompt)
  4    malformed input (an age header too), not an encrypted input, unsupported or legacy version or alg, a limit
  5    I/O error (including an output that exists, without --force)
  70   internal error: a bug, please report it
  130  interrupted (Ctrl-C at a prompt)`;

/**
 * Every key source, for the top-level help: one per line, a name and its
 * meaning two spaces apart, so that help2man makes a list of it in the man
 * page.
 */
export const KEY_SOURCES = `Keys (never on the command line):
  AES_PAYLOAD_KEY          env: the key (the default)
  AES_PAYLOAD_KEYRING      env: a keyring, when no key flag and no AES_PAYLOAD_KEY is given
  AES_PAYLOAD_KEY_CMD      env: a command that prints the key, when nothing else is set
  --key-env NAME           another environment variable
  --key-file FILE          a key file: key text, a JWK, or a PEM RSA private key
  --ini FILE               SECRET_KEY = <hex> in an .ini file such as development.ini
  --keyring FILE           several keys with a primary (JSON or .ini); keys found by kid
  --key-cmd CMD            run CMD (no shell) and read the key from its stdout (10 s limit)
  --key-uri URI            an AES key in an HSM, as a pkcs11: URI (JWE only)
  --prompt                 a hidden prompt (the terminal, also when data is piped in)
  --passphrase             a passphrase at a hidden prompt (scrypt; PBES2 for JWE)
  --passphrase-env NAME    a passphrase from an environment variable
  --passphrase-file FILE   a passphrase from a file`;

/**
 * Every environment variable aes-payload reads, for the top-level help and
 * the man page's ENVIRONMENT section (help2man makes a section of a
 * heading that ends in a colon). test/ecosystem.test.ts checks it against src/ and the man page.
 */
export const ENVIRONMENT = `Environment:
  AES_PAYLOAD_KEY            the key, when no key flag is given
  AES_PAYLOAD_KEYRING        a keyring's text, when no key flag and no AES_PAYLOAD_KEY is set
  AES_PAYLOAD_KEY_CMD        a command that prints the key, when nothing else is set
  AES_PAYLOAD_KID            set for a key command: the kid the input names
  AES_PAYLOAD_PKCS11_MODULE  the PKCS#11 module for --key-uri (default of --pkcs11-module)
  AES_PAYLOAD_KDF_BUDGET     seconds of passphrase (scrypt/PBES2) work a run may do (default 60)
  AES_PAYLOAD_THREADS        worker threads, 0-16 (--lines: default one per core; streams: default none)
  AES_PAYLOAD_CONFIG         the rules file (as --config) for encrypt, edit, set and the git commands
  AES_PAYLOAD_IDENTITY       age identity lines, for the git drivers (git-textconv, git-merge, git-filter)
  AES_PAYLOAD_IDENTITY_FILE  an age identity file, for the git drivers (others take -i or --identity-env)
  AES_PAYLOAD_DEBUG          1: a stack trace with an internal error
  NATS_URL                   the NATS server(s) for aes-payload worker (as --nats)
  NO_COLOR                   non-empty: no colour on stderr
  FORCE_COLOR                colour on stderr even off a terminal (0 turns it off); wins over NO_COLOR
  VISUAL, EDITOR             the editor for aes-payload edit`;

/** The heading that groups the key options of a subcommand's help. */
export const KEY_GROUP = 'Key (never on the command line; default: env AES_PAYLOAD_KEY):';

/**
 * Add the examples and the exit-code table after a subcommand's options.
 *
 * @example
 * ```ts
 * withHelp(cmd, ['aes-payload verify secrets/*.json', 'aes-payload verify --json a.json']);
 * ```
 */
export function withHelp(cmd: Command, examples: string[], notes?: string): Command {
  return cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}\n${notes ? `\n${notes}\n` : ''}\n${EXIT_CODES}\n`);
}
