import type { Command } from 'commander';
import { readText } from '../formats/common/utf8.js';
import { specOf } from '../crypto/aead.js';
import { algForKeyLength, type Alg } from '../crypto/algs.js';
import { AesPayloadError, EXIT, FormatError, KeyError, UsageError } from '../errors.js';
import { fieldCodec, isFieldFormat } from '../formats/fields/documents.js';
import { loadYamlFor } from '../formats/fields/yamlfields.js';
import * as envelope from '../formats/envelope/codec.js';
import * as jweCodec from '../formats/jwe/codec.js';
import { detect as detectStream } from '../formats/stream/codec.js';
import { MAX_ENCODED_BYTES, readAllOf } from '../io/input.js';
import { fileMode, writeFileAtomic } from '../io/output.js';
import { Source } from '../io/source.js';
import { writeStdout } from '../io/stdout.js';
import { resolveKeys } from '../keys/resolve.js';
import { keyId } from '../keys/kid.js';
import { decrypt, detectFormat, encrypt, keyForKid, type DecryptOptions, type Keys } from '../ops/index.js';
import { KdfBudget } from '../crypto/kdf.js';
import { addAgeIdentityOptions, hasAgeIdentity, type AgeIdentityFlags } from './age.js';
import { rotateRecipientFile } from './recipients.js';
import { addKeyOptions, algOption, allowAlgOption, asAlg, keyContext, parseAllowAlg, type KeyFlags } from './common.js';
import type { Ui } from './ui.js';
import { withHelp } from './help.js';
import { nonceBytesOf, nonceBytesOption } from './nonce.js';

interface RotateFlags extends KeyFlags, AgeIdentityFlags {
  toKeyEnv?: string;
  toKeyFile?: string;
  toPrimary?: boolean;
  alg?: string;
  allowAlg?: string;
  allowLegacy?: boolean;
  json?: boolean;
  nonceBytes?: string;
}

interface Row {
  file: string;
  ok: boolean;
  format: string | null;
  from: string | null;
  to: string | null;
  error: string | null;
}

/**
 * The algorithm to re-encrypt with: the old one when the new key fits it,
 * else the default for the new key. Envelopes are never plain CBC (version 2
 * is authenticated only), so a legacy CBC envelope comes out as GCM.
 */
function algFor(old: Alg | undefined, key: Uint8Array, authenticatedOnly: boolean): Alg {
  const a = algForKeyLength(key.length, old && (!authenticatedOnly || specOf(old).authenticated) ? old : undefined);
  if (!a) throw new KeyError(`the new key is ${key.length} bytes; no algorithm takes it`, 'ERR_KEY_LENGTH');
  return a;
}

interface Rotated {
  text: string;
  format: string;
  from: string;
  /** Said to the person: an algorithm upgraded or kept. */
  note?: string;
}

/**
 * Re-encrypt one file's text under newKey. Reading goes through decrypt's
 * own path with decrypt's options (--alg, --allow-alg, --allow-legacy), so
 * rotate refuses exactly what decrypt refuses and cannot be an oracle.
 */
function rotateText(text: string, old: Keys, newKey: Buffer, opts: DecryptOptions, file: string): Rotated {
  const newKid = keyId(newKey);
  const format = detectFormat(text, 'auto');
  if (isFieldFormat(format)) {
    const r = fieldCodec(format).rotate(text, keyForKid(old), { newKey, what: file, allowLegacy: Boolean(opts.allowLegacy) });
    return { text: r.text, format, from: r.oldKids.join(',') || newKid };
  }
  if (format === 'json') {
    const env = envelope.decode(text);
    if (env.key) throw new FormatError('the envelope carries its own key; there is nothing to rotate', 'ERR_EMBEDDED_KEY');
    if (env.version === 2 && env.kid === newKid) {
      decrypt(text, old, opts).plaintext.fill(0); // still authenticate it, as decrypt would
      return { text, format, from: newKid };
    }
  }
  const r = decrypt(text, old, { ...opts, format });
  try {
    if (format === 'jwe' || format === 'jwe-json') {
      if (r.wrap!.startsWith('RSA') || r.wrap!.startsWith('PBES2')) {
        throw new UsageError(`${r.wrap} JWEs are not rotated to a symmetric key; decrypt and encrypt them again`);
      }
      let wrap = r.wrap!;
      if (wrap !== 'dir' && Number(wrap.slice(1, 4)) / 8 !== newKey.length) wrap = (`A${newKey.length * 8}${wrap.endsWith('GCMKW') ? 'GCMKW' : 'KW'}` as typeof wrap);
      if (wrap === 'dir' && specOf(r.alg!).keyLen !== newKey.length) throw new KeyError(`the new key does not fit ${r.alg} with "dir"`, 'ERR_KEY_LENGTH');
      const jwe = jweCodec.decode(text);
      const e = encrypt(r.plaintext, newKey, { format, alg: r.alg!, wrap, ...(jwe.aadB64 !== undefined ? { aad: Buffer.from(jwe.aadB64, 'base64url') } : {}) });
      return { text: `${e.text}\n`, format, from: r.kid ?? '-' };
    }
    if (format === 'json') {
      const env = envelope.decode(text);
      const alg = algFor(r.alg, newKey, true);
      const e = encrypt(r.plaintext, newKey, { format: 'json', alg, ...(env.aad ? { aad: env.aad } : {}) });
      const note = r.alg && !specOf(r.alg).authenticated ? `upgraded from ${r.alg} (unauthenticated) to ${alg}` : r.legacy ? `upgraded to a version-2 envelope` : undefined;
      return { text: `${e.text}\n`, format, from: r.kid ?? env.kid ?? '-', ...(note ? { note } : {}) };
    }
    const alg = algFor(r.alg, newKey, false);
    const e = encrypt(r.plaintext, newKey, { format: 'raw', alg, ...(specOf(alg).kind === 'gcm' && opts.nonceBytes ? { nonceBytes: opts.nonceBytes } : {}) });
    const note = specOf(alg).authenticated ? undefined : `kept ${alg}, which is unauthenticated, because raw output is read by old services; prefer an authenticated format`;
    return { text: `${e.text}\n`, format: 'raw', from: r.kid ?? '-', ...(note ? { note } : {}) };
  } finally {
    r.plaintext.fill(0);
  }
}

