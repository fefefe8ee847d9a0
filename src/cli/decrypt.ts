import { Option, type Command } from 'commander';
import { KeyError, UsageError } from '../errors.js';
import { MAX_ENCODED_BYTES, readAllOf } from '../io/input.js';
import { Source } from '../io/source.js';
import { FormatError } from '../errors.js';
import { checkOutput } from '../io/output.js';
import { decrypt, inputKid, lineFastPath, type DecryptFormat, type Keys } from '../ops/index.js';
import { lineWorkerCount } from '../io/lineWorkers.js';
import { usesKeyCommand } from '../keys/resolve.js';
import { addKeyOptions, inputTypeOf, algOption, allowAlgOption, asAlg, emit, hasKeyFlag, parseAllowAlg, resolveCliKeys, terminalHint, type KeyFlags } from './common.js';
import { decryptStreamCli, streamKeyFor, streamKind } from './stream.js';
import { ON_ERROR, onErrorOf, runLines } from './lines.js';
import { parsePaths } from '../formats/fields/paths.js';
import { extractValue } from '../formats/fields/extract.js';
import { loadYaml, loadYamlFor, yamlToJson } from '../formats/fields/yamlfields.js';
import { KdfBudget } from '../crypto/kdf.js';
import type { Ui } from './ui.js';
import { withHelp } from './help.js';
import { addAgeIdentityOptions, ageKind, decryptAgeCli, hasAgeIdentity, type AgeIdentityFlags } from './age.js';
import { nonceBytesOf, nonceBytesOption } from './nonce.js';
import { originWarning } from '../formats/fields/origin.js';
import { assertTerminalText } from '../io/ttyText.js';
import { isTerminal } from './terminal.js';
import { keyLengthHint, originHexKeyWarning, valueFormatOption } from './valueFormat.js';
import { openRecipientInput, overlayPending, pendingWarning } from './recipients.js';
import { rejoin } from '../ops/recipients.js';
import type { ValueFormat } from '../ops/index.js';

