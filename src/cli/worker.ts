import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { UsageError, ioError, quote } from '../errors.js';
import { parsePaths } from '../ops/documents.js';
import { hideKeyCommandStderr } from '../keys/command.js';
import { publicOf } from '../keys/structured.js';
import type { DecryptFormat, DecryptOptions, EncryptFormat, EncryptOptions, Keys } from '../ops/index.js';
import { recordOp, type WorkerOp } from '../worker/record.js';
import { hasCredentials } from '../worker/servers.js';
import { addKeyOptions, algOption, allowAlgOption, asAlg, keysOf, parseAllowAlg, resolveCliKeys, type KeyFlags } from './common.js';
import { withHelp } from './help.js';
import { VERSION, int, parseListen } from './serve.js';
import type { Ui } from './ui.js';


interface WorkerFlags extends KeyFlags {
  nats?: string;
  natsCreds?: string;
  stream: string;
  in: string;
  out: string;
  deadLetter?: string;
  durable: string;
  batch: string;
  maxAckPending: string;
  ackWait: string;
  metricsListen?: string;
  fields?: string;
  format?: string;
  alg?: string;
  aad?: string;
  allowAlg?: string;
  allowMissing?: boolean;
  allowPlaintext?: boolean;
}


/** A NATS subject to publish to or filter on: tokens of visible ASCII, no white space; wildcards only where `wild`. */
function subject(v: string, name: string, wild: boolean): string {
  const ok = /^[\x21-\x7e]+$/.test(v) && v.split('.').every((t, i, all) => t.length > 0 && (wild ? (t === '>' ? i === all.length - 1 : !/[*>]/.test(t) || t === '*') : !/[*>]/.test(t)));
  if (!ok) throw new UsageError(`${name} needs a NATS subject${wild ? '' : ' without wildcards'} (for example records.in), not ${quote(v)}`);
  return v;
}

/** A stream or durable name: what NATS accepts (no white space, dots, * or >, / or \). */
function natsName(v: string, name: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(v)) throw new UsageError(`${name} needs a name of letters, digits, _ and - (at most 64), not ${quote(v)}`);
  return v;
}

