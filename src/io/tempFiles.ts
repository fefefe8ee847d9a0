import { readdirSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

// The temp files of atomic outputs: removed when the process is interrupted,
// and those a killed run left behind found again.

let staleWarner: ((message: string) => void) | undefined;

/**
 * Have {@link AtomicFile.create} report temp files that a killed run left
 * next to its output (the CLI prints them as warnings).
 *
 * @example
 * ```ts
 * onStaleTemp((m) => ui.warn(m));
 * ```
 */
export function onStaleTemp(warn: (message: string) => void): void {
  staleWarner = warn;
}

/** Temp files of `path` whose writer process is gone. */
export function staleTemps(path: string): string[] {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    if (!n.startsWith(prefix) || !n.endsWith('.tmp')) continue;
    const m = /^(\d+)\.[0-9a-f]{12}\.tmp$/.exec(n.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = pid === process.pid;
    if (!alive) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
    }
    if (!alive) out.push(join(dir, n));
  }
  return out;
}

/** Temp files being written; removed if the process is interrupted. */
export const pending = new Set<string>();
let hooked = false;

/** Remove the temp files being written when SIGINT, SIGTERM or SIGHUP ends the process, or at exit (installed once). */
export function hookSignals(): void {
  if (hooked) return;
  hooked = true;
  const cleanup = () => {
    for (const p of pending) {
      try {
        unlinkSync(p);
      } catch {
        /* already gone */
      }
    }
    pending.clear();
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      cleanup();
      process.kill(process.pid, sig);
    });
  }
  process.once('exit', cleanup);
}

/** Warn, through the function {@link onStaleTemp} set, of each temp file of `path` that a killed run left. */
export function warnStaleTemps(path: string): void {
  if (staleWarner) for (const t of staleTemps(path)) staleWarner(`${t} was left by an interrupted run (killed before it finished); remove it`);
}
