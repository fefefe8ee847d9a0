import type { Command } from 'commander';
import { specOf } from '../crypto/aead.js';
import { algForKeyLength, type Alg } from '../crypto/algs.js';
import { AesPayloadError, EXIT, FormatError, KeyError, UsageError } from '../errors.js';
import { rotateFields } from '../fields/fields.js';
import * as envelope from '../formats/envelope.js';
import * as jweCodec from '../formats/jwe.js';
import { detect as detectStream } from '../formats/stream.js';
import { MAX_ENCODED_BYTES, readAllOf } from '../io/input.js';
import { fileMode, writeFileAtomic } from '../io/output.js';
import { Source } from '../io/source.js';
import { writeStdout } from '../io/stdout.js';
import { resolveKeys } from '../keys/resolve.js';
import { keyId } from '../keys/kid.js';
import { decrypt, detectFormat, encrypt, keyForKid, type Keys } from '../payload.js';
import { addKeyOptions, algOption, asAlg, keyContext, type KeyFlags } from './common.js';
import type { Ui } from './ui.js';

interface RotateFlags extends KeyFlags {
  toKeyEnv?: string;
  toKeyFile?: string;
  toPrimary?: boolean;
  alg?: string;
  json?: boolean;
}

interface Row {
  file: string;
  ok: boolean;
  format: string | null;
  from: string | null;
  to: string | null;
  error: string | null;
}

function algFor(old: Alg | undefined, key: Uint8Array): Alg {
  const a = algForKeyLength(key.length, old);
  if (!a) throw new KeyError(`the new key is ${key.length} bytes; no algorithm takes it`, 'ERR_KEY_LENGTH');
  return a;
}

/** Re-encrypt one file's text under newKey; returns the new text and what it was. */
function rotateText(text: string, old: Keys, newKey: Buffer, alg: Alg | undefined, file: string): { text: string; format: string; from: string } {
  const newKid = keyId(newKey);
  // The same detection as decrypt's.
  const format = detectFormat(text, 'auto');
  if (format === 'jwe' || format === 'jwe-json') {
    const jwe = jweCodec.decode(text);
    const r = decrypt(text, old);
    try {
      if (r.wrap!.startsWith('RSA') || r.wrap!.startsWith('PBES2')) {
        throw new UsageError(`${r.wrap} JWEs are not rotated to a symmetric key; decrypt and encrypt them again`);
      }
      let wrap = r.wrap!;
      if (wrap !== 'dir' && Number(wrap.slice(1, 4)) / 8 !== newKey.length) wrap = (`A${newKey.length * 8}${wrap.endsWith('GCMKW') ? 'GCMKW' : 'KW'}` as typeof wrap);
      if (wrap === 'dir' && specOf(r.alg!).keyLen !== newKey.length) throw new KeyError(`the new key does not fit ${r.alg} with "dir"`, 'ERR_KEY_LENGTH');
      const e = encrypt(r.plaintext, newKey, {
        format,
        alg: r.alg!,
        wrap,
        ...(jwe.aadB64 !== undefined ? { aad: Buffer.from(jwe.aadB64, 'base64url') } : {}),
      });
      return { text: `${e.text}\n`, format, from: r.kid ?? '-' };
    } finally {
      r.plaintext.fill(0);
    }
  }
  if (format === 'fields') {
    const r = rotateFields(text, keyForKid(old), newKey, file);
    return { text: r.text, format, from: r.oldKids.join(',') || newKid };
  }
  if (format === 'json') {
    const env = envelope.decode(text);
    if (env.key) throw new FormatError('the envelope carries its own key; there is nothing to rotate', 'ERR_EMBEDDED_KEY');
    if (env.kid === newKid) return { text, format: 'json', from: newKid };
    const r = decrypt(text, old, env.alg && !specOf(env.alg).authenticated ? { alg: env.alg } : {});
    try {
      const e = encrypt(r.plaintext, newKey, { format: 'json', alg: algFor(r.alg, newKey), ...(env.aad ? { aad: env.aad } : {}) });
      return { text: `${e.text}\n`, format: 'json', from: env.kid ?? r.kid ?? '-' };
    } finally {
      r.plaintext.fill(0);
    }
  }
  const r = decrypt(text, old, { format: 'raw', ...(alg ? { alg } : {}) });
  try {
    const e = encrypt(r.plaintext, newKey, { format: 'raw', alg: algFor(r.alg, newKey) });
    return { text: `${e.text}\n`, format: 'raw', from: r.kid ?? '-' };
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
    .addOption(algOption('algorithm of raw inputs (default: the AES-GCM variant of the old key size)'))
    .option('--json', 'print a JSON report on stdout');
  addKeyOptions(cmd).action(async (files: string[], o: RotateFlags) => {
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
        const text = readAllOf(src, MAX_ENCODED_BYTES).data.toString('utf8');
        const res = rotateText(text, old, newKey, alg, file);
        if (res.text !== text) writeFileAtomic(file, res.text, { overwrite: true, mode: fileMode(file) });
        r = { file, ok: true, format: res.format, from: res.from, to: newKid, error: null };
        ui.line(`${ui.c.green('OK')} ${file}: ${res.from} → ${newKid}${res.text === text ? ' (already)' : ''}`);
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
