import { Option, type Command } from 'commander';
import { checkKeyLength } from '../crypto/aead.js';
import { AesPayloadError, EXIT, FormatError, UsageError } from '../errors.js';
import { MAX_ENCODED_BYTES, readAllOf } from '../io/input.js';
import { Source } from '../io/source.js';
import { decryptStreamCli, streamKey, streamKind } from './stream.js';
import { writeStdout } from '../io/stdout.js';
import { verify, type DecryptFormat } from '../payload.js';
import { addKeyOptions, algOption, allowAlgOption, asAlg, parseAllowAlg, resolveCliKeys, type KeyFlags } from './common.js';
import type { Ui } from './ui.js';

interface VerifyFlags extends KeyFlags {
  alg?: string;
  format: DecryptFormat | 'stream';
  allowAlg?: string;
  json?: boolean;
  keyCheck?: boolean;
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
}

/** Sets process.exitCode; returns nothing. */
export function registerVerify(program: Command, ui: Ui): void {
  const cmd = program
    .command('verify')
    .description('authenticate inputs without writing plaintext anywhere (for CI)')
    .argument('[FILE...]', 'input files, or - for stdin (default)')
    .addOption(algOption('expected algorithm (raw input: default is the AES-GCM variant of the key size)'))
    .addOption(new Option('--format <FORMAT>', 'input format').choices(['auto', 'json', 'raw', 'jwe', 'jwe-json', 'stream']).default('auto'))
    .addOption(allowAlgOption())
    .option('--json', 'print a JSON report on stdout')
    .option('--key-check', 'only resolve and check the key, and print its kid');
  addKeyOptions(cmd).action(async (files: string[], o: VerifyFlags) => {
    const alg = asAlg(o.alg);
    if (o.keyCheck) {
      if (files.length) throw new UsageError('--key-check takes no files');
      const k = await resolveCliKeys(o, ui);
      if (!k.secret && !k.rsa) throw new UsageError('--key-check checks a key, not a passphrase');
      if (alg) checkKeyLength(alg, k.secret ?? Buffer.alloc(0));
      const what = k.secret ? `${k.secret.length} bytes` : `RSA ${k.rsa!.asymmetricKeyDetails?.modulusLength ?? '?'} bits`;
      if (o.json) {
        writeStdout(`${JSON.stringify({ ok: true, kid: k.kid, type: k.secret ? 'secret' : 'rsa', bytes: k.secret ? k.secret.length : null, alg: alg ?? null, source: k.source })}\n`);
      } else {
        writeStdout(`${k.kid}\n`);
        ui.line(`${ui.c.green('OK')} key from ${k.source}: ${what}${alg ? `, fits ${alg}` : ''}, kid ${k.kid}`);
      }
      return;
    }
    const list = files.length ? files : ['-'];
    if (list.filter((f) => f === '-').length > 1) throw new UsageError('stdin (-) can be read only once');
    const key = await resolveCliKeys(o, ui);
    const allow = parseAllowAlg(o.allowAlg);
    const rows: Row[] = [];
    let exit: number = EXIT.OK;
    for (const file of list) {
      let row: Row;
      try {
        const src = Source.open(file);
        const kind = o.format === 'auto' || o.format === 'stream' ? streamKind(src) : undefined;
        if (kind) {
          const s = await decryptStreamCli(src, kind, streamKey(key), 'discard', ui);
          row = { file, ok: true, format: 'stream', alg: s.alg, wrap: null, kid: s.kid, error: null };
          rows.push(row);
          ui.line(`${ui.c.green('OK')} ${file} ${row.alg} ${row.kid}`);
          continue;
        }
        if (o.format === 'stream') {
          src.close();
          throw new FormatError('input is not an aes-payload stream', 'ERR_STREAM');
        }
        const input = readAllOf(src, MAX_ENCODED_BYTES);
        const r = verify(input.data, key, { ...(alg ? { alg } : {}), format: o.format as DecryptFormat, ...allow });
        row = { file, ok: r.ok, format: r.format ?? null, alg: r.alg ?? null, wrap: r.wrap ?? null, kid: r.kid ?? null, error: r.error?.message ?? null };
        if (!r.ok && exit === EXIT.OK) exit = r.error?.exitCode ?? EXIT.AUTH;
      } catch (e) {
        if (!(e instanceof AesPayloadError)) throw e;
        row = { file, ok: false, format: null, alg: null, wrap: null, kid: null, error: e.message };
        if (exit === EXIT.OK) exit = e.exitCode;
      }
      rows.push(row);
      if (row.ok) ui.line(`${ui.c.green('OK')} ${file} ${row.wrap ? `${row.wrap}/` : ''}${row.alg} ${row.kid ?? '-'}`);
      else ui.line(`${ui.c.red('FAIL')} ${file}: ${row.error}`);
    }
    if (o.json) writeStdout(`${JSON.stringify(rows)}\n`);
    process.exitCode = exit;
  });
}
