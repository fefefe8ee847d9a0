import { Option, type Command } from 'commander';
import { AesPayloadError, EXIT, FormatError, KeyError, UsageError } from '../errors.js';
import { conflictsIn } from '../git/merge.js';
import { MAX_ENCODED_BYTES, readAllOf } from '../io/input.js';
import { Source } from '../io/source.js';
import { writeStdout } from '../io/stdout.js';
import { checkKeyLength, detectFormat, keyForKid, verify, type DecryptFormat, type DecryptedFormat, type Keys } from '../ops/index.js';
import { carriesOwnKey, checkDocument, isBase64Text, requireOnPlain, structureOf } from '../ops/check.js';
import { isFieldFormat, loadYaml, loadYamlFor, readText } from '../ops/documents.js';
import { streamHeaderOf } from '../ops/stream.js';
import { addKeyOptions, algOption, allowAlgOption, hasKeyFlag, inputTypeOf, resolveCliKeys, terminalHint } from './common.js';
import { decryptStreamCli, streamKeyFor, streamKind } from './stream.js';
import type { Ui } from './ui.js';
import { withHelp } from './help.js';
import { openRecipientInput, pendingWarning } from './recipients.js';
import { addAgeIdentityOptions, ageKind, ageStructure, decryptAgeCli, hasAgeIdentity } from './age.js';
import { nonceBytesOption } from './nonce.js';
import { checkVerify, verifyRequest, type VerifyFlags, type VerifyRequest } from './request.js';

type Inputs = Extract<VerifyRequest, { mode: 'inputs' }>;

interface Row {
  file: string;
  ok: boolean;
  format: string | null;
  alg: string | null;
  /** JWE key management, else null. */
  wrap: string | null;
  kid: string | null;
  error: string | null;
  /** Field documents: how many tokens were checked. */
  tokens?: number;
  /** Exit status of a failure (not in the JSON report). */
  code?: number;
  /** Field documents: what the MAC covers (not in the JSON report). */
  mac?: string;
  /** Documents encrypted to age recipients: their pending values, and whether each replaces a value of the body. */
  pending?: { name: string; replaces: boolean }[];
}

const row = (file: string, r: Partial<Row>): Row => ({ file, ok: true, format: null, alg: null, wrap: null, kid: null, error: null, ...r });

/** The row of a field document (or plain JSON) checked against --require. */
function requireRow(file: string, c: { plaintext: string[]; missing: string[]; format: string; kid: string | null; tokens: number; mac?: string }): Row {
  const base = { format: c.format, kid: c.kid, tokens: c.tokens, ...(c.mac ? { mac: c.mac } : {}) };
  if (c.plaintext.length) {
    return row(file, { ...base, ok: false, error: `plaintext at ${c.plaintext.slice(0, 3).join(', ')}${c.plaintext.length > 3 ? ` and ${c.plaintext.length - 3} more` : ''}` });
  }
  if (c.missing.length) return row(file, { ...base, ok: false, error: `--require ${c.missing.join(', ')} match${c.missing.length === 1 ? 'es' : ''} nothing` });
  return row(file, base);
}

