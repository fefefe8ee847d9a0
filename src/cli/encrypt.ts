import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { specOf } from '../crypto/aead.js';
import { defaultAlgForKeyLength } from '../crypto/algs.js';
import { KeyError, UsageError, ioError } from '../errors.js';
import { MAX_PAYLOAD_BYTES, readAllOf } from '../io/input.js';
import { Source } from '../io/source.js';
import { checkOutput } from '../io/output.js';
import { JWE_WRAPS, type JweWrap } from '../formats/jwe/jwe.js';
import { publicOf } from '../keys/structured.js';
import { readRecipient, readRecipients } from '../keys/recipients.js';
import { encrypt, generateKey, lineFastPath, type EncryptFormat, type Keys } from '../ops/index.js';
import { lineWorkerCount } from '../io/lineWorkers.js';
import { addKeyOptions, algOption, asAlg, emit, hasKeyFlag, resolveCliKeys, terminalHint, inputTypeOption, inputTypeOf, type KeyFlags } from './common.js';
import { encryptStreamCli, streamKey } from './stream.js';
import { ON_ERROR, onErrorOf, runLines } from './lines.js';
import { parsePaths } from '../formats/fields/paths.js';
import type { InputType, ValueFormat } from '../ops/index.js';
import { loadYaml } from '../formats/fields/yamlfields.js';
import type { Ui } from './ui.js';
import { isTerminal } from './terminal.js';
import { withHelp } from './help.js';
import { ageRecipients, encryptAgeCli } from './age.js';
import { nonceBytesOf, nonceBytesOption } from './nonce.js';
import { originWarning } from '../formats/fields/origin.js';
import { keyLengthHint, originHexKeyWarning, valueFormatOption } from './valueFormat.js';
import { writerRulesKey, rulesFor } from '../rules/rules.js';
import { rulePaths } from '../rules/fields.js';
import { readText } from '../formats/common/utf8.js';
import { encryptFieldsToRecipients } from './recipientsEncrypt.js';
import { encryptByRules } from './recipientsRules.js';
import { addAgeIdentityOptions, hasAgeIdentity, type AgeIdentityFlags } from './age.js';

interface EncryptFlags extends KeyFlags, AgeIdentityFlags {
  output?: string;
  alg?: string;
  format: EncryptFormat | 'stream' | 'age';
  armor?: boolean;
  aad?: string;
  randomKey?: boolean;
  force?: boolean;
  wrap?: JweWrap;
  recipient?: string[];
  recipientsFile?: string[];
  kid?: string;
  apu?: string;
  apv?: string;
  fields?: string;
  inputType?: InputType;
  allowMissing?: boolean;
  lines?: boolean;
  failFast?: boolean;
  onError?: string;
  macOnlyEncrypted?: boolean;
  nonceBytes?: string;
  valueFormat?: ValueFormat;
  config?: string;
}