export function registerRotate(program: Command, ui: Ui): void {
  const cmd = program
    .command('rotate')
    .description('re-encrypt files under a new key, in place and atomically (plaintext never touches the disk)')
    .argument('<FILE...>', 'JSON envelopes, raw files, JWEs or field-encrypted JSON documents')
    .option('--to-key-env <NAME>', 'the new key is in environment variable NAME')
    .option('--to-key-file <FILE>', 'the new key is in FILE')
    .option('--to-primary', "the new key is the keyring's primary key (old keys are found by kid)")
    .addOption(algOption('as for decrypt: algorithm of raw inputs, and the explicit --alg a legacy plain-CBC envelope needs'))
    .addOption(allowAlgOption())
    .addOption(nonceBytesOption('both'))
    .option('--allow-legacy', 'read (and upgrade) version-1 envelopes and field documents from aes-payload 0.1')
    .option('--json', 'print a JSON report on stdout');
  withHelp(cmd, [
    "aes-payload rotate secrets/*.json --keyring ring.json --to-primary",
    "aes-payload rotate app.enc.json --to-key-env NEW_KEY",
    "aes-payload rotate --allow-legacy --to-key-env AES_PAYLOAD_KEY old/*.json   # upgrade 0.1 files",
  ]);
  addAgeIdentityOptions(cmd);
  addKeyOptions(cmd).action(async (files: string[], o: RotateFlags) => {
    if (hasAgeIdentity(o) && o.toKeyEnv === undefined && o.toKeyFile === undefined && !o.toPrimary) {
      // Field documents encrypted to age recipients: a new data key, every value re-encrypted (recipients rotate).
      for (const file of files) ui.ok(`${file}: re-keyed, ${await rotateRecipientFile(file, o, ui)} values re-encrypted under a new data key`);
      return;
    }
    const targets = [o.toKeyEnv !== undefined, o.toKeyFile !== undefined, Boolean(o.toPrimary)].filter(Boolean).length;
    if (targets !== 1) throw new UsageError('name the new key with one of --to-key-env NAME, --to-key-file FILE or --to-primary');
    const ctx = keyContext(ui);
    const old = await resolveKeys(o, ctx);
    let newKey: Buffer;
    if (o.toPrimary) {
      if (!old.ring) throw new UsageError('--to-primary needs a keyring (--keyring FILE or env AES_PAYLOAD_KEYRING)');
      newKey = old.ring.keys.get(old.ring.primary)!;
    } else {
      const n = await resolveKeys(o.toKeyEnv !== undefined ? { keyEnv: o.toKeyEnv } : { keyFile: o.toKeyFile! }, ctx);
      if (!n.secret) throw new KeyError('the new key must be a symmetric key', 'ERR_KEY_TYPE');
      newKey = n.secret;
    }
    const newKid = keyId(newKey);
    const alg = asAlg(o.alg);
    const opts: DecryptOptions = { ...(alg ? { alg } : {}), ...parseAllowAlg(o.allowAlg), allowLegacy: Boolean(o.allowLegacy), kdfBudget: KdfBudget.fromEnv(process.env), ...nonceBytesOf(o.nonceBytes) };
    const rows: Row[] = [];
    let exit: number = EXIT.OK;
    for (const file of files) {
      let r: Row;
      try {
        if (file === '-') throw new UsageError('rotate works on files, not stdin');
        const src = Source.open(file);
        if (detectStream(src.peek(64))) {
          src.close();
          throw new UsageError('streams are not rotated in place; run decrypt | encrypt --format stream');
        }
        const text = readText(readAllOf(src, MAX_ENCODED_BYTES).data, file);
        await loadYamlFor(text, file);
        const res = rotateText(text, old, newKey, opts, file);
        if (res.text !== text) writeFileAtomic(file, res.text, { overwrite: true, mode: fileMode(file) });
        r = { file, ok: true, format: res.format, from: res.from, to: newKid, error: null };
        ui.ok(`${file}: ${res.from} → ${newKid}${res.text === text ? ' (already)' : ''}${res.note ? `; ${res.note}` : ''}`);
      } catch (e) {
        if (!(e instanceof AesPayloadError)) throw e;
        r = { file, ok: false, format: null, from: null, to: null, error: e.message };
        if (exit === EXIT.OK) exit = e.exitCode;
        ui.error(`FAIL ${file}: ${e.message}`);
      }
      rows.push(r);
    }
    if (o.json) writeStdout(`${JSON.stringify(rows)}\n`);
    process.exitCode = exit;
  });
}
