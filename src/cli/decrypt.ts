import { Option, type Command } from 'commander';
import { KeyError, UsageError } from '../errors.js';
import { MAX_ENCODED_BYTES } from '../io/input.js';
import { checkOutput } from '../io/output.js';
import { decrypt, type DecryptFormat, type Keys } from '../payload.js';
import { addKeyOptions, algOption, allowAlgOption, asAlg, emit, hasKeyFlag, parseAllowAlg, readCliInput, resolveCliKeys, type KeyFlags } from './common.js';
import type { Ui } from './ui.js';

interface DecryptFlags extends KeyFlags {
  output?: string;
  alg?: string;
  format: DecryptFormat;
  aad?: string;
  embeddedKey?: boolean;
  force?: boolean;
  allowAlg?: string;
}

export function registerDecrypt(program: Command, ui: Ui): void {
  const cmd = program
    .command('decrypt')
    .description('decrypt a JSON envelope, raw base64 or JWE from FILE (or stdin)')
    .argument('[FILE]', 'input file, or - for stdin (default)')
    .option('-o, --output <FILE>', 'write the plaintext to FILE (mode 0600, atomically) instead of stdout')
    .option('--force', 'overwrite an existing output file')
    .addOption(algOption('expected algorithm (raw input: default is the AES-GCM variant of the key size)'))
    .addOption(new Option('--format <FORMAT>', 'input format').choices(['auto', 'json', 'raw', 'jwe', 'jwe-json']).default('auto'))
    .addOption(allowAlgOption())
    .option('--aad <TEXT>', 'additional authenticated data the input must have been sealed with')
    .option('--embedded-key', 'use the key inside the envelope (made by encrypt --random-key)');
  addKeyOptions(cmd).action(async (file: string | undefined, o: DecryptFlags) => {
    let key: Keys | undefined;
    let noKey: KeyError | undefined;
    if (o.embeddedKey) {
      if (hasKeyFlag(o)) throw new UsageError('--embedded-key takes the key from the envelope; drop the key flags');
    } else {
      try {
        key = await resolveCliKeys(o, ui);
      } catch (e) {
        // No key anywhere: still read the input, so that an envelope carrying
        // its own key gets the more useful --embedded-key message.
        if (!(e instanceof KeyError && e.code === 'ERR_KEY_MISSING' && !hasKeyFlag(o))) throw e;
        noKey = e;
      }
    }
    checkOutput(file, o.output, Boolean(o.force));
    const input = readCliInput(file, MAX_ENCODED_BYTES, ui);
    const alg = asAlg(o.alg);
    let res;
    try {
      res = decrypt(input.data, key, {
        ...(alg ? { alg } : {}),
        ...(o.aad !== undefined ? { aad: o.aad } : {}),
        format: o.format,
        embeddedKey: Boolean(o.embeddedKey),
        ...parseAllowAlg(o.allowAlg),
      });
    } catch (e) {
      throw noKey && e instanceof KeyError ? noKey : e;
    }
    try {
      emit(res.plaintext, { output: o.output, force: o.force, mode: 0o600 });
    } finally {
      res.plaintext.fill(0);
    }
  });
}
