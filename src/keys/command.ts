import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { killTree, markedInOurGroup } from '../io/processTree.js';
import { FormatError, KeyError, UsageError, printable, quote } from '../errors.js';
import { MAX_COMMAND_KID, isCommandKid } from './kid.js';

/** The environment variable that names a key command when no key flag is given (as sops `SOPS_AGE_KEY_CMD`). */
export const KEY_CMD_ENV = 'AES_PAYLOAD_KEY_CMD';
/** Set for the key command (a random value per run): what it leaves running in our process group is found by it on a timeout. */
export const RUN_ENV = 'AES_PAYLOAD_KEY_CMD_RUN';
/** Set for the key command when the input names the kid it needs. */
export const KID_ENV = 'AES_PAYLOAD_KID';
export const DEFAULT_KEY_CMD_TIMEOUT_MS = 10_000;
/** Largest key command output read: a keyring or a PEM fits; anything more is not a key. */
const MAX_OUTPUT = 1024 * 1024;

/** Whether a failing key command's stderr is quoted in its error (not by `worker`, whose stderr goes to logs). */
let quoteStderr = true;

/** Never quote a key command's stderr in an error: what a helper prints there (a key, with `set -x`) must not reach a log. */
export function hideKeyCommandStderr(): void {
  quoteStderr = false;
}

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
 * never its stdout. On a timeout the command and every process it started
 * are killed: its process tree, and what it left running in our process
 * group (found by {@link RUN_ENV} in their environment). A process that
 * left the group (setsid) or cleared its environment is not found. The command stays in aes-payload's process group and session,
 * so a prompt of its own on the terminal (age's passphrase, a PIN entry)
 * still works; its stdin is not the terminal.
 *
 * @example
 * ```ts
 * await runKeyCommand('pass show aes-payload/prod', { env: process.env }); // Buffer of the key text
 * ```
 */
export async function runKeyCommand(line: string, o: { env: NodeJS.ProcessEnv; kid?: string; timeoutMs?: number }): Promise<Buffer> {
  const argv = splitCommand(line);
  if (o.kid !== undefined && !isCommandKid(o.kid)) {
    // The kid comes from the input, unauthenticated: only a plain identifier reaches the command.
    throw new FormatError(
      `the input names the kid ${quote(o.kid, 40)}, which is not given to a key command: a kid there is 1 to ${MAX_COMMAND_KID} letters, digits and . _ : / + = @ -, not starting with -, with no . or .. segment`,
      'ERR_KID',
    );
  }
  const env: NodeJS.ProcessEnv = { ...o.env };
  delete env[KEY_CMD_ENV];
  const run = randomBytes(12).toString('hex');
  env[RUN_ENV] = run;
  if (o.kid !== undefined) env[KID_ENV] = o.kid;
  else delete env[KID_ENV];
  const timeout = o.timeoutMs ?? DEFAULT_KEY_CMD_TIMEOUT_MS;
  const name = printable(argv[0]!, 80);
  const r = await new Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: Buffer; timedOut: boolean; tooMuch: boolean; error?: NodeJS.ErrnoException }>((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    let tooMuch = false;
    const stop = () => {
      if (child.pid !== undefined) killTree([child.pid], () => markedInOurGroup(RUN_ENV, run));
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
      // A process that outlived the command may still hold its pipes open: stop waiting for them.
      child.stdout.destroy();
      child.stderr.destroy();
    }, timeout);
    child.stdout.on('data', (d: Buffer) => {
      outLen += d.length;
      if (outLen > MAX_OUTPUT) {
        if (!tooMuch) stop();
        tooMuch = true;
        return;
      }
      out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      if (errLen < MAX_OUTPUT) err.push(d);
      errLen += d.length;
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ status: null, signal: null, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), timedOut, tooMuch, error: e });
    });
    // 'close': the command has exited and every holder of its stdout and stderr has closed them.
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      for (const b of out) b.fill(0); // the key text lives on in the one copy returned
      resolve({ status, signal, stdout, stderr: Buffer.concat(err), timedOut, tooMuch });
    });
  });
  const stderr = !quoteStderr ? ' (its stderr is not shown, as it could hold key material; run it by hand to see it)' : r.stderr.length ? `: ${printable(r.stderr.toString('utf8').trim().split('\n').slice(-3).join(' / '), 300)}` : '';
  if (r.error?.code === 'ENOENT') throw new KeyError(`the key command ${name} was not found`, 'ERR_KEY_CMD');
  if (r.error) throw new KeyError(`the key command ${name} could not run (${r.error.code ?? 'error'})`, 'ERR_KEY_CMD');
  if (r.timedOut) {
    r.stdout.fill(0);
    throw new KeyError(`the key command ${name} did not finish within ${timeout / 1000} s${stderr}`, 'ERR_KEY_CMD');
  }
  if (r.tooMuch) {
    r.stdout.fill(0);
    throw new KeyError(`the key command ${name} printed more than ${MAX_OUTPUT} bytes, which is not a key`, 'ERR_KEY_CMD');
  }
  if (r.status !== 0) {
    r.stdout.fill(0);
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
