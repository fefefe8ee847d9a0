import { Option, type Command } from 'commander';
import { readText } from '../formats/common/utf8.js';
import { checkKeyLength, specOf } from '../crypto/aead.js';
import { AesPayloadError, EXIT, FormatError, KeyError, UsageError } from '../errors.js';
import { fieldCodec, isFieldFormat } from '../formats/fields/documents.js';
import { conflictsIn } from '../git/merge.js';
import { loadYaml, loadYamlFor } from '../formats/fields/yamlfields.js';
import { KdfBudget } from '../crypto/kdf.js';
import { parsePaths, type FieldPath } from '../formats/fields/paths.js';
import * as envelope from '../formats/envelope/codec.js';
import * as jweCodec from '../formats/jwe/codec.js';
import { b64decodeStrict } from '../formats/common/base64.js';
import { decodeHeader, STREAM_HEADER_LEN } from '../formats/stream/codec.js';
import { MAX_ENCODED_BYTES, readAllOf } from '../io/input.js';
import { Source } from '../io/source.js';
import { writeStdout } from '../io/stdout.js';
import { ArmorReader } from '../formats/stream/armor.js';
import { detectFormat, keyForKid, verify, type DecryptFormat, type DecryptedFormat, type Keys } from '../ops/index.js';
import { addKeyOptions, algOption, allowAlgOption, asAlg, hasKeyFlag, inputTypeOf, parseAllowAlg, resolveCliKeys, terminalHint, type KeyFlags } from './common.js';
import { decryptStreamCli, streamKeyFor, streamKind } from './stream.js';
import type { Ui } from './ui.js';
import { withHelp } from './help.js';
import { openRecipientInput, pendingWarning } from './recipients.js';
import { addAgeIdentityOptions, ageKind, ageStructure, decryptAgeCli, hasAgeIdentity, type AgeIdentityFlags } from './age.js';
import { nonceBytesOf, nonceBytesOption } from './nonce.js';

interface VerifyFlags extends KeyFlags, AgeIdentityFlags {
  alg?: string;
  strict?: boolean;
  format: DecryptFormat | 'stream' | 'age';
  allowAlg?: string;
  json?: boolean;
  keyCheck?: boolean;
  expectKid?: string;
  require?: string;
  allowLegacy?: boolean;
  key: boolean; // --no-key sets this to false
  nonceBytes?: string;
  embeddedKey?: boolean;
}

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

/** Whether a text is base64 as raw input is (white space anywhere ignored). */
function isBase64Text(text: string): boolean {
  try {
    b64decodeStrict(text.replace(/\s+/g, ''), 'raw input');
    return true;
  } catch {
    return false;
  }
}

/** Structure-only check (--no-key): parses, nothing is decrypted. */
function structureOnly(text: string, format: DecryptedFormat, o: VerifyFlags): Partial<Row> {
  if (format === 'jwe' || format === 'jwe-json') {
    const jwe = jweCodec.decode(text);
    const h = jwe.protectedHeader;
    return { format, alg: typeof h.enc === 'string' ? h.enc : null, wrap: typeof h.alg === 'string' ? h.alg : null, kid: typeof h.kid === 'string' ? h.kid : null };
  }
  if (format === 'json') {
    const e = envelope.decode(text);
    if (e.version !== 2 && !envelope.isOrigin(e) && !o.allowLegacy) throw new FormatError(`this is a version-${e.version} envelope; pass --allow-legacy to check it`, 'ERR_LEGACY');
    if (e.alg && !specOf(e.alg).authenticated) throw new FormatError('unauthenticated algorithm', 'ERR_UNAUTHENTICATED');
    return { format, alg: e.alg ?? null, kid: e.kid ?? null };
  }
  b64decodeStrict(text.replace(/\s+/g, ''), 'raw input');
  return { format: 'raw' };
}

