/**
 * Which options each format and mode of encrypt, decrypt and verify
 * accepts: the one table the usage errors of option combinations come from
 * (exit 2, one line: `aes-payload: <message> (see aes-payload CMD --help)`).
 *
 * A command's request (src/cli/request.ts) is checked against its table at
 * each point where a mode becomes known: from the flags alone (`flags`), once
 * the rules file and `--fields` have said what is encrypted (`fields`), once
 * the format is chosen (`stream`, `payload`, …), and, for decrypt and verify,
 * once the input's first bytes have said what it is (`age`, `stream`). Rows
 * are checked in order; the first that matches is the error.
 */
import { UsageError } from '../errors.js';

/** One row: in mode `in`, when any of `given` is on the command line (and `when` holds), `message`. */
export interface Row<F> {
  in: string | readonly string[];
  /** Options (or facts) of the request; the row applies when any one is given (not undefined or false). */
  given?: readonly (keyof F & string)[];
  /** A further condition, on the whole request. */
  when?: (f: F) => boolean;
  message: string | ((f: F) => string);
}

const isGiven = (v: unknown): boolean => v !== undefined && v !== false;

/** Check `f` against the rows of `table` for `mode`: the first row that matches is thrown as a UsageError. */
export function checkUsage<F>(table: readonly Row<F>[], mode: string, f: F): void {
  for (const row of table) {
    if (row.in !== mode && !(Array.isArray(row.in) && row.in.includes(mode))) continue;
    if (row.given && !row.given.some((k) => isGiven(f[k]))) continue;
    if (row.when && !row.when(f)) continue;
    throw new UsageError(typeof row.message === 'function' ? row.message(f) : row.message);
  }
}

/** Facts a request adds to its flags, for the rows below. */
export interface Facts {
  /** Any key source flag (--key-env, --key-file, --keyring, --passphrase…). */
  keyFlag?: boolean;
  /** -i or --identity-env. */
  ageIdentity?: boolean;
  /** --passphrase, --passphrase-env or --passphrase-file. */
  passphraseFlag?: boolean;
  /** How many recipients -r and -R named (once they are read). */
  recipients?: number;
  /** Stdout is a terminal. */
  tty?: boolean;
}

/** The options of line mode (README, "Line mode"), the same for encrypt and decrypt. */
interface LineFlags {
  lines?: boolean;
  failFast?: boolean;
  onError?: string;
}

const LINES: Row<LineFlags>[] = [
  { in: 'flags', given: ['failFast', 'onError'], when: (f) => !f.lines, message: (f) => `${f.failFast ? '--fail-fast' : '--on-error'} needs --lines` },
  { in: 'flags', given: ['failFast'], when: (f) => f.onError !== undefined && f.onError !== 'stop', message: (f) => `--fail-fast is --on-error stop; not with --on-error ${f.onError}` },
];

/** What the encrypt rows read. `fields` is --fields; `paths` what is encrypted (from --fields or the rules file). */
export interface EncryptCheck extends LineFlags, Facts {
  format: string;
  alg?: string;
  armor?: boolean;
  aad?: string;
  randomKey?: boolean;
  wrap?: string;
  recipient?: string[];
  recipientsFile?: string[];
  kid?: string;
  apu?: string;
  apv?: string;
  fields?: string;
  paths?: unknown[];
  inputType?: string;
  allowMissing?: boolean;
  macOnlyEncrypted?: boolean;
  nonceBytes?: string;
  valueFormat?: string;
  output?: string;
  keyEnv?: string;
  keyFile?: string;
  keyring?: string;
  keyUri?: string;
  prompt?: boolean;
  ini?: string;
  keyCmd?: string;
}

const jwe = (f: { format: string }) => f.format === 'jwe' || f.format === 'jwe-json';
const STREAM_ALGS = ['A128GCM', 'A256GCM'];

/**
 * encrypt. Modes: `age` (--format age), `age-recipients` (its -r/-R read),
 * `flags` (every other format), `fields` (once what is encrypted is known),
 * `stream`, `fields-recipients` (--fields with -r/-R or -i; `new-document`
 * when the document has no recipients yet), `payload`
 * (json, raw, jwe, jwe-json), `random-key`, `recipient` (JWE to public keys)
 * and `recipients` (once read), `key-uri` (an HSM key), `binary-out` (stream
 * and age output about to be written).
 */
