import { Option, type Command } from 'commander';
import { FormatError, KeyError, UsageError } from '../errors.js';
import { MAX_ENCODED_BYTES, readAllOf } from '../io/input.js';
import { Source } from '../io/source.js';
import { checkOutput } from '../io/output.js';
import { decrypt, inputKid, lineFastPath, type Alg, type Keys } from '../ops/index.js';
import { extractFrom, loadYamlFor, originWarning } from '../ops/documents.js';
import { lineWorkerCount } from '../io/lineWorkers.js';
import { addKeyOptions, algOption, allowAlgOption, emit, hasKeyFlag, resolveCliKeys, terminalHint } from './common.js';
import { decryptStreamCli, streamKeyFor, streamKind } from './stream.js';
import { ON_ERROR, runLines } from './lines.js';
import type { Ui } from './ui.js';
import { withHelp } from './help.js';
import { addAgeIdentityOptions, ageKind, decryptAgeCli, hasAgeIdentity } from './age.js';
import { nonceBytesOption } from './nonce.js';
import { assertTerminalText } from '../io/ttyText.js';
import { isTerminal } from './terminal.js';
import { keyLengthHint, originHexKeyWarning, valueFormatOption } from './valueFormat.js';
import { openRecipientInput, pendingWarning } from './recipients.js';
import { overlayPending, rejoin } from '../ops/recipients.js';
import { checkDecrypt, decryptRequest, type DecryptFlags, type DecryptRequest } from './request.js';

export function registerDecrypt(program: Command, ui: Ui): void {
  const cmd = program
    .command('decrypt')
    .description('decrypt a JSON envelope, raw base64, a stream, JWE or an age file from FILE (or stdin)')
    .argument('[FILE]', 'input file, or - for stdin (default)')
    .option('-o, --output <FILE>', 'write the plaintext to FILE (mode 0600, atomically) instead of stdout')
    .option('--force', 'overwrite an existing output file')
    .addOption(algOption('expected algorithm (raw input: default is the AES-GCM variant of the key size)'))
    .addOption(new Option('--format <FORMAT>', 'input format').choices(['auto', 'json', 'raw', 'jwe', 'jwe-json', 'stream', 'env', 'yaml', 'age']).default('auto'))
    .addOption(allowAlgOption())
    .addOption(nonceBytesOption('read'))
    .option('--aad <TEXT>', 'additional authenticated data the input must have been sealed with')
    .option('--embedded-key', 'use the key inside the envelope (made by encrypt --random-key)')
    .option('--fields <PATHS>', 'decrypt only the field tokens at these paths (default: every token in the document)')
    .addOption(valueFormatOption('read'))
    .option('--allow-plaintext', 'with --fields: a plaintext value at those paths is not an error')
    .option('--allow-missing', 'with --fields: a path that matches nothing is not an error')
    .option('--allow-legacy', 'read version-1 envelopes and field documents (aes-payload 0.1), and envelopes with no version')
    .option('--extract <PATH>', 'print only the value at PATH (as in --fields; a name in a .env): a string as is, anything else as JSON')
    .option('--lines', 'each input line is its own payload (NDJSON); each output line its plaintext')
    .addOption(new Option('--on-error <WHAT>', 'with --lines, a bad line is reported on stderr and then: skipped (default), stops the run, or replaced by {"aesp_error":{"line":N,"code":…}}').choices([...ON_ERROR]))
    .option('--fail-fast', 'with --lines: the same as --on-error stop');
  addAgeIdentityOptions(cmd);
  withHelp(cmd, [
    "aes-payload decrypt card.json",
    "aes-payload decrypt dump.sql.aesp -o dump.sql",
    "aes-payload decrypt --extract db.password config.enc.json",
    "aes-payload decrypt --lines < records.enc.ndjson > records.ndjson",
    "aes-payload decrypt --key-file service.pem --allow-alg RSA-OAEP-256,A256GCM msg.jwe",
    "aes-payload decrypt -i key.txt backup.tar.age -o backup.tar",
  ]);
  addKeyOptions(cmd).action((file: string | undefined, o: DecryptFlags) => runDecrypt(decryptRequest(file, o), ui));
}

/** The key, resolved once (before the input is read, or after it with a key command, which learns its kid). */
class KeyHolder {
  key: (Keys & { hexDigits?: number }) | undefined;
  noKey: KeyError | undefined;
  constructor(
    private readonly o: DecryptFlags,
    private readonly ui: Ui,
  ) {}

  async resolve(kidHint?: string): Promise<void> {
    try {
      this.key = await resolveCliKeys(kidHint !== undefined ? { ...this.o, kidHint } : this.o, this.ui);
    } catch (e) {
      // No key anywhere: still read the input, so that an envelope carrying
      // its own key gets the more useful --embedded-key message.
      if (!(e instanceof KeyError && e.code === 'ERR_KEY_MISSING' && !hasKeyFlag(this.o))) throw e;
      this.noKey = e;
    }
  }
}