export function registerWorker(program: Command, ui: Ui): void {
  const cmd = program
    .command('worker')
    .description('encrypt or decrypt the records of a NATS JetStream stream, as one of any number of workers (docs/WORKER.md)')
    .argument('<OPERATION>', 'encrypt or decrypt')
    .option('--nats <URLS>', 'NATS server URLs, comma-separated (default: env NATS_URL)')
    .option('--nats-creds <FILE>', 'a NATS credentials file (user JWT and NKey seed)')
    .requiredOption('--stream <NAME>', 'the JetStream stream that stores the --in subject')
    .requiredOption('--in <SUBJECT>', 'the subject to read records from (wildcards allowed)')
    .requiredOption('--out <SUBJECT>', 'the subject to publish each result to (a stream must store it)')
    .option('--dead-letter <SUBJECT>', 'publish {"aesp_error":{"seq":N,"code":…}} here for a record that fails (default: the record is terminated and logged)')
    .option('--durable <NAME>', 'the durable consumer every worker shares', 'aes-payload')
    .option('--batch <N>', 'records pulled and acked together, one log line each', '128')
    .option('--max-ack-pending <N>', 'records out and not yet acked, across all workers (set when the consumer is made)', '1024')
    .option('--ack-wait <SECONDS>', "how long a record stays with a worker that went silent before it is redelivered (set when the consumer is made)", '30')
    .option('--metrics-listen <HOST:PORT>', 'serve Prometheus metrics on http://HOST:PORT/metrics')
    .option('--fields <PATHS>', 'encrypt or decrypt only these values of each JSON record (see README, "Field paths")')
    .addOption(new Option('--format <FORMAT>', 'encrypt: the output format (default json); decrypt: the input format (default auto)').choices(['auto', 'json', 'raw', 'jwe', 'jwe-json']))
    .addOption(algOption('content algorithm (default: the AES-GCM variant of the key size)'))
    .option('--aad <TEXT>', 'additional authenticated data (not secret)')
    .addOption(allowAlgOption())
    .option('--allow-missing', 'with --fields: a path that matches nothing is not an error')
    .option('--allow-plaintext', 'decrypt --fields: a plaintext value at those paths is not an error');
  withHelp(cmd, [
    'aes-payload worker --nats nats://nats1:4222,nats://nats2:4222 --stream RECORDS --in records.in --out records.enc --dead-letter records.dead encrypt --fields email',
    'aes-payload worker --stream ENC --in records.enc --out records.plain decrypt --key-cmd "vault kv get -field=key secret/aes"',
  ]);
  addKeyOptions(cmd);
  // What a worker refuses (it runs unattended, a key per record) is not offered in its help.
  for (const opt of cmd.options) if (['--prompt', '--passphrase', '--passphrase-env', '--passphrase-file', '--key-uri', '--pkcs11-module', '--pin-env'].includes(opt.long ?? '')) opt.hideHelp();
  cmd.action(async (operation: string, o: WorkerFlags) => {
    if (operation !== 'encrypt' && operation !== 'decrypt') throw new UsageError(`worker runs encrypt or decrypt, not ${quote(operation)}`);
    const op: WorkerOp = operation;
    const servers = o.nats ?? process.env.NATS_URL;
    if (!servers) throw new UsageError('worker needs --nats URL (or env NATS_URL)');
    // The command line is visible to every user of the machine: NATS credentials go in NATS_URL or --nats-creds.
    if (o.nats !== undefined && hasCredentials(o.nats)) {
      throw new UsageError('--nats must not carry a user, password or token (the command line is visible to others); use --nats-creds FILE, or env NATS_URL');
    }
    if (o.prompt || o.passphrase || o.passphraseEnv !== undefined || o.passphraseFile !== undefined || o.keyUri !== undefined) {
      throw new UsageError('worker runs unattended on a key: not with --prompt, passphrases (scrypt per record) or --key-uri');
    }
    if ((o.allowMissing && o.fields === undefined) || (o.allowPlaintext && (o.fields === undefined || op !== 'decrypt'))) throw new UsageError('--allow-missing needs --fields; --allow-plaintext needs decrypt --fields');
    if (op === 'encrypt' && (o.format === 'auto' || o.allowAlg !== undefined)) throw new UsageError('encrypt writes json, raw, jwe or jwe-json; --allow-alg is for decrypt');
    const fields = o.fields !== undefined ? parsePaths(o.fields) : undefined;
    if (fields && op === 'encrypt' && o.format !== undefined && o.format !== 'json') throw new UsageError('--fields writes the JSON record itself; drop --format');
    const metrics = o.metricsListen !== undefined ? parseListen(o.metricsListen) : undefined;
    if (metrics && 'path' in metrics) throw new UsageError('--metrics-listen needs HOST:PORT');
    let creds: Buffer | undefined;
    if (o.natsCreds !== undefined) {
      try {
        creds = readFileSync(o.natsCreds);
      } catch (e) {
        throw ioError(e, `cannot read ${o.natsCreds}`);
      }
    }
    const alg = asAlg(o.alg);
    // The key (a --key-cmd runs once, here, on each machine). A worker's stderr goes to logs: a failing
    // key command's stderr is not quoted there.
    hideKeyCommandStderr();
    const r = await resolveCliKeys(o, ui);
    let keys: Keys;
    let opts: EncryptOptions | DecryptOptions;
    if (op === 'encrypt') {
      keys = { ...(r.secret ? { secret: r.secret } : {}), ...(r.rsa ? { rsa: publicOf(r.rsa) } : {}) };
      opts = { ...(alg ? { alg } : {}), ...(o.aad !== undefined ? { aad: o.aad } : {}), format: (o.format ?? 'json') as EncryptFormat, ...(fields ? { fields, allowMissing: Boolean(o.allowMissing), inputType: 'json' as const } : {}) };
    } else {
      keys = keysOf(r);
      opts = { ...(alg ? { alg } : {}), ...(o.aad !== undefined ? { aad: o.aad } : {}), format: (o.format ?? 'auto') as DecryptFormat, ...parseAllowAlg(o.allowAlg), ...(fields ? { fields, allowMissing: Boolean(o.allowMissing), allowPlaintext: Boolean(o.allowPlaintext) } : {}) };
    }
    const run = recordOp(op, keys, opts);
    // What decides a record's output: workers whose pipelines differ must not share a consumer.
    const pipeline = createHash('sha256')
      .update(JSON.stringify({ op, fields: o.fields ?? null, format: o.format ?? (op === 'encrypt' ? 'json' : 'auto'), alg: o.alg ?? null, aad: o.aad ?? null, allowAlg: o.allowAlg ?? null, allowMissing: Boolean(o.allowMissing), allowPlaintext: Boolean(o.allowPlaintext), out: o.out, deadLetter: o.deadLetter ?? null }))
      .digest('hex')
      .slice(0, 32);
    // The NATS client loads only now (src/worker/run.ts, dist/vendor/nats.cjs).
    const { runWorker } = await import('../worker/run.js');
    process.exitCode = await runWorker({
      servers,
      pipeline,
      stream: natsName(o.stream, '--stream'),
      in: subject(o.in, '--in', true),
      out: subject(o.out, '--out', false),
      ...(o.deadLetter !== undefined ? { deadLetter: subject(o.deadLetter, '--dead-letter', false) } : {}),
      durable: natsName(o.durable, '--durable'),
      batch: int(o.batch, '--batch', 1, 10_000),
      maxAckPending: int(o.maxAckPending, '--max-ack-pending', 1, 1_000_000),
      ackWait: int(o.ackWait, '--ack-wait', 1, 86_400) * 1000,
      ...(metrics ? { metrics } : {}),
      ...(creds ? { creds } : {}),
      version: VERSION,
      run,
    });
  });
}