async function checkOne(file: string, req: Inputs, keys: Keys | undefined, ui: Ui, noKey?: KeyError, seen: Pick<Row, 'pending'> = {}): Promise<Row> {
  const { o, require } = req;
  const src = Source.open(file);
  const age = o.format === 'auto' || o.format === 'age' ? ageKind(src) : undefined;
  if (!age && o.format === 'age') {
    src.close();
    throw new FormatError(`input is not an age file${o.format === 'age' ? '' : ' (-i and --identity-env read age files)'}`, 'ERR_AGE_HEADER');
  }
  if (age) {
    // age files: the stanza types in the alg column; --no-key parses the header only.
    const types = o.key ? (await decryptAgeCli(src, age, o, 'discard', ui, keys?.passphrase, req.opts.kdfBudget)).types : ageStructure(src, age);
    return row(file, { format: 'age', alg: [...new Set(types)].join(',') });
  }
  const kind = o.format === 'auto' || o.format === 'stream' ? streamKind(src) : undefined;
  if (kind) {
    if (!keys || noKey || o.embeddedKey) {
      try {
        checkVerify('stream', o);
        if (noKey) throw noKey;
        return row(file, { format: 'stream', ...streamHeaderOf(src, kind) });
      } finally {
        src.close();
      }
    }
    const s = await decryptStreamCli(src, kind, streamKeyFor(keys), 'discard', ui);
    return row(file, { format: 'stream', alg: s.alg, kid: s.kid });
  }
  if (o.format === 'stream') {
    src.close();
    throw new FormatError('input is not an aes-payload stream', 'ERR_STREAM');
  }
  let text = readText(readAllOf(src, MAX_ENCODED_BYTES).data, file === '-' ? 'standard input' : file);
  const what = file === '-' ? 'standard input' : file;
  // A field document encrypted to age recipients: checked under its data key (-i), or its structure (--no-key).
  const rd = await openRecipientInput(text, o, ui, !o.key, true);
  // Pending values go into the row (the caller fails it under --strict, after the document itself is checked).
  if (rd) seen.pending = rd.pendingNames.map((name) => ({ name, replaces: rd.replaced.includes(name) }));
  if (rd?.pendingNames.length && !o.strict) ui.warn(pendingWarning(file, rd.pendingNames, rd.replaced));
  if (rd) {
    text = rd.rest;
    keys = rd.key ? { secret: rd.key } : undefined;
    noKey = undefined;
  } else if (hasAgeIdentity(o)) {
    throw new FormatError('input is not an age file or a field document encrypted to age recipients (-i and --identity-env read those)', 'ERR_AGE_HEADER');
  }
  await loadYamlFor(text, file, o.format);
  // A document with nothing encrypted under --require: report what is still in the clear.
  const plain = (type: 'json' | 'env' | 'yaml') => requireRow(file, { ...requireOnPlain(type, text, require!, what), format: type === 'json' ? 'fields' : type, kid: null, tokens: 0 });
  let format: DecryptedFormat;
  try {
    format = detectFormat(text, o.format as DecryptFormat);
  } catch (e) {
    if (!(require && e instanceof FormatError && e.code === 'ERR_NOT_ENCRYPTED')) throw e;
    return plain('json');
  }
  if (require && format === 'raw') {
    // Not JSON and not a field document: a plaintext .env or YAML file, by its name or, failing that, by its text.
    const type = inputTypeOf(file, undefined);
    if (type !== 'json') return plain(type);
    if (!isBase64Text(text)) {
      await loadYaml();
      for (const t of ['env', 'yaml'] as const) {
        try {
          return plain(t);
        } catch {
          /* not this type */
        }
      }
    }
  }
  if (noKey) {
    // An envelope that carries its own key (encrypt --random-key): point at --embedded-key, as decrypt does.
    if (carriesOwnKey(text, format)) throw new FormatError('the envelope carries its own key (encrypt --random-key), so it is not secret; pass --embedded-key to verify it with that key', 'ERR_EMBEDDED_KEY');
    throw noKey;
  }
  checkVerify('whole', o, format);
  if (isFieldFormat(format)) {
    let c: ReturnType<typeof checkDocument>;
    try {
      c = checkDocument(format, text, keys, { ...(require ? { require } : {}), what, allowLegacy: Boolean(o.allowLegacy) });
    } catch (e) {
      if (require && format !== 'fields' && e instanceof FormatError && e.code === 'ERR_NOT_ENCRYPTED') return plain(format);
      throw e;
    }
    if (keys) {
      const conflicts = conflictsIn(format, text, keyForKid(keys));
      if (conflicts.length) return row(file, { format, kid: c.kids.join(',') || null, tokens: c.tokens, ok: false, error: `an unresolved merge conflict at ${conflicts.slice(0, 3).join(', ')}${conflicts.length > 3 ? ' and more' : ''} (resolve it with aes-payload edit)`, code: 1 });
    }
    return requireRow(file, { ...c, format, kid: c.kids.join(',') || null, ...(c.mode ? { mac: c.mode } : {}) });
  }
  if (!keys && !o.embeddedKey) return row(file, structureOf(text, format, Boolean(o.allowLegacy)));
  const r = verify(text, keys as Keys, { ...req.opts, embeddedKey: Boolean(o.embeddedKey), format });
  const fields = { format: r.format ?? null, alg: r.alg ?? null, wrap: r.wrap ?? null, kid: r.kid ?? null };
  if (!r.ok) return row(file, { ...fields, ok: false, error: r.error?.message ?? 'verification failed', code: r.error?.exitCode ?? EXIT.AUTH });
  return row(file, fields);
}

/** Sets process.exitCode; returns nothing. */
export function registerVerify(program: Command, ui: Ui): void {
  const cmd = program
    .command('verify')
    .description('authenticate inputs (envelopes, streams, JWE, age files) without writing plaintext anywhere (for CI)')
    .argument('[FILE...]', 'input files, or - for stdin (default)')
    .addOption(algOption('expected algorithm (raw input: default is the AES-GCM variant of the key size)'))
    .addOption(new Option('--format <FORMAT>', 'input format').choices(['auto', 'json', 'raw', 'jwe', 'jwe-json', 'stream', 'fields', 'env', 'yaml', 'age']).default('auto'))
    .addOption(allowAlgOption())
    .addOption(nonceBytesOption('read'))
    .option('--require <PATHS>', 'fail when any value these paths select is still plaintext, or a path selects nothing (field documents)')
    .option('--allow-legacy', 'accept version-1 envelopes and field documents (aes-payload 0.1), which have weaker guarantees')
    .option('--embedded-key', 'authenticate with the key inside the envelope (encrypt --random-key output, which is not secret)')
    .option('--no-key', 'check structure only, without a key: is everything that should be encrypted encrypted?')
    .option('--strict', 'fail on pending values of a recipient document (written with public keys only, not covered by its MAC)')
    .option('--json', 'print a JSON report on stdout')
    .option('--key-check', 'only resolve and check the key, and print its kid')
    .option('--expect-kid <KID>', 'with --key-check: fail unless the key has this kid');
  addAgeIdentityOptions(cmd);
  withHelp(cmd, [
    "aes-payload verify secrets/*.json            # OK lines on stderr; exit 0 only if all pass",
    "aes-payload verify --no-key --require '**.password' config/*.json",
    "aes-payload verify --key-check --expect-kid 5f0b2f6c0f6d1e7a",
  ]);
  addKeyOptions(cmd).action((files: string[], o: VerifyFlags) => {
    const req = verifyRequest(files, o);
    return req.mode === 'key-check' ? keyCheck(req, ui) : checkInputs(req, ui);
  });
}

