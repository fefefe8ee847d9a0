/**
 * Which options each format and mode of encrypt, decrypt and verify
 * accepts: the one table the usage errors of option combinations come from
 * (exit 2, one line: `aes-payload: <message> (see aes-payload CMD --help)`).
 *
 * A table holds, for each mode of a command, the rows that refuse options
 * or combinations in that mode. A command's request (src/cli/request.ts) is
 * checked at each point where a mode becomes known: from the flags alone
 * (`flags`), once the rules file and `--fields` have said what is encrypted
 * (`fields`), once the format is chosen (`stream`, `payload`, …), and, for
 * decrypt and verify, once the input's first bytes have said what it is
 * (`age`, `stream`). Rows are checked in order; the first that matches is
 * the error.
 */
import { UsageError } from '../errors.js';
import type { DecryptFlags, EncryptFlags, VerifyFlags } from './request.js';

/** One row: when any of `given` is on the command line (and `when` holds), `message`. */
export interface Row<F> {
  /** Options (or facts) of the request; the row applies when any one is given (not undefined or false). */
  given?: readonly (keyof F & string)[];
  /** A further condition, on the whole request. */
  when?: (f: F) => boolean;
  message: string | ((f: F) => string);
}

type Message<F> = string | ((f: F) => string);
type Names<F> = readonly (keyof F & string)[];

/** In this mode, the `given` options are refused (when `bad` holds). */
const refuse = <F>(given: Names<F>, message: Message<F>, bad?: (f: F) => boolean): Row<F> => ({ given, message, ...(bad ? { when: bad } : {}) });
/** The `given` options need `ok` to hold. */
const needs = <F>(given: Names<F>, ok: (f: NoInfer<F>) => boolean, message: Message<F>): Row<F> => ({ given, when: (f) => !ok(f), message });
/** The request is refused when `bad` holds. */
const rule = <F>(bad: (f: F) => boolean, message: Message<F>): Row<F> => ({ when: bad, message });

/** A command's table: for each mode, its rows, in the order they are checked. */
export type Table<F> = Readonly<Record<string, readonly Row<F>[]>>;

const isGiven = (v: unknown): boolean => v !== undefined && v !== false;

