import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { KdfBudget } from '../crypto/kdf.js';
import { FormatError, UsageError, quote } from '../errors.js';
import { parseEnv } from '../formats/dotenv.js';
import { parseJsonSpans } from '../formats/jsonSpans.js';
import { MAX_ENCODED_BYTES, readAllOf } from '../io/input.js';
import { Source } from '../io/source.js';
import { secretEnvNames } from '../keys/resolve.js';
import { decrypt } from '../payload.js';
import { isYamlFileName, loadYamlFor, yamlToJson } from '../fields/yamlfields.js';
import { addKeyOptions, keysOf, resolveCliKeys, signalStatus, type KeyFlags } from './common.js';
import { withHelp } from './help.js';
import type { Ui } from './ui.js';

interface ExecFlags extends KeyFlags {
  file?: string[];
  keepKeyEnv?: boolean;
  override: boolean;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * The variables one decrypted file holds: a flat JSON object (strings as
 * they are, numbers and booleans as their JSON), or a .env text.
 */
export function variablesOf(plaintext: string, format: string, what: string): [string, string][] {
  let vars: [string, string][];
  if (format === 'yaml') plaintext = yamlToJson(plaintext, what);
  const t = plaintext.replace(/^\uFEFF/, '').trimStart();
  if (format === 'env' || !(t.startsWith('{') || t.startsWith('['))) {
    vars = parseEnv(plaintext, what).entries.map((e) => [e.name, e.value]);
  } else {
    const root = parseJsonSpans(plaintext, what);
    if (root.kind !== 'object') throw new FormatError(`${what}: exec needs a JSON object of variables, or a .env file`, 'ERR_NOT_OBJECT');
    vars = root.entries.map((e) => {
      const v = e.value;
      if (v.kind === 'string') return [e.key, v.value];
      if (v.kind === 'number' || v.kind === 'true' || v.kind === 'false') return [e.key, plaintext.slice(v.start, v.end)];
      throw new FormatError(`${what}: the value of ${quote(e.key, 60)} is ${v.kind === 'null' ? 'null' : `an ${v.kind}`}; exec takes strings, numbers and booleans`, 'ERR_NOT_FLAT');
    });
  }
  for (const [name, value] of vars) {
    if (!NAME.test(name)) throw new FormatError(`${what}: ${quote(name, 60)} is not an environment variable name (letters, digits and _, not starting with a digit)`, 'ERR_ENV_NAME');
    if (value.includes('\0')) throw new FormatError(`${what}: the value of ${name} holds a NUL byte, which no environment can carry`, 'ERR_ENV_VALUE');
  }
  return vars;
}

export function registerExec(program: Command, ui: Ui): void {
  const cmd = program
    .command('exec')
    .description('decrypt files into the environment of a command, and run it (no shell, no plaintext on disk)')
    .argument('<CMD...>', 'the command and its arguments, after --')
    .option('-f, --file <FILE>', 'an encrypted file of variables (- for stdin): an envelope or field document of a flat JSON object, an encrypted .env or YAML; repeatable, later files win (not --env-file: Node itself reads a file named so, nodejs/node#54232)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--keep-key-env', 'leave AES_PAYLOAD_KEY and the other key variables in the command\'s environment')
    .option('--no-override', 'a variable the environment already has keeps its value (default: the file wins, with a warning)')
    .passThroughOptions();
  withHelp(
    cmd,
    ['aes-payload exec -f .env.aesp -- node server.js', 'aes-payload exec -f secrets.enc.json --key-cmd "pass show app/key" -- ./deploy.sh prod'],
    'The exit status is the command\'s; killed by a signal, aes-payload dies of the same signal.\nSIGINT, SIGTERM and SIGHUP are passed on to the command. Not found: 127; not executable: 126.',
  );
  addKeyOptions(cmd).action(async (argv: string[], o: ExecFlags) => {
    const files = o.file ?? [];
    if (!files.length) throw new UsageError('exec needs at least one -f FILE');
    const keys = keysOf(await resolveCliKeys(o, ui));
    const budget = KdfBudget.fromEnv(process.env);
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (!o.keepKeyEnv) for (const n of secretEnvNames(o)) delete env[n];
    const fromFile = new Map<string, string>();
    for (const file of files) {
      const input = readAllOf(Source.open(file), MAX_ENCODED_BYTES);
      await loadYamlFor(input.data, file);
      const r = decrypt(input.data, keys, { kdfBudget: budget });
      const text = r.plaintext.toString('utf8');
      r.plaintext.fill(0);
      for (const [name, value] of variablesOf(text, r.format === 'json' && isYamlFileName(file) ? 'yaml' : r.format, file)) {
        if (fromFile.has(name)) ui.warn(`${file} sets ${name} again; its value wins over ${fromFile.get(name)}'s`);
        else if (env[name] !== undefined) {
          if (!o.override) continue;
          ui.warn(`${file} sets ${name}, which the environment already has; the file's value wins (--no-override keeps the environment's)`);
        }
        fromFile.set(name, file);
        env[name] = value;
      }
    }
    const code = await new Promise<number>((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env });
      const forward = (sig: NodeJS.Signals) => () => {
        if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      };
      const handlers = FORWARDED.map((s) => [s, forward(s)] as const);
      for (const [s, h] of handlers) process.on(s, h);
      const done = () => {
        for (const [s, h] of handlers) process.off(s, h);
      };
      child.on('error', (e: NodeJS.ErrnoException) => {
        done();
        const name = quote(argv[0]!, 80);
        if (e.code === 'ENOENT') {
          ui.error(`command not found: ${name}`);
          resolve(127);
        } else {
          ui.error(`cannot run ${name}: ${e.code ?? e.message}`);
          resolve(126);
        }
      });
      child.on('exit', (status, signal) => {
        done();
        if (signal) {
          // Die of the same signal, so that a caller (a shell, CI) sees what the command saw.
          process.kill(process.pid, signal);
          setTimeout(() => resolve(signalStatus(signal)), 100);
          return;
        }
        resolve(status ?? 1);
      });
    });
    process.exitCode = code;
  });
}
