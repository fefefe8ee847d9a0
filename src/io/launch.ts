import { accessSync, closeSync, constants as fsc, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Starting a user's command (exec): finding it on PATH, replacing
 * aes-payload with it where Node.js can (process.execve, Node 22.15+), and
 * otherwise wiping the key variables from aes-payload's own initial
 * environment block, which /proc/PID/environ shows to the command whatever
 * JavaScript deletes.
 */

/** What looking a command up found: its path, or why it cannot run (sh's 127 and 126). */
export type Found = { path: string } | { status: 127 | 126; why: string };

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

function runnable(p: string): 'yes' | 'missing' | 'denied' {
  try {
    if (!statSync(p).isFile()) return 'denied';
    accessSync(p, fsc.X_OK);
    return 'yes';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'missing' : 'denied';
  }
}

/**
 * Find `name` as execvp(3) does, in the PATH of the environment the command
 * will get: a name with a `/` is taken as it is; otherwise the first
 * executable regular file in PATH's directories (an empty entry is the
 * current directory), else 126 when one was found that cannot be run, else
 * 127. An empty name is not found.
 *
 * @example
 * ```ts
 * findCommand('sh', { PATH: '/usr/bin:/bin' }); // { path: '/usr/bin/sh' }
 * ```
 */
export function findCommand(name: string, env: Record<string, string | undefined>): Found {
  if (name === '') return { status: 127, why: 'command not found' };
  if (name.includes('/')) {
    const r = runnable(name);
    return r === 'yes' ? { path: name } : r === 'missing' ? { status: 127, why: 'no such file' } : { status: 126, why: 'not an executable file' };
  }
  let denied = false;
  for (const dir of (env.PATH ?? DEFAULT_PATH).split(delimiter)) {
    const p = join(dir === '' ? '.' : dir, name);
    const r = runnable(p);
    if (r === 'yes') return { path: p };
    if (r === 'denied') denied = true;
  }
  return denied ? { status: 126, why: 'not an executable file' } : { status: 127, why: 'command not found' };
}

/**
 * What execve(2) would make of a file we found: `run` as it is (an ELF
 * binary, or a `#!` script whose interpreter is there), through `/bin/sh`
 * (a file without `#!`, which execvp runs so), or 127 when the `#!`
 * interpreter is missing. execve failing would abort Node.js (Node 24
 * aborts on a failed process.execve), so this is checked first.
 */
function howToRun(path: string): { via: 'direct' | 'sh' } | { status: 127 | 126; why: string } {
  let head: Buffer;
  try {
    const fd = openSync(path, 'r');
    try {
      head = Buffer.alloc(256);
      head = head.subarray(0, readSync(fd, head, 0, 256, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    // Executable but not readable (mode 0111): only the kernel can tell; it is a binary as far as we know.
    return { via: 'direct' };
  }
  if (head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return { via: 'direct' };
  if (head[0] === 0x23 && head[1] === 0x21) {
    const line = head.subarray(2).toString('latin1').split('\n')[0]!.trim();
    const interp = line.split(/[ \t]/)[0] ?? '';
    if (interp === '' || runnable(interp) !== 'yes') return { status: interp === '' || runnable(interp) === 'missing' ? 127 : 126, why: `bad interpreter ${JSON.stringify(interp.slice(0, 60))}` };
    return { via: 'direct' };
  }
  return { via: 'sh' };
}

/**
 * execve(2) takes at most 128 KiB per string and, with the usual 8 MiB
 * stack, about 2 MiB in all: past that it fails with E2BIG (which would
 * abort Node.js in process.execve), so it is checked first; sh says 126.
 */
export function tooLarge(argv: string[], env: Record<string, string>): { status: 126; why: string } | undefined {
  const sizes = [...argv, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].map((x) => Buffer.byteLength(x) + 1);
  if (sizes.some((n) => n > 128 * 1024) || sizes.reduce((a, n) => a + n + 8, 0) > 2 * 1024 * 1024 - 64 * 1024) {
    return { status: 126, why: 'argument list too long (the environment and arguments exceed what execve takes: 128 KiB a variable, about 2 MiB in all)' };
  }
  return undefined;
}

/** Whether this Node.js can replace the process with another program. */
export function canReplaceProcess(): boolean {
  return process.platform === 'linux' && typeof (process as { execve?: unknown }).execve === 'function';
}

/** The stdio descriptors Node made non-blocking (a pipe or terminal it opened a stream on): a program run in our place would get EAGAIN on them. */
function restoreBlockingStdio(): void {
  const streams = [
    () => process.stdin,
    () => process.stdout,
    () => process.stderr,
  ];
  for (let fd = 0; fd < 3; fd++) {
    let flags: number;
    try {
      flags = Number.parseInt(/flags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1'))?.[1] ?? '0', 8);
    } catch {
      continue;
    }
    if (!(flags & fsc.O_NONBLOCK)) continue;
    const handle = (streams[fd]!() as unknown as { _handle?: { setBlocking?: (b: boolean) => number } })._handle;
    handle?.setBlocking?.(true);
  }
}

/**
 * Replace aes-payload with the program at `path` (execve), as `exec` in sh
 * does: same pid, no parent left holding the key, the command's exit
 * status and signals the caller's to see. Signals Node.js ignores (SIGPIPE,
 * SIGXFSZ) are given handlers first, so that the program starts with them
 * at their defaults, and stdio is made blocking again. Returns only on
 * failure (an error status and message). The caller has checked the size
 * of argv and env against the kernel's limit ({@link tooLarge}).
 */
export function replaceProcess(path: string, argv: string[], env: Record<string, string>): { status: 127 | 126; why: string } {
  const how = howToRun(path);
  if ('status' in how) return how;
  // A caught signal is reset to its default by execve; an ignored one stays ignored.
  for (const s of ['SIGPIPE', 'SIGXFSZ'] as const) process.on(s, () => {});
  restoreBlockingStdio();
  const exe = (process as unknown as { execve(file: string, args: string[], env: Record<string, string>): never }).execve;
  const [file, args] = how.via === 'sh' ? ['/bin/sh', ['sh', path, ...argv.slice(1)]] : [path, argv];
  // process.execve is experimental: its warning would be printed by the program's time, not ours.
  const emit = process.emitWarning;
  process.emitWarning = () => {};
  try {
    exe(file, args, env);
  } catch (e) {
    process.emitWarning = emit;
    const code = (e as NodeJS.ErrnoException).code;
    return { status: code === 'ENOENT' ? 127 : 126, why: code ?? 'cannot run it' };
  }
  return { status: 126, why: 'cannot run it' };
}

/**
 * Overwrite the values of `names` in this process's initial environment
 * block (the memory /proc/PID/environ shows) with NUL bytes, through
 * /proc/self/mem, so that a child reading its parent's environ finds
 * nothing: deleting from process.env does not touch that block. Linux only.
 * Returns the names still readable there afterwards (the kernel may forbid
 * writing one's own memory this way: proc_mem.force_override=never, or a
 * hardened container).
 *
 * @example
 * ```ts
 * wipeInitialEnvironment(['AES_PAYLOAD_KEY']); // [] when it worked
 * ```
 */
export function wipeInitialEnvironment(names: string[]): string[] {
  const present = (block: Buffer) => names.filter((n) => valueSpans(block, n).some(([a, b]) => block.subarray(a, b).some((c) => c !== 0)));
  let start: number;
  let end: number;
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 50 and 51 of /proc/PID/stat (env_start, env_end); f[0] is field 3.
    start = Number(f[47]);
    end = Number(f[48]);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start) throw new Error('no env_start');
  } catch {
    // Not Linux, or no /proc: nothing to wipe here (and nothing there to check).
    return process.platform === 'linux' ? names.filter((n) => process.env[n]) : [];
  }
  let fd: number | undefined;
  try {
    fd = openSync('/proc/self/mem', 'r+');
    const block = Buffer.alloc(end - start);
    readSync(fd, block, 0, block.length, start);
    for (const n of names) {
      for (const [a, b] of valueSpans(block, n)) if (b > a) writeSync(fd, Buffer.alloc(b - a), 0, b - a, start + a);
    }
  } catch {
    /* not allowed here: reported below */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  try {
    return present(readFileSync('/proc/self/environ'));
  } catch {
    return names.filter((n) => process.env[n]);
  }
}

/** Where the values of `NAME=` entries lie in an environment block. */
function valueSpans(block: Buffer, name: string): [number, number][] {
  const want = Buffer.from(`${name}=`, 'latin1');
  const out: [number, number][] = [];
  for (let i = block.indexOf(want); i !== -1; i = block.indexOf(want, i + 1)) {
    if (i !== 0 && block[i - 1] !== 0) continue;
    const a = i + want.length;
    let b = block.indexOf(0, a);
    if (b === -1) b = block.length;
    out.push([a, b]);
  }
  return out;
}