async function runDecrypt(req: DecryptRequest, ui: Ui): Promise<void> {
  const { file, o, opts, late } = req;
  const k = new KeyHolder(o, ui);
  if (!o.embeddedKey && !late) await k.resolve();
  checkOutput(file, o.output, Boolean(o.force));
  terminalHint(file, ui);
  const src = Source.open(file);
  // With no key anywhere, inputs are still read: JSON that holds nothing
  // encrypted says so (exit 4), and the rest gets the no-key message.
  const origin = o.valueFormat === 'origin';
  let hexNoted = false;
  const open = (input: Buffer) => {
    const hexDigits = k.key?.hexDigits;
    if (origin && !hexNoted) {
      hexNoted = true;
      const note = originHexKeyWarning(hexDigits);
      if (note) ui.warn(note);
    }
    try {
      return decrypt(input, k.key, opts);
    } catch (e) {
      throw k.noKey && e instanceof KeyError ? k.noKey : keyLengthHint(e, hexDigits, origin);
    }
  };
  // Plaintext for a terminal must be printable text (src/io/ttyText.ts); -o - forces it.
  const toTty = o.output === undefined && isTerminal(1);
  let warned = false;
  const originNote = (alg: Alg | undefined) => {
    if (origin && alg && !warned) ui.warn(originWarning(alg));
    warned = true;
  };
  if (o.lines) {
    const spec = k.key && !toTty ? lineFastPath('open', k.key, opts) : undefined;
    await runLines(src, { ...o, onError: req.onError }, (line) => {
      const r = open(line);
      originNote(r.alg);
      if (r.plaintext.includes(0x0a)) throw new FormatError('the plaintext has a newline, so it cannot be one output line', 'ERR_LINE');
      if (toTty) assertTerminalText(r.plaintext);
      return r.plaintext;
    }, ui, 0o600, spec ? { spec, workers: lineWorkerCount(process.env) } : undefined);
    return;
  }
  const age = o.format === 'auto' || o.format === 'age' ? ageKind(src) : undefined;
  if (!age && o.format === 'age') {
    src.close();
    throw new FormatError(`input is not an age file${o.format === 'age' ? '' : ' (-i and --identity-env read age files)'}`, 'ERR_AGE_HEADER');
  }
  if (age) {
    try {
      checkDecrypt('age', o);
    } catch (e) {
      src.close();
      throw e;
    }
    await decryptAgeCli(src, age, o, o, ui, k.key?.passphrase);
    return;
  }
  const kind = o.format === 'auto' || o.format === 'stream' ? streamKind(src) : undefined;
  if (o.format === 'stream' && !kind) {
    src.close();
    throw new FormatError('input is not an aes-payload stream', 'ERR_STREAM');
  }
  if (kind) {
    try {
      checkDecrypt('stream', o);
      if (late) await k.resolve();
      if (!k.key) throw k.noKey ?? new KeyError('no key given', 'ERR_KEY_MISSING');
    } catch (e) {
      src.close();
      throw e;
    }
    await decryptStreamCli(src, kind, streamKeyFor(k.key), o, ui);
    return;
  }
  const input = readAllOf(src, MAX_ENCODED_BYTES, 'none');
  // A field document encrypted to age recipients: its data key from -i/--identity-env (src/cli/recipients.ts).
  const rd = await openRecipientInput(input.data.toString('utf8'), o, ui, false, true);
  if (rd?.pending.length && req.paths) throw new UsageError('the document has pending values; decrypt it whole, or fold them in first (recipients seal)');
  if (rd) {
    input.data = Buffer.from(rd.rest, 'utf8');
    k.key = { secret: rd.key! };
    k.noKey = undefined;
  } else if (hasAgeIdentity(o)) {
    throw new FormatError('input is not an age file or a field document encrypted to age recipients (-i and --identity-env read those)', 'ERR_AGE_HEADER');
  }
  await loadYamlFor(input.data, file, o.format);
  if (late && !rd) {
    await k.resolve(inputKid(input.data));
  }
  const res = open(input.data);
  if (rd?.pending.length) {
    // Values written with public keys only: shown, with a warning that nobody's key vouches for them.
    const over = Buffer.from(overlayPending(res.plaintext.toString('utf8'), rd, file ?? 'standard input'), 'utf8');
    res.plaintext.fill(0);
    res.plaintext = over;
    ui.warn(pendingWarning(file ?? 'standard input', rd.pendingNames, rd.replaced));
  }
  originNote(res.alg);
  try {
    if (o.extract !== undefined) {
      const value = await extractFrom(res.plaintext, res.format, file, o.extract);
      if (toTty) assertTerminalText(Buffer.from(value));
      emit(value, { output: o.output, force: o.force, mode: 0o600 });
      return;
    }
    // Some tokens left (--fields): still a recipient document, so its recipients header goes back.
    const out = rd && req.paths && res.plaintext.includes('aesp:2:doc:') ? Buffer.from(rejoin(rd, res.plaintext.toString('utf8')), 'utf8') : res.plaintext;
    if (toTty) assertTerminalText(out);
    emit(out, { output: o.output, force: o.force, mode: 0o600 });
  } finally {
    res.plaintext.fill(0);
  }
  if (res.fields !== undefined) ui.line(`decrypted ${res.fields} field${res.fields === 1 ? '' : 's'}`);
}