interface DecryptFlags extends KeyFlags, AgeIdentityFlags {
  output?: string;
  alg?: string;
  format: DecryptFormat | 'stream' | 'age';
  aad?: string;
  embeddedKey?: boolean;
  force?: boolean;
  allowAlg?: string;
  fields?: string;
  lines?: boolean;
  failFast?: boolean;
  onError?: string;
  allowLegacy?: boolean;
  allowPlaintext?: boolean;
  allowMissing?: boolean;
  extract?: string;
  nonceBytes?: string;
  valueFormat?: ValueFormat;
}

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
  addKeyOptions(cmd).action(async (file: string | undefined, o: DecryptFlags) => {
    let key: Keys | undefined;
    let noKey: KeyError | undefined;
    const resolve = async (kidHint?: string) => {
      try {
        key = await resolveCliKeys(kidHint !== undefined ? { ...o, kidHint } : o, ui);
      } catch (e) {
        // No key anywhere: still read the input, so that an envelope carrying
        // its own key gets the more useful --embedded-key message.
        if (!(e instanceof KeyError && e.code === 'ERR_KEY_MISSING' && !hasKeyFlag(o))) throw e;
        noKey = e;
      }
    };
    // A key command learns the input's kid (AES_PAYLOAD_KID), so it runs once the input is read.
    const late = !o.embeddedKey && !o.lines && o.format !== 'stream' && usesKeyCommand(o, process.env);
    if (o.embeddedKey) {
      if (hasKeyFlag(o)) throw new UsageError('--embedded-key takes the key from the envelope; drop the key flags');
    } else if (!late) {
      await resolve();
    }
    checkOutput(file, o.output, Boolean(o.force));
    terminalHint(file, ui);
    const src = Source.open(file);
    const alg = asAlg(o.alg);
    const fields = o.fields !== undefined ? parsePaths(o.fields) : undefined;
    const opts = {
      ...(alg ? { alg } : {}),
      ...(o.aad !== undefined ? { aad: o.aad } : {}),
      format: o.format as DecryptFormat,
      embeddedKey: Boolean(o.embeddedKey),
      ...parseAllowAlg(o.allowAlg),
      ...(fields ? { fields } : {}),
      allowLegacy: Boolean(o.allowLegacy),
      allowPlaintext: Boolean(o.allowPlaintext),
      allowMissing: Boolean(o.allowMissing),
      kdfBudget: KdfBudget.fromEnv(process.env),
      ...nonceBytesOf(o.nonceBytes),
      ...(o.valueFormat ? { valueFormat: o.valueFormat } : {}),
    };
    if ((o.allowPlaintext || o.allowMissing) && !fields) throw new UsageError('--allow-plaintext and --allow-missing need --fields');
    if (o.valueFormat !== undefined && !fields) throw new UsageError('--value-format needs --fields: origin values carry no marker, so the paths say where they are');
    const onError = onErrorOf(o);
    if (o.extract !== undefined && (o.lines || o.format === 'stream')) throw new UsageError('--extract reads one document; not with --lines or --format stream');
    // With no key anywhere, inputs are still read: JSON that holds nothing
    // encrypted says so (exit 4), and the rest gets the no-key message.
    const origin = o.valueFormat === 'origin';
    let hexNoted = false;
    const open = (input: Buffer) => {
      const hexDigits = (key as { hexDigits?: number } | undefined)?.hexDigits;
      if (origin && !hexNoted) {
        hexNoted = true;
        const note = originHexKeyWarning(hexDigits);
        if (note) ui.warn(note);
      }
      try {
        return decrypt(input, key, opts);
      } catch (e) {
        throw noKey && e instanceof KeyError ? noKey : keyLengthHint(e, hexDigits, origin);
      }
    };
    // Plaintext for a terminal must be printable text (src/io/ttyText.ts); -o - forces it.
    const toTty = o.output === undefined && isTerminal(1);
    let warned = false;
    const originNote = (alg: Parameters<typeof originWarning>[0] | undefined) => {
      if (o.valueFormat === 'origin' && alg && !warned) ui.warn(originWarning(alg));
      warned = true;
    };
    if (o.lines && (hasAgeIdentity(o) || o.format === 'age')) throw new UsageError('age files are read whole: not with --lines');
    if (o.lines) {
      if (o.format === 'stream') throw new UsageError('--lines and --format stream exclude each other');
      const spec = key && !toTty ? lineFastPath('open', key, opts) : undefined;
      await runLines(src, { ...o, onError }, (line) => {
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
      if (o.embeddedKey || o.aad !== undefined || o.allowAlg !== undefined || fields || o.extract !== undefined || o.allowLegacy || o.valueFormat !== undefined) {
        src.close();
        throw new UsageError('an age file takes none of --embedded-key, --aad, --allow-alg, --fields, --extract, --allow-legacy, --value-format');
      }
      await decryptAgeCli(src, age, o, o, ui, key?.passphrase);
      return;
    }
    const kind = o.format === 'auto' || o.format === 'stream' ? streamKind(src) : undefined;
    if (o.format === 'stream' && !kind) {
      src.close();
      throw new FormatError('input is not an aes-payload stream', 'ERR_STREAM');
    }
    if (kind) {
      if (o.embeddedKey || o.aad !== undefined || o.allowAlg !== undefined) {
        src.close();
        throw new UsageError('a stream takes none of --embedded-key, --aad, --allow-alg');
      }
      if (late) await resolve();
      if (!key) {
        src.close();
        throw noKey ?? new KeyError('no key given', 'ERR_KEY_MISSING');
      }
      await decryptStreamCli(src, kind, streamKeyFor(key), o, ui);
      return;
    }
    const input = readAllOf(src, MAX_ENCODED_BYTES, 'none');
    // A field document encrypted to age recipients: its data key from -i/--identity-env (src/cli/recipients.ts).
    const rd = await openRecipientInput(input.data.toString('utf8'), o, ui, false, true);
    if (rd?.pending.length && fields) throw new UsageError('the document has pending values; decrypt it whole, or fold them in first (recipients seal)');
    if (rd) {
      input.data = Buffer.from(rd.rest, 'utf8');
      key = { secret: rd.key! };
      noKey = undefined;
    } else if (hasAgeIdentity(o)) {
      throw new FormatError('input is not an age file or a field document encrypted to age recipients (-i and --identity-env read those)', 'ERR_AGE_HEADER');
    }
    await loadYamlFor(input.data, file, o.format);
    if (late && !rd) {
      await resolve(inputKid(input.data));
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
        // The document's own type, else what the file name (without .aesp/.enc) says, as for encrypt.
        const type = res.format === 'env' || res.format === 'yaml' ? res.format : inputTypeOf(file?.replace(/\.(aesp|enc)$/, ''), undefined);
        let pt = res.plaintext.toString('utf8');
        if (type === 'yaml') {
          await loadYaml();
          pt = yamlToJson(pt, 'the plaintext');
        }
        const value = extractValue(pt, o.extract, type === 'env' ? 'env' : 'json');
        if (toTty) assertTerminalText(Buffer.from(value));
        emit(value, { output: o.output, force: o.force, mode: 0o600 });
        return;
      }
      // Some tokens left (--fields): still a recipient document, so its recipients header goes back.
      const out = rd && fields && res.plaintext.includes('aesp:2:doc:') ? Buffer.from(rejoin(rd, res.plaintext.toString('utf8')), 'utf8') : res.plaintext;
      if (toTty) assertTerminalText(out);
      emit(out, { output: o.output, force: o.force, mode: 0o600 });
    } finally {
      res.plaintext.fill(0);
    }
    if (res.fields !== undefined) ui.line(`decrypted ${res.fields} field${res.fields === 1 ? '' : 's'}`);
  });
}