export function registerEncrypt(program: Command, ui: Ui): void {
  const cmd = program
    .command('encrypt')
    .description('encrypt FILE (or stdin) into a JSON envelope, raw base64 or JWE')
    .argument('[FILE]', 'input file, or - for stdin (default)')
    .option('-o, --output <FILE>', 'write to FILE atomically instead of stdout')
    .option('--force', 'overwrite an existing output file')
    .addOption(algOption('content algorithm, JWE "enc" (default: the AES-GCM variant of the key size)'))
    .addOption(new Option('--format <FORMAT>', 'output format').choices(['json', 'raw', 'jwe', 'jwe-json', 'stream', 'age']).default('json'))
    .option('--armor', 'with --format stream or age: write text-safe base64 between BEGIN/END lines')
    .addOption(nonceBytesOption('write'))
    .addOption(new Option('--wrap <KEYALG>', 'JWE key management "alg" (default: dir; with --recipient RSA-OAEP-256 for an RSA key, ECDH-ES+A256KW for an EC or X25519 key; PBES2 with a passphrase)').choices(JWE_WRAPS as readonly string[] as string[]))
    .option('-r, --recipient <PUBKEY>', 'JWE: encrypt to this public key, RSA, EC (P-256/384/521) or X25519 (PEM or JWK file); age and --fields: to this age1… recipient; repeat for several', (v: string, prev: string[] = []) => [...prev, v])
    .option('-R, --recipients-file <FILE>', 'JWE: encrypt to every public key in FILE (a JWK Set, PEM blocks, or one JWK per line); age: every age1… line of FILE; repeatable', (v: string, prev: string[] = []) => [...prev, v])
    .option('--apu <B64URL>', 'JWE ECDH-ES: Agreement PartyUInfo (base64url), written as "apu"')
    .option('--apv <B64URL>', 'JWE ECDH-ES: Agreement PartyVInfo (base64url), written as "apv"')
    .option('--kid <KID>', 'JWE: the "kid" to write (default: the key\'s kid or RFC 7638 thumbprint)')
    .option('--aad <TEXT>', 'additional authenticated data (not secret; recorded in the envelope)')
    .option('--random-key', "write the origin service's {data,key,mac,nonce}: a fresh random key inside the output, which is NOT secret")
    .option('--fields <PATHS>', 'encrypt only these values of a JSON document, in place (see README, "Field paths")')
    .addOption(inputTypeOption())
    .addOption(valueFormatOption('write'))
    .option('--allow-missing', 'with --fields: a path that matches nothing is not an error')
    .option('--mac-only-encrypted', 'with --fields: the document MAC covers the encrypted values only, so plaintext values may be edited (and are not authenticated)')
    .option('--lines', 'each input line is its own payload (NDJSON); one output line per input line')
    .addOption(new Option('--on-error <WHAT>', 'with --lines, a bad line is reported on stderr and then: skipped (default), stops the run, or replaced by {"aesp_error":{"line":N,"code":…}}').choices([...ON_ERROR]))
    .option('--fail-fast', 'with --lines: the same as --on-error stop')
    .option('--config <FILE>', 'the rules file (default: .aes-payload.yaml found from FILE up to the repository root; env AES_PAYLOAD_CONFIG)');
  withHelp(cmd, [
    "echo '{\"card\":\"4111 1111 1111 1111\"}' | aes-payload encrypt > card.json",
    "aes-payload encrypt --fields '**.password' config.json > config.enc.json",
    "aes-payload encrypt --fields '*_PASSWORD,API_TOKEN' .env -o .env.aesp",
    "aes-payload encrypt --format stream dump.sql -o dump.sql.aesp",
    "aes-payload encrypt --format jwe --recipient service.pem.pub msg.json > msg.jwe",
    "aes-payload encrypt --format age -r age1… -R team.txt backup.tar -o backup.tar.age",
    "aes-payload encrypt --fields 'DB_*' -r age1… -r age1… .env -o .env.aesp",
    "echo API_TOKEN=… >> .env.aesp; aes-payload encrypt --fields API_TOKEN -r age1… -r age1… .env.aesp -o new.aesp && mv new.aesp .env.aesp   # public keys only: a pending value",
  ]);
  addAgeIdentityOptions(cmd);
  addKeyOptions(cmd).action(async (file: string | undefined, o: EncryptFlags, self: Command) => {
    const alg = asAlg(o.alg);
    const jwe = o.format === 'jwe' || o.format === 'jwe-json';
    const recipientFlags = o.recipient !== undefined || o.recipientsFile !== undefined;
    if (o.format === 'age') {
      const other = ['alg', 'aad', 'randomKey', 'wrap', 'kid', 'fields', 'lines', 'inputType', 'valueFormat', 'nonceBytes', 'macOnlyEncrypted', 'allowMissing', 'apu', 'apv'].filter((k) => self.getOptionValueSource(k) === 'cli');
      if (other.length || o.keyEnv !== undefined || o.keyFile !== undefined || o.keyring !== undefined || o.keyUri !== undefined || o.prompt || o.ini !== undefined || o.keyCmd !== undefined) {
        throw new UsageError('--format age takes -r, -R, --armor and the passphrase flags (age has no --aad, --alg, --fields, --lines or symmetric keys)');
      }
      const recipients = await ageRecipients(o, ui);
      checkOutput(file, o.output, Boolean(o.force));
      if (!o.armor && o.output === undefined && isTerminal(1)) {
        throw new UsageError('refusing to output binary to the terminal; use -o FILE, --armor or redirect (-o - forces it)');
      }
      terminalHint(file, ui);
      await encryptAgeCli(Source.open(file), recipients, o, ui);
      return;
    }
    if (o.armor && o.format !== 'stream') throw new UsageError('--armor needs --format stream or age');
    if (o.allowMissing && o.fields === undefined) throw new UsageError('--allow-missing needs --fields');
    if (o.inputType !== undefined && o.fields === undefined) throw new UsageError('--input-type needs --fields');
    if (o.macOnlyEncrypted && o.fields === undefined) throw new UsageError('--mac-only-encrypted needs --fields');
    if (o.valueFormat !== undefined && o.fields === undefined) throw new UsageError('--value-format needs --fields');
    const onError = onErrorOf(o);
    // The rules file (.aes-payload.yaml) says which values of FILE to encrypt, when no --fields or --format does.
    const match = o.fields === undefined && !o.lines && !o.randomKey && self.getOptionValueSource('format') === 'default' ? await rulesFor(file, o.config) : undefined;
    // A rule naming recipients, -r/-R, or a document encrypted to them (src/cli/recipientsRules.ts).
    if (match && (await encryptByRules(file!, match, o, ui))) return;
    if (match) Object.assign(o, (await writerRulesKey(match, o, (m) => ui.warn(m))) ?? {});
    const fields = o.fields !== undefined ? parsePaths(o.fields) : match ? [...(match.rule.fields ?? [])] : undefined;
    if (fields && (o.format !== 'json' || jwe)) throw new UsageError('--fields writes the JSON document itself; drop --format');
    if (o.lines && o.format === 'stream') throw new UsageError('--lines and --format stream exclude each other');
    if (o.format === 'stream') {
      if (o.aad !== undefined || o.randomKey || o.wrap || recipientFlags || o.kid !== undefined || o.apu !== undefined || o.apv !== undefined) {
        throw new UsageError('--format stream takes none of --aad, --random-key, --wrap, --recipient, --recipients-file, --kid');
      }
      if (alg && alg !== 'A128GCM' && alg !== 'A256GCM') throw new UsageError(`--format stream uses A128GCM or A256GCM, not ${alg}`);
      const key = streamKey(await resolveCliKeys(o, ui));
      if (alg && key.length !== (alg === 'A128GCM' ? 16 : 32)) {
        throw new KeyError(`key is ${key.length} bytes but ${alg} needs ${alg === 'A128GCM' ? 16 : 32} bytes`, 'ERR_KEY_LENGTH');
      }
      checkOutput(file, o.output, Boolean(o.force));
      if (!o.armor && o.output === undefined && isTerminal(1)) {
        throw new UsageError('refusing to output binary to the terminal; use -o FILE, --armor or redirect (-o - forces it)');
      }
      terminalHint(file, ui);
      await encryptStreamCli(Source.open(file), key, o, ui);
      return;
    }
    if (fields && !jwe && (recipientFlags || hasAgeIdentity(o))) {
      await encryptFieldsToRecipients(file, fields, o, ui);
      return;
    }
    if (!jwe && (o.wrap || recipientFlags || o.kid !== undefined || o.apu !== undefined || o.apv !== undefined)) {
      throw new UsageError('--wrap, --recipient, --recipients-file, --kid, --apu and --apv need --format jwe or jwe-json');
    }
    const party = partyInfoOf(o);
    let keys: Keys;
    let hexDigits: number | undefined;
    if (o.randomKey) {
      if (hasKeyFlag(o) || recipientFlags) throw new UsageError('--random-key makes its own key; drop the key flags');
      if (o.format !== 'json') throw new UsageError('--random-key needs --format json, which can carry the key');
      keys = { secret: generateKey(alg ?? 'A256GCM').key };
    } else if (recipientFlags) {
      if (hasKeyFlag(o)) throw new UsageError('--recipient is the key; drop the other key flags');
      if (o.wrap && !o.wrap.startsWith('RSA-OAEP') && !o.wrap.startsWith('ECDH-ES')) throw new UsageError(`--recipient needs --wrap RSA-OAEP, RSA-OAEP-256 or ECDH-ES…, not ${o.wrap}`);
      const all = [...(o.recipient ?? []).map(readRecipient), ...(o.recipientsFile ?? []).flatMap(readRecipients)];
      if (all.length > 1 && o.format === 'jwe') throw new UsageError(`a compact JWE holds one recipient, and ${all.length} were given; use --format jwe-json (general JSON)`);
      keys = all.length === 1 ? { rsa: all[0]! } : { recipients: all };
    } else {
      if (o.keyUri !== undefined) {
        // An HSM key wraps a fresh content key per message: the output is a JWE (compact by default).
        if (self.getOptionValueSource('format') === 'default') o.format = 'jwe';
        if (o.format !== 'jwe' && o.format !== 'jwe-json') throw new UsageError('--key-uri writes a JWE: use --format jwe or jwe-json');
        if (fields || o.lines) throw new UsageError('--key-uri encrypts whole messages: not with --fields or --lines');
      }
      const r = await resolveCliKeys(o, ui, true);
      hexDigits = r.hexDigits;
      keys = { ...(r.kek ? { kek: r.kek } : {}), ...(r.secret ? { secret: r.secret } : {}), ...(r.rsa ? { rsa: publicOf(r.rsa) } : {}), ...(r.passphrase ? { passphrase: r.passphrase } : {}) };
    }
    const origin = o.valueFormat === 'origin';
    const hexNote = origin ? originHexKeyWarning(hexDigits) : undefined;
    if (hexNote) ui.warn(hexNote);
    const seal = (input: Buffer, k: Keys, op: typeof opts) => {
      try {
        return encrypt(input, k, op);
      } catch (e) {
        throw keyLengthHint(e, hexDigits, origin);
      }
    };
    checkOutput(file, o.output, Boolean(o.force));
    terminalHint(file, ui);
    const inputType = inputTypeOf(file, o.inputType ?? match?.rule.type);
    if (fields && inputType === 'yaml') await loadYaml();
    const opts = {
      ...(alg ? { alg } : {}),
      ...(o.aad !== undefined ? { aad: o.aad } : {}),
      ...(o.wrap ? { wrap: o.wrap } : {}),
      ...(o.kid !== undefined ? { kid: o.kid } : {}),
      ...party,
      ...(fields ? { fields, allowMissing: Boolean(o.allowMissing) || match !== undefined, macOnlyEncrypted: Boolean(o.macOnlyEncrypted), inputType } : {}),
      format: o.format as EncryptFormat,
      embedKey: Boolean(o.randomKey),
      ...nonceBytesOf(o.nonceBytes),
      ...(o.valueFormat ? { valueFormat: o.valueFormat } : {}),
    };
    if (o.lines) {
      if (o.valueFormat === 'origin') ui.warn(originWarning(alg ?? defaultAlgForKeyLength(keys.secret?.length ?? 0) ?? 'A256GCM'));
      let encrypted = 0;
      const notes = new Set<string>();
      const spec = lineFastPath('seal', keys, opts);
      await runLines(Source.open(file), { ...o, onError }, (line) => {
        const r = seal(line, keys, opts);
        encrypted += r.fields?.encrypted ?? 0;
        for (const n of r.notes ?? []) if (!notes.has(n) && notes.size < 10) notes.add(n) && ui.warn(n);
        return r.text;
      }, ui, o.randomKey ? 0o600 : 0o666, spec ? { spec, workers: lineWorkerCount(process.env) } : undefined);
      if (fields) ui.line(`encrypted ${encrypted} value${encrypted === 1 ? '' : 's'}`);
      return;
    }
    const input = readAllOf(Source.open(file), MAX_PAYLOAD_BYTES, fields ? 'fields' : 'stream');
    if (match?.rule.fieldsRegex) opts.fields = rulePaths(match.rule, readText(input.data, file), inputType);
    const res = seal(input.data, keys, opts);
    if (o.valueFormat === 'origin') ui.warn(originWarning(res.alg));
    for (const n of res.notes ?? []) ui.warn(n);
    if (!specOf(res.alg).authenticated && o.valueFormat !== 'origin') {
      ui.warn(`${res.alg} is unauthenticated: changes to the ciphertext go undetected; prefer ${res.alg.slice(0, 4)}GCM`);
    }
    if (o.randomKey) ui.warn('--random-key: the key is inside the output, so the output is not secret');
    if (res.fields) {
      // The document itself, edited in place: keep its own final newline (or lack of one).
      emit(res.text, { output: o.output, force: o.force, mode: 0o666 });
      ui.line(`encrypted ${res.fields.encrypted} value${res.fields.encrypted === 1 ? '' : 's'}${res.fields.already ? ` (${res.fields.already} already encrypted)` : ''}, kid ${res.kid}`);
      return;
    }
    emit(`${res.text}\n`, { output: o.output, force: o.force, mode: o.randomKey ? 0o600 : 0o666 });
  });
}

/** `--apu` / `--apv`: base64url, strictly (they go into the header as given). */
function partyInfoOf(o: EncryptFlags): { apu?: Buffer; apv?: Buffer } {
  const out: { apu?: Buffer; apv?: Buffer } = {};
  for (const n of ['apu', 'apv'] as const) {
    const v = o[n];
    if (v === undefined) continue;
    if (v === '' || !/^[A-Za-z0-9_-]+$/.test(v) || v.length % 4 === 1) throw new UsageError(`--${n} takes base64url (for example ${n === 'apu' ? 'QWxpY2U for "Alice"' : 'Qm9i for "Bob"'})`);
    const b = Buffer.from(v, 'base64url');
    if (b.toString('base64url') !== v) throw new UsageError(`--${n} is not canonical base64url`);
    out[n] = b;
  }
  return out;
}