/** Check `f` against the rows of `table` for `mode`: the first row that matches is thrown as a UsageError. */
export function checkUsage<F>(table: Table<F>, mode: string, f: F): void {
  for (const row of table[mode] ?? []) {
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
  needs(['failFast', 'onError'], (f) => Boolean(f.lines), (f) => `${f.failFast ? '--fail-fast' : '--on-error'} needs --lines`),
  refuse(['failFast'], (f) => `--fail-fast is --on-error stop; not with --on-error ${f.onError}`, (f) => f.onError !== undefined && f.onError !== 'stop'),
];

/** What the encrypt rows read: the flags, and `paths`, what is encrypted (from --fields or the rules file). */
export type EncryptCheck = EncryptFlags & Facts & { paths?: unknown[] };

const jwe = (f: { format: string }) => f.format === 'jwe' || f.format === 'jwe-json';
const withFields = (f: { fields?: string }) => f.fields !== undefined;
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
export const ENCRYPT: Table<EncryptCheck> = {
  age: [
    refuse(
      ['alg', 'aad', 'randomKey', 'wrap', 'kid', 'fields', 'lines', 'inputType', 'valueFormat', 'nonceBytes', 'macOnlyEncrypted', 'allowMissing', 'apu', 'apv', 'keyEnv', 'keyFile', 'keyring', 'keyUri', 'prompt', 'ini', 'keyCmd'],
      '--format age takes -r, -R, --armor and the passphrase flags (age has no --aad, --alg, --fields, --lines or symmetric keys)',
    ),
  ],
  'age-recipients': [
    refuse(['passphraseFlag'], 'an age file is encrypted to recipients (-r/-R) or to a passphrase, not both (age refuses to mix them)', (f) => f.recipients! > 0),
    rule((f) => !f.passphraseFlag && f.recipients === 0, '--format age needs -r RECIPIENT, -R FILE or a passphrase (--passphrase, --passphrase-env, --passphrase-file)'),
  ],
  flags: [
    needs(['armor'], (f) => f.format === 'stream', '--armor needs --format stream or age'),
    needs(['allowMissing'], withFields, '--allow-missing needs --fields'),
    needs(['inputType'], withFields, '--input-type needs --fields'),
    needs(['macOnlyEncrypted'], withFields, '--mac-only-encrypted needs --fields'),
    needs(['valueFormat'], withFields, '--value-format needs --fields'),
    ...LINES,
  ],
  fields: [
    needs(['paths'], (f) => f.format === 'json', '--fields writes the JSON document itself; drop --format'),
    refuse(['lines'], '--lines and --format stream exclude each other', (f) => f.format === 'stream'),
  ],
  stream: [
    refuse(['aad', 'randomKey', 'wrap', 'recipient', 'recipientsFile', 'kid', 'apu', 'apv'], '--format stream takes none of --aad, --random-key, --wrap, --recipient, --recipients-file, --kid'),
    needs(['alg'], (f) => STREAM_ALGS.includes(f.alg!), (f) => `--format stream uses A128GCM or A256GCM, not ${f.alg}`),
  ],
  'binary-out': [rule((f) => !f.armor && f.output === undefined && Boolean(f.tty), 'refusing to output binary to the terminal; use -o FILE, --armor or redirect (-o - forces it)')],
  'fields-recipients': [
    refuse(['keyFlag'], '-r/-R are the keys of the document: drop the symmetric key flags'),
    refuse(['aad', 'randomKey', 'wrap', 'kid', 'lines', 'valueFormat'], '--fields with -r takes none of --aad, --random-key, --wrap, --kid, --lines, --value-format'),
  ],
  'new-document': [rule((f) => f.recipients === 0, '-r/-R name no recipient')],
  payload: [needs(['wrap', 'recipient', 'recipientsFile', 'kid', 'apu', 'apv'], jwe, '--wrap, --recipient, --recipients-file, --kid, --apu and --apv need --format jwe or jwe-json')],
  'random-key': [
    refuse(['keyFlag', 'recipient', 'recipientsFile'], '--random-key makes its own key; drop the key flags'),
    rule((f) => f.format !== 'json', '--random-key needs --format json, which can carry the key'),
  ],
  recipient: [
    refuse(['keyFlag'], '--recipient is the key; drop the other key flags'),
    needs(['wrap'], (f) => f.wrap!.startsWith('RSA-OAEP') || f.wrap!.startsWith('ECDH-ES'), (f) => `--recipient needs --wrap RSA-OAEP, RSA-OAEP-256 or ECDH-ES…, not ${f.wrap}`),
  ],
  recipients: [rule((f) => f.recipients! > 1 && f.format === 'jwe', (f) => `a compact JWE holds one recipient, and ${f.recipients} were given; use --format jwe-json (general JSON)`)],
  'key-uri': [
    rule((f) => !jwe(f), '--key-uri writes a JWE: use --format jwe or jwe-json'),
    refuse(['paths', 'lines'], '--key-uri encrypts whole messages: not with --fields or --lines'),
  ],
};

/** What the decrypt rows read. */
export type DecryptCheck = DecryptFlags & Facts;

/** decrypt. Modes: `flags`, then what the input's first bytes are: `age` or `stream`. */
export const DECRYPT: Table<DecryptCheck> = {
  flags: [
    refuse(['embeddedKey'], '--embedded-key takes the key from the envelope; drop the key flags', (f) => Boolean(f.keyFlag)),
    needs(['allowPlaintext', 'allowMissing'], withFields, '--allow-plaintext and --allow-missing need --fields'),
    needs(['valueFormat'], withFields, '--value-format needs --fields: origin values carry no marker, so the paths say where they are'),
    ...LINES,
    refuse(['extract'], '--extract reads one document; not with --lines or --format stream', (f) => Boolean(f.lines) || f.format === 'stream'),
    refuse(['lines'], 'age files are read whole: not with --lines', (f) => Boolean(f.ageIdentity) || f.format === 'age'),
    refuse(['lines'], '--lines and --format stream exclude each other', (f) => f.format === 'stream'),
  ],
  age: [refuse(['embeddedKey', 'aad', 'allowAlg', 'fields', 'extract', 'allowLegacy', 'valueFormat'], 'an age file takes none of --embedded-key, --aad, --allow-alg, --fields, --extract, --allow-legacy, --value-format')],
  stream: [refuse(['embeddedKey', 'aad', 'allowAlg'], 'a stream takes none of --embedded-key, --aad, --allow-alg')],
};

/** What the verify rows read: the flags (`key` is false with --no-key; `format`, once detected, the input's), and the inputs named. */
export type VerifyCheck = VerifyFlags & Facts & { files: readonly string[] };

/** verify. Modes: `flags`, then `key-check` or `inputs`; per input, `stream` or `whole` (read whole, its format detected). */
export const VERIFY: Table<VerifyCheck> = {
  flags: [needs(['expectKid'], (f) => Boolean(f.keyCheck), '--expect-kid needs --key-check')],
  'key-check': [
    rule((f) => f.files.length > 0, '--key-check takes no files'),
    rule((f) => !f.key, '--key-check and --no-key exclude each other'),
  ],
  inputs: [
    refuse(['keyFlag', 'ageIdentity'], '--no-key takes no key flags', (f) => !f.key),
    refuse(['embeddedKey'], '--embedded-key takes the key from the envelope: drop the key flags, --no-key and --key-check', (f) => Boolean(f.keyFlag || f.ageIdentity || !f.key || f.keyCheck)),
    rule((f) => f.files.filter((x) => x === '-').length > 1, 'stdin (-) can be read only once'),
  ],
  stream: [refuse(['embeddedKey'], '--embedded-key needs a JSON envelope (made by encrypt --random-key), not a stream')],
  whole: [refuse(['embeddedKey'], '--embedded-key needs a JSON envelope (made by encrypt --random-key)', (f) => f.format !== 'json')],
};

/** What the keygen rows read. `alg` is set in the `age` mode only when given on the command line (it has a default). */
export interface KeygenCheck {
  alg?: string;
  age?: boolean;
  pq?: boolean;
  bits?: string;
  crv?: string;
  format?: string;
  encoding?: string;
  json?: boolean;
  env?: string;
  ini?: string;
  output?: string;
}

const AGE_TAKES_NOT = ['alg', 'bits', 'format', 'encoding', 'json', 'env', 'ini'] as const;
const targets = (f: KeygenCheck) => [f.json && '--json', f.env !== undefined && '--env', f.ini !== undefined && '--ini', f.output !== undefined && '--output'].filter(Boolean);
const needsOutput = rule<KeygenCheck>((f) => f.output === undefined, (f) => `keygen --alg ${f.alg} needs -o FILE (the public key goes to FILE.pub)`);

/** keygen. Modes: `flags`, then the kind of key: `age`, `rsa`, `ec` (ECDH-ES key pairs) or `secret`. */
export const KEYGEN: Table<KeygenCheck> = {
  flags: [needs(['pq'], (f) => Boolean(f.age), '--pq needs --age')],
  age: [refuse([...AGE_TAKES_NOT], (f) => `keygen --age takes -o FILE, --force and --pq only, not --${AGE_TAKES_NOT.find((k) => isGiven(f[k]))}`)],
  rsa: [
    needsOutput,
    refuse(['json', 'env', 'ini'], 'RSA keys are written to files only: use -o FILE'),
    refuse(['encoding'], '--encoding applies to symmetric keys; use --format pem|jwk'),
    refuse(['crv'], '--crv applies to ECDH-ES key pairs (--alg ECDH-ES…); an RSA key takes --bits'),
  ],
  ec: [
    needsOutput,
    refuse(['json', 'env', 'ini'], 'EC key pairs are written to files only: use -o FILE'),
    refuse(['encoding'], '--encoding applies to symmetric keys; use --format pem|jwk'),
    refuse(['bits'], '--bits applies to RSA keys; an EC key takes --crv'),
  ],
  secret: [
    refuse(['crv'], (f) => `--crv applies to ECDH-ES key pairs (--alg ECDH-ES…), not ${f.alg}`),
    refuse(['bits'], (f) => `--bits applies to RSA keys (--alg RSA-OAEP-256 or RSA-OAEP), not ${f.alg}`),
    rule((f) => f.format === 'pem', '--format pem applies to RSA keys; a symmetric key is text (--encoding) or a JWK (--format jwk)'),
    refuse(['encoding'], '--format jwk and --encoding exclude each other (a JWK is base64url inside JSON)', (f) => f.format === 'jwk'),
    refuse(['env', 'ini', 'json'], '--format jwk writes a JWK to stdout or -o FILE; drop --env, --ini and --json', (f) => f.format === 'jwk'),
    rule((f) => targets(f).length > 1, (f) => `choose one of ${targets(f).join(', ')}`),
  ],
};
