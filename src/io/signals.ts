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