/** --key-check: resolve the key and say what it is (its kid on stdout). */
async function keyCheck({ o, alg }: VerifyRequest, ui: Ui): Promise<void> {
  const k = await resolveCliKeys(o, ui);
  if (!k.secret && !k.rsa) throw new UsageError('--key-check checks a key, not a passphrase');
  if (alg) checkKeyLength(alg, k.secret ?? Buffer.alloc(0));
  if (o.expectKid !== undefined && o.expectKid !== k.kid) {
    throw new KeyError(`the key from ${k.source} has kid ${k.kid}, not the expected ${o.expectKid.slice(0, 64)}`, 'ERR_KID_MISMATCH');
  }
  const asym = k.rsa?.asymmetricKeyType;
  const what = k.secret ? `${k.secret.length} bytes` : asym === 'rsa' ? `RSA ${k.rsa!.asymmetricKeyDetails?.modulusLength ?? '?'} bits` : asym === 'x25519' ? 'X25519' : `EC ${k.rsa!.asymmetricKeyDetails?.namedCurve ?? '?'}`;
  const ring = k.ring ? `, keyring of ${k.ring.keys.size} (primary ${k.ring.primary})` : '';
  if (o.json) {
    writeStdout(`${JSON.stringify({ ok: true, kid: k.kid, type: k.secret ? 'secret' : asym === 'rsa' ? 'rsa' : 'ec', bytes: k.secret ? k.secret.length : null, alg: alg ?? null, source: k.source, ...(k.ring ? { keyring: [...k.ring.keys.keys()] } : {}) })}\n`);
  } else {
    writeStdout(`${k.kid}\n`);
    ui.ok(`key from ${k.source}: ${what}${alg ? `, fits ${alg}` : ''}, kid ${k.kid}${ring}`);
  }
}

/** Check each input; one row each (stderr, or --json on stdout); the exit status is the first failure's. */
async function checkInputs(req: Inputs, ui: Ui): Promise<void> {
  const { o, files: list } = req;
  if (list.includes('-')) terminalHint('-', ui);
  let keys: Keys | undefined;
  let noKey: KeyError | undefined;
  if (o.key && !o.embeddedKey) {
    try {
      keys = await resolveCliKeys(o, ui);
    } catch (e) {
      // No key anywhere: each input is still looked at, so that JSON holding
      // nothing encrypted is reported as such (exit 4); the rest gets this error.
      if (!(e instanceof KeyError && e.code === 'ERR_KEY_MISSING' && !hasKeyFlag(o))) throw e;
      noKey = e;
    }
  }
  const rows: Row[] = [];
  let exit: number = EXIT.OK;
  for (const file of list) {
    let r: Row;
    const seen: Pick<Row, 'pending'> = {};
    try {
      r = await checkOne(file, req, keys, ui, noKey, seen);
    } catch (e) {
      if (!(e instanceof AesPayloadError)) throw e;
      r = row(file, { ok: false, error: e.message });
      if (exit === EXIT.OK) exit = e.exitCode;
    }
    if (seen.pending) {
      r.pending = seen.pending;
      const names = seen.pending.map((p) => p.name);
      if (o.strict && r.ok && names.length) Object.assign(r, { ok: false, error: pendingWarning(file, names, seen.pending.filter((p) => p.replaces).map((p) => p.name)), code: EXIT.AUTH });
    }
    if (!r.ok && exit === EXIT.OK) exit = r.code ?? EXIT.FORMAT;
    delete r.code;
    rows.push(r);
    const what = isFieldFormat(r.format ?? undefined) ? `${r.tokens} field${r.tokens === 1 ? '' : 's'}${r.mac === 'enc' ? ' (plaintext values not covered: --mac-only-encrypted)' : ''}` : `${r.wrap ? `${r.wrap}/` : ''}${r.alg ?? '-'}`;
    delete r.mac;
    if (r.ok) ui.ok(`${file} ${what} ${r.kid ?? '-'}${keys || o.embeddedKey || (o.key && (r.format === 'age' || hasAgeIdentity(o))) ? '' : ' (structure only)'}`);
    // A message that names the file already (`FILE: YAML line 3: …`) is not prefixed twice.
    else ui.error(`FAIL ${file}: ${r.error?.startsWith(`${file}: `) ? r.error.slice(file.length + 2) : r.error}`);
  }
  if (o.json) writeStdout(`${JSON.stringify(rows)}\n`);
  process.exitCode = exit;
}
