import { constants as osc } from 'node:os';

/**
 * Every signal that ends a process by default and that a process can catch
 * (SIGKILL and SIGSTOP cannot be caught; SIGSEGV, SIGBUS, SIGFPE and SIGILL
 * are faults, not requests; SIGPIPE is ignored by Node.js). SIGUSR1 is
 * apart: Node.js would open its inspector on it ({@link closeInspectorSignal}).
 *
 * @example
 * ```ts
 * for (const s of DEADLY_SIGNALS) process.on(s, cleanUp);
 * ```
 */
export const DEADLY_SIGNALS = (
  ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTRAP', 'SIGABRT', 'SIGUSR2', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGIO', 'SIGPWR', 'SIGSYS'] as const
).filter((s) => s in osc.signals) as NodeJS.Signals[];

/**
 * SIGUSR1 makes Node.js open its inspector on 127.0.0.1:9229, through which
 * anyone on the machine who can connect reads process.env (the key) and
 * runs code in the process. A listener replaces Node's handler (checked on
 * Node 20 and 24; the single executable also has --disable-sigusr1), so
 * SIGUSR1 then does nothing. Installed first thing by the entry points
 * (bin/aes-payload.js does it before loading anything); exec passes the
 * signal on to its command.
 */
export function closeInspectorSignal(): void {
  if (process.listenerCount('SIGUSR1') === 0) process.on('SIGUSR1', () => {});
}

/**
 * Let the event loop poll once; call before a commit. A SIGINT or SIGTERM
 * that came while the main thread was blocked in a read (pipes are read
 * with blocking calls) has only marked itself; Ctrl-C in a shell also ends
 * the process feeding the pipe, so the read then returns the end of the
 * input. The signal's handler (which removes the temp file and exits) must
 * win over committing that truncated input as if it were whole. Two turns
 * of setImmediate: from inside an I/O callback the first runs before the
 * next poll, the second always after it.
 *
 * @example
 * ```ts
 * await signalsFirst(); file.commit();
 * ```
 */
export async function signalsFirst(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
