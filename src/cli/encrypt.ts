import { Option, type Command } from 'commander';
import { specOf } from '../crypto/aead.js';
import { UsageError } from '../errors.js';
import { MAX_PAYLOAD_BYTES } from '../io/input.js';
import { checkOutput } from '../io/output.js';
import { encrypt, generateKey } from '../payload.js';
import { addKeyOptions, algOption, asAlg, emit, hasKeyFlag, readCliInput, resolveCliKey, type KeyFlags } from './common.js';
import type { Ui } from './ui.js';

interface EncryptFlags extends KeyFlags {
  output?: string;
  alg?: string;
  format: 'json' | 'raw';
  aad?: string;
  randomKey?: boolean;
  force?: boolean;
}

export function registerEncrypt(program: Command, ui: Ui): void {
  const cmd = program
    .command('encrypt')
    .description('encrypt FILE (or stdin) into a JSON envelope or raw base64')
    .argument('[FILE]', 'input file, or - for stdin (default)')
    .option('-o, --output <FILE>', 'write to FILE atomically instead of stdout')
    .option('--force', 'overwrite an existing output file')
    .addOption(algOption('content algorithm (default: the AES-GCM variant of the key size)'))
    .addOption(new Option('--format <FORMAT>', 'output format').choices(['json', 'raw']).default('json'))
    .option('--aad <TEXT>', 'additional authenticated data (not secret; recorded in the envelope)')
    .option('--random-key', 'use a fresh random key and embed it in the envelope (output is NOT secret)');
  addKeyOptions(cmd).action(async (file: string | undefined, o: EncryptFlags) => {
    const alg = asAlg(o.alg);
    let key: Buffer;
    if (o.randomKey) {
      if (hasKeyFlag(o)) throw new UsageError('--random-key makes its own key; drop the key flags');
      if (o.format === 'raw') throw new UsageError('--random-key needs --format json, which can carry the key');
      key = generateKey(alg ?? 'A256GCM').key;
    } else {
      key = (await resolveCliKey(o, ui)).key;
    }
    checkOutput(file, o.output, Boolean(o.force));
    const input = readCliInput(file, MAX_PAYLOAD_BYTES, ui);
    const res = encrypt(input.data, key, {
      ...(alg ? { alg } : {}),
      ...(o.aad !== undefined ? { aad: o.aad } : {}),
      format: o.format,
      embedKey: Boolean(o.randomKey),
    });
    if (!specOf(res.alg).authenticated) {
      ui.warn(`${res.alg} is unauthenticated: changes to the ciphertext go undetected; prefer ${res.alg.slice(0, 4)}GCM`);
    }
    if (o.randomKey) ui.warn('--random-key: the key is inside the output, so the output is not secret');
    emit(`${res.text}\n`, { output: o.output, force: o.force, mode: o.randomKey ? 0o600 : 0o666 });
  });
}
