import { spawnSync } from 'node:child_process';
import { KeyError, UsageError, printable } from '../errors.js';

/** The environment variable that names a key command when no key flag is given (as sops `SOPS_AGE_KEY_CMD`). */
export const KEY_CMD_ENV = 'AES_PAYLOAD_KEY_CMD';
/** Set for the key command when the input names the kid it needs. */
export const KID_ENV = 'AES_PAYLOAD_KID';
export const DEFAULT_KEY_CMD_TIMEOUT_MS = 10_000;
/** Largest key command output read: a keyring or a PEM fits; anything more is not a key. */
const MAX_OUTPUT = 1024 * 1024;

/**
 * Split a command line into argv as POSIX sh does for words, with no
 * expansion at all: white space separates words; single quotes keep
 * everything literally; double quotes keep everything except that `\` escapes
 * `"`, `\`, `$` and `` ` ``; outside quotes `\` escapes any character. No
 * variables, globs, tildes, pipes or redirections: `$HOME` stays `$HOME`.
 *
 * @example
 * ```ts
 * splitCommand(`vault kv get -field=key 'secret/aes payload'`); // ['vault', 'kv', 'get', '-field=key', 'secret/aes payload']
 * ```
 */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) throw new UsageError('the key command has an unclosed single quote');
      cur += line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && '"\\$`'.includes(line[j + 1] ?? '')) j++;
        cur += line[j];
      }
      if (j >= line.length) throw new UsageError('the key command has an unclosed double quote');
      i = j;
    } else if (c === '\\') {
      if (i + 1 < line.length) cur += line[++i];
    } else {
      cur += c;
    }
  }
  if (inWord) out.push(cur);
  if (!out.length) throw new UsageError('the key command is empty');
  return out;
}

/**
 * Run a key command (no shell) and return its stdout, the key text. A
 * non-zero exit, a signal, a timeout or a missing program is a
 * {@link KeyError} (exit 3) that shows the command's stderr (escaped, cut),
 * never its stdout.
 *
 * @example
 * ```ts
 * runKeyCommand('pass show aes-payload/prod', { env: process.env }); // Buffer of the key text
 * ```
 */
export function runKeyCommand(line: string, o: { env: NodeJS.ProcessEnv; kid?: string; timeoutMs?: number }): Buffer {
  const argv = splitCommand(line);
  const env: NodeJS.ProcessEnv = { ...o.env };
  delete env[KEY_CMD_ENV];
  if (o.kid !== undefined) env[KID_ENV] = o.kid;
  else delete env[KID_ENV];
  const timeout = o.timeoutMs ?? DEFAULT_KEY_CMD_TIMEOUT_MS;
  const r = spawnSync(argv[0]!, argv.slice(1), { env, timeout, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT, stdio: ['ignore', 'pipe', 'pipe'] });
  const name = printable(argv[0]!, 80);
  const stderr = r.stderr?.length ? `: ${printable(r.stderr.toString('utf8').trim().split('\n').slice(-3).join(' / '), 300)}` : '';
  const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') {
    throw new KeyError(`the key command ${name} was not found`, 'ERR_KEY_CMD');
  }
  if (code === 'ETIMEDOUT' || (r.signal === 'SIGKILL' && r.status === null && !code)) {
    throw new KeyError(`the key command ${name} did not finish within ${timeout / 1000} s${stderr}`, 'ERR_KEY_CMD');
  }
  if (code === 'ENOBUFS') throw new KeyError(`the key command ${name} printed more than ${MAX_OUTPUT} bytes, which is not a key`, 'ERR_KEY_CMD');
  if (r.error) throw new KeyError(`the key command ${name} could not run (${code ?? 'error'})`, 'ERR_KEY_CMD');
  if (r.status !== 0) {
    r.stdout?.fill(0);
    throw new KeyError(`the key command ${name} ${r.signal ? `was killed by ${r.signal}` : `exited with status ${r.status}`}${stderr}`, 'ERR_KEY_CMD');
  }
  const out = r.stdout;
  // One trailing newline is what commands print; it is not part of the key.
  let end = out.length;
  if (out[end - 1] === 0x0a) end--;
  if (out[end - 1] === 0x0d) end--;
  if (end === 0) throw new KeyError(`the key command ${name} printed nothing`, 'ERR_KEY_CMD');
  return out.subarray(0, end);
}