export const ENCRYPT: readonly Row<EncryptCheck>[] = [
  {
    in: 'age',
    given: ['alg', 'aad', 'randomKey', 'wrap', 'kid', 'fields', 'lines', 'inputType', 'valueFormat', 'nonceBytes', 'macOnlyEncrypted', 'allowMissing', 'apu', 'apv', 'keyEnv', 'keyFile', 'keyring', 'keyUri', 'prompt', 'ini', 'keyCmd'],
    message: '--format age takes -r, -R, --armor and the passphrase flags (age has no --aad, --alg, --fields, --lines or symmetric keys)',
  },
  { in: 'age-recipients', given: ['passphraseFlag'], when: (f) => f.recipients! > 0, message: 'an age file is encrypted to recipients (-r/-R) or to a passphrase, not both (age refuses to mix them)' },
  { in: 'age-recipients', when: (f) => !f.passphraseFlag && f.recipients === 0, message: '--format age needs -r RECIPIENT, -R FILE or a passphrase (--passphrase, --passphrase-env, --passphrase-file)' },
  { in: 'flags', given: ['armor'], when: (f) => f.format !== 'stream', message: '--armor needs --format stream or age' },
  { in: 'flags', given: ['allowMissing'], when: (f) => f.fields === undefined, message: '--allow-missing needs --fields' },
  { in: 'flags', given: ['inputType'], when: (f) => f.fields === undefined, message: '--input-type needs --fields' },
  { in: 'flags', given: ['macOnlyEncrypted'], when: (f) => f.fields === undefined, message: '--mac-only-encrypted needs --fields' },
  { in: 'flags', given: ['valueFormat'], when: (f) => f.fields === undefined, message: '--value-format needs --fields' },
  ...LINES,
  { in: 'fields', given: ['paths'], when: (f) => f.format !== 'json', message: '--fields writes the JSON document itself; drop --format' },
  { in: 'fields', given: ['lines'], when: (f) => f.format === 'stream', message: '--lines and --format stream exclude each other' },
  { in: 'stream', given: ['aad', 'randomKey', 'wrap', 'recipient', 'recipientsFile', 'kid', 'apu', 'apv'], message: '--format stream takes none of --aad, --random-key, --wrap, --recipient, --recipients-file, --kid' },
  { in: 'stream', given: ['alg'], when: (f) => !STREAM_ALGS.includes(f.alg!), message: (f) => `--format stream uses A128GCM or A256GCM, not ${f.alg}` },
  { in: 'binary-out', when: (f) => !f.armor && f.output === undefined && Boolean(f.tty), message: 'refusing to output binary to the terminal; use -o FILE, --armor or redirect (-o - forces it)' },
  { in: 'fields-recipients', given: ['keyFlag'], message: '-r/-R are the keys of the document: drop the symmetric key flags' },
  { in: 'fields-recipients', given: ['aad', 'randomKey', 'wrap', 'kid', 'lines', 'valueFormat'], message: '--fields with -r takes none of --aad, --random-key, --wrap, --kid, --lines, --value-format' },
  { in: 'new-document', when: (f) => f.recipients === 0, message: '-r/-R name no recipient' },
  { in: 'payload', given: ['wrap', 'recipient', 'recipientsFile', 'kid', 'apu', 'apv'], when: (f) => !jwe(f), message: '--wrap, --recipient, --recipients-file, --kid, --apu and --apv need --format jwe or jwe-json' },
  { in: 'random-key', given: ['keyFlag', 'recipient', 'recipientsFile'], message: '--random-key makes its own key; drop the key flags' },
  { in: 'random-key', when: (f) => f.format !== 'json', message: '--random-key needs --format json, which can carry the key' },
  { in: 'recipient', given: ['keyFlag'], message: '--recipient is the key; drop the other key flags' },
  { in: 'recipient', given: ['wrap'], when: (f) => !f.wrap!.startsWith('RSA-OAEP') && !f.wrap!.startsWith('ECDH-ES'), message: (f) => `--recipient needs --wrap RSA-OAEP, RSA-OAEP-256 or ECDH-ES…, not ${f.wrap}` },
  { in: 'recipients', when: (f) => f.recipients! > 1 && f.format === 'jwe', message: (f) => `a compact JWE holds one recipient, and ${f.recipients} were given; use --format jwe-json (general JSON)` },
  { in: 'key-uri', when: (f) => !jwe(f), message: '--key-uri writes a JWE: use --format jwe or jwe-json' },
  { in: 'key-uri', given: ['paths', 'lines'], message: '--key-uri encrypts whole messages: not with --fields or --lines' },
];

