import { Option, type Command } from 'commander';
import { KeyError } from '../errors.js';
import { MAX_PAYLOAD_BYTES, readAllOf } from '../io/input.js';
import { Source } from '../io/source.js';
import { checkOutput } from '../io/output.js';
import { publicOf } from '../keys/structured.js';
import { readRecipient, readRecipients } from '../keys/recipients.js';
import { JWE_WRAPS, algSpec, defaultAlgForKeyLength, encrypt, generateKey, lineFastPath, type Keys } from '../ops/index.js';
import { loadYaml, originWarning, readText } from '../ops/documents.js';
import { lineWorkerCount } from '../io/lineWorkers.js';
import { addKeyOptions, algOption, emit, resolveCliKeys, terminalHint, inputTypeOption, inputTypeOf } from './common.js';
import { encryptStreamCli, streamKey } from './stream.js';
import { ON_ERROR, runLines } from './lines.js';
import type { Ui } from './ui.js';
import { isTerminal } from './terminal.js';
import { withHelp } from './help.js';
import { addAgeIdentityOptions, ageRecipients, encryptAgeCli } from './age.js';
import { nonceBytesOf, nonceBytesOption } from './nonce.js';
import { keyLengthHint, originHexKeyWarning, valueFormatOption } from './valueFormat.js';
import { rulePaths } from '../rules/fields.js';
import { encryptFieldsToRecipients } from './recipientsEncrypt.js';
import { encryptRequest, type EncryptRequest, type PayloadRequest } from './request.js';
import { checkUsage, ENCRYPT } from './usage.js';
import { encryptByRules } from './recipientsRules.js';

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
  addKeyOptions(cmd).action(async (file: string | undefined, o: EncryptRequest['o'], self: Command) => {
    const req = await encryptRequest(file, o, self, (m) => ui.warn(m), (m) => encryptByRules(file!, m, o, ui));
    if (req.mode === 'done') return;
    if (req.mode === 'age') return encryptAge(req, ui);
    if (req.mode === 'stream') return encryptStream(req, ui);
    if (req.mode === 'fields-recipients') return encryptFieldsToRecipients(file, req.paths, o, ui);
    return encryptPayload(req, ui);
  });
}

/** Stream and age output is binary: not to a terminal, unless armored or forced (-o -). */
function checkBinaryOut(o: EncryptRequest['o']): void {
  checkUsage(ENCRYPT, 'binary-out', { ...o, tty: isTerminal(1) });
}

async function encryptAge({ file, o }: EncryptRequest, ui: Ui): Promise<void> {
  const recipients = await ageRecipients(o, ui);
  checkOutput(file, o.output, Boolean(o.force));
  checkBinaryOut(o);
  terminalHint(file, ui);
  await encryptAgeCli(Source.open(file), recipients, o, ui);
}

async function encryptStream({ file, o, alg }: EncryptRequest, ui: Ui): Promise<void> {
  const key = streamKey(await resolveCliKeys(o, ui));
  if (alg && key.length !== (alg === 'A128GCM' ? 16 : 32)) {
    throw new KeyError(`key is ${key.length} bytes but ${alg} needs ${alg === 'A128GCM' ? 16 : 32} bytes`, 'ERR_KEY_LENGTH');
  }
  checkOutput(file, o.output, Boolean(o.force));
  checkBinaryOut(o);
  terminalHint(file, ui);
  await encryptStreamCli(Source.open(file), key, o, ui);
}

/** The keys of a payload: made here (--random-key), the -r/-R public keys, or the key flags' (and the hex digits the key text had). */
async function payloadKeys(req: PayloadRequest, ui: Ui): Promise<{ keys: Keys; hexDigits?: number }> {
  const { o, alg } = req;
  if (req.key === 'random') return { keys: { secret: generateKey(alg ?? 'A256GCM').key } };
  if (req.key === 'recipients') {
    const all = [...(o.recipient ?? []).map(readRecipient), ...(o.recipientsFile ?? []).flatMap(readRecipients)];
    checkUsage(ENCRYPT, 'recipients', { ...o, recipients: all.length });
    return { keys: all.length === 1 ? { rsa: all[0]! } : { recipients: all } };
  }
  const r = await resolveCliKeys(o, ui, true);
  const keys = { ...(r.kek ? { kek: r.kek } : {}), ...(r.secret ? { secret: r.secret } : {}), ...(r.rsa ? { rsa: publicOf(r.rsa) } : {}), ...(r.passphrase ? { passphrase: r.passphrase } : {}) };
  return { keys, ...(r.hexDigits !== undefined ? { hexDigits: r.hexDigits } : {}) };
}

/** An envelope, raw base64, a JWE or a field document: whole, or line by line (--lines). */
async function encryptPayload(req: PayloadRequest, ui: Ui): Promise<void> {
  const { file, o, alg, paths: fields, match } = req;
  const { keys, hexDigits } = await payloadKeys(req, ui);
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
    ...req.party,
    ...(fields ? { fields, allowMissing: Boolean(o.allowMissing) || match !== undefined, macOnlyEncrypted: Boolean(o.macOnlyEncrypted), inputType } : {}),
    format: req.format,
    embedKey: Boolean(o.randomKey),
    ...nonceBytesOf(o.nonceBytes),
    ...(o.valueFormat ? { valueFormat: o.valueFormat } : {}),
  };
  if (o.lines) {
    if (origin) ui.warn(originWarning(alg ?? defaultAlgForKeyLength(keys.secret?.length ?? 0) ?? 'A256GCM'));
    let encrypted = 0;
    const notes = new Set<string>();
    const spec = lineFastPath('seal', keys, opts);
    await runLines(Source.open(file), { ...o, onError: req.onError }, (line) => {
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
  if (origin) ui.warn(originWarning(res.alg));
  for (const n of res.notes ?? []) ui.warn(n);
  if (!algSpec(res.alg)!.authenticated && !origin) {
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
}
