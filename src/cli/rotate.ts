import type { Command } from 'commander';
import { AesPayloadError, EXIT, KeyError, UsageError } from '../errors.js';
import { loadYamlFor, readText } from '../ops/documents.js';
import { rotateText } from '../ops/rotate.js';
import { startsLikeStream } from '../ops/stream.js';
import { MAX_ENCODED_BYTES, readAllOf } from '../io/input.js';
import { fileMode, writeFileAtomic } from '../io/output.js';
import { Source } from '../io/source.js';
import { writeStdout } from '../io/stdout.js';
import { resolveKeys } from '../keys/resolve.js';
import { keyId } from '../keys/kid.js';
import type { DecryptOptions } from '../ops/index.js';
import { kdfBudget } from '../ops/budget.js';
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
    const opts: DecryptOptions = { ...(alg ? { alg } : {}), ...parseAllowAlg(o.allowAlg), allowLegacy: Boolean(o.allowLegacy), kdfBudget: kdfBudget(), ...nonceBytesOf(o.nonceBytes) };
    const rows: Row[] = [];
    let exit: number = EXIT.OK;
    for (const file of files) {
      let r: Row;
      try {
        if (file === '-') throw new UsageError('rotate works on files, not stdin');
        const src = Source.open(file);
        if (startsLikeStream(src.peek(64))) {
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