async function checkOne(file: string, o: VerifyFlags, keys: Keys | undefined, require: FieldPath[] | undefined, budget: KdfBudget, ui: Ui, noKey?: KeyError, seen: Pick<Row, 'pending'> = {}): Promise<Row> {
  const src = Source.open(file);
  const age = o.format === 'auto' || o.format === 'age' ? ageKind(src) : undefined;
  if (!age && o.format === 'age') {
    src.close();
    throw new FormatError(`input is not an age file${o.format === 'age' ? '' : ' (-i and --identity-env read age files)'}`, 'ERR_AGE_HEADER');
  }
  if (age) {
    // age files: the stanza types in the alg column; --no-key parses the header only.
    const types = o.key ? (await decryptAgeCli(src, age, o, 'discard', ui, keys?.passphrase, budget)).types : ageStructure(src, age);
    return row(file, { format: 'age', alg: [...new Set(types)].join(',') });
  }
  const kind = o.format === 'auto' || o.format === 'stream' ? streamKind(src) : undefined;
  if (kind) {
    if (o.embeddedKey) {
      src.close();
      throw new UsageError('--embedded-key needs a JSON envelope (made by encrypt --random-key), not a stream');
    }
    if (noKey) {
      src.close();
      throw noKey;
    }
    if (!keys) {
      const head = Buffer.alloc(STREAM_HEADER_LEN);
      const got = (kind === 'armor' ? new ArmorReader(src) : src).read(head);
      src.close();
      const h = decodeHeader(head.subarray(0, got));
      return row(file, { format: 'stream', alg: h.alg, kid: h.kid.toString('hex') });
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
  const plain = (type: 'json' | 'env' | 'yaml') => requireRow(file, { ...fieldCodec(type).requirePlain(text, require!, what), format: type === 'json' ? 'fields' : type, kid: null, tokens: 0 });
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
    let own = false;
    try {
      own = format === 'json' && Boolean(envelope.decode(text).key);
    } catch {
      // not a readable envelope: the key error says enough
    }
    if (own) throw new FormatError('the envelope carries its own key (encrypt --random-key), so it is not secret; pass --embedded-key to verify it with that key', 'ERR_EMBEDDED_KEY');
    throw noKey;
  }
  if (o.embeddedKey && format !== 'json') throw new UsageError('--embedded-key needs a JSON envelope (made by encrypt --random-key)');
  if (isFieldFormat(format)) {
    let c: ReturnType<ReturnType<typeof fieldCodec>['check']>;
    try {
      c = fieldCodec(format).check(text, keys ? keyForKid(keys) : undefined, { ...(require ? { require } : {}), what, allowLegacy: Boolean(o.allowLegacy) });
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
  if (!keys && !o.embeddedKey) return row(file, structureOnly(text, format, o));
  const alg = asAlg(o.alg);
  const r = verify(text, keys as Keys, {
    embeddedKey: Boolean(o.embeddedKey),
    ...(alg ? { alg } : {}),
    format,
    ...parseAllowAlg(o.allowAlg),
    allowLegacy: Boolean(o.allowLegacy),
    kdfBudget: budget,
    ...nonceBytesOf(o.nonceBytes),
  });
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
  addKeyOptions(cmd).action(async (files: string[], o: VerifyFlags) => {
    const alg = asAlg(o.alg);
    if (o.expectKid !== undefined && !o.keyCheck) throw new UsageError('--expect-kid needs --key-check');
    if (o.keyCheck) {
      if (files.length) throw new UsageError('--key-check takes no files');
      if (!o.key) throw new UsageError('--key-check and --no-key exclude each other');
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
      return;
    }
    if (!o.key && (hasKeyFlag(o) || hasAgeIdentity(o))) throw new UsageError('--no-key takes no key flags');
    if (o.embeddedKey && (hasKeyFlag(o) || hasAgeIdentity(o) || !o.key || o.keyCheck)) throw new UsageError('--embedded-key takes the key from the envelope: drop the key flags, --no-key and --key-check');
    const list = files.length ? files : ['-'];
    if (list.filter((f) => f === '-').length > 1) throw new UsageError('stdin (-) can be read only once');
    if (list.includes('-')) terminalHint('-', ui);
    const require = o.require !== undefined ? parsePaths(o.require) : undefined;
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
    const budget = KdfBudget.fromEnv(process.env);
    const rows: Row[] = [];
    let exit: number = EXIT.OK;
    for (const file of list) {
      let r: Row;
      const seen: Pick<Row, 'pending'> = {};
      try {
        r = await checkOne(file, o, keys, require, budget, ui, noKey, seen);
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
  });
}