/** What the decrypt rows read. */
export interface DecryptCheck extends LineFlags, Facts {
  format: string;
  embeddedKey?: boolean;
  aad?: string;
  allowAlg?: string;
  fields?: string;
  allowPlaintext?: boolean;
  allowMissing?: boolean;
  allowLegacy?: boolean;
  extract?: string;
  valueFormat?: string;
}

/** decrypt. Modes: `flags`, then what the input's first bytes are: `age` or `stream`. */
export const DECRYPT: readonly Row<DecryptCheck>[] = [
  { in: 'flags', given: ['embeddedKey'], when: (f) => Boolean(f.keyFlag), message: '--embedded-key takes the key from the envelope; drop the key flags' },
  { in: 'flags', given: ['allowPlaintext', 'allowMissing'], when: (f) => f.fields === undefined, message: '--allow-plaintext and --allow-missing need --fields' },
  { in: 'flags', given: ['valueFormat'], when: (f) => f.fields === undefined, message: '--value-format needs --fields: origin values carry no marker, so the paths say where they are' },
  ...LINES,
  { in: 'flags', given: ['extract'], when: (f) => Boolean(f.lines) || f.format === 'stream', message: '--extract reads one document; not with --lines or --format stream' },
  { in: 'flags', given: ['lines'], when: (f) => Boolean(f.ageIdentity) || f.format === 'age', message: 'age files are read whole: not with --lines' },
  { in: 'flags', given: ['lines'], when: (f) => f.format === 'stream', message: '--lines and --format stream exclude each other' },
  { in: 'age', given: ['embeddedKey', 'aad', 'allowAlg', 'fields', 'extract', 'allowLegacy', 'valueFormat'], message: 'an age file takes none of --embedded-key, --aad, --allow-alg, --fields, --extract, --allow-legacy, --value-format' },
  { in: 'stream', given: ['embeddedKey', 'aad', 'allowAlg'], message: 'a stream takes none of --embedded-key, --aad, --allow-alg' },
];

/** What the verify rows read. `key` is false with --no-key; `files` the inputs named; `format` the input's, once detected. */
export interface VerifyCheck extends Facts {
  key: boolean;
  keyCheck?: boolean;
  expectKid?: string;
  embeddedKey?: boolean;
  files: readonly string[];
  format?: string;
}

/** verify. Modes: `flags`, then `key-check` or `inputs`; per input, `stream` or `whole` (read whole, its format detected). */
export const VERIFY: readonly Row<VerifyCheck>[] = [
  { in: 'flags', given: ['expectKid'], when: (f) => !f.keyCheck, message: '--expect-kid needs --key-check' },
  { in: 'key-check', when: (f) => f.files.length > 0, message: '--key-check takes no files' },
  { in: 'key-check', when: (f) => !f.key, message: '--key-check and --no-key exclude each other' },
  { in: 'inputs', given: ['keyFlag', 'ageIdentity'], when: (f) => !f.key, message: '--no-key takes no key flags' },
  { in: 'inputs', given: ['embeddedKey'], when: (f) => Boolean(f.keyFlag || f.ageIdentity || !f.key || f.keyCheck), message: '--embedded-key takes the key from the envelope: drop the key flags, --no-key and --key-check' },
  { in: 'inputs', when: (f) => f.files.filter((x) => x === '-').length > 1, message: 'stdin (-) can be read only once' },
  { in: 'stream', given: ['embeddedKey'], message: '--embedded-key needs a JSON envelope (made by encrypt --random-key), not a stream' },
  { in: 'whole', given: ['embeddedKey'], when: (f) => f.format !== 'json', message: '--embedded-key needs a JSON envelope (made by encrypt --random-key)' },
];
