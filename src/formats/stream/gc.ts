
/**
 * node:crypto's `update()` returns a fresh buffer for every call. Those
 * buffers are external memory, which V8 only reclaims after tens of MiB
 * have piled up (a smaller young generation does not change that: measured,
 * see README "Performance"). A minor collection every
 * {@link GC_EVERY_BYTES} of output keeps a stream's memory small and flat:
 * peak RSS grows by about 2 MiB per thread for each MiB more between
 * collections (measured at 1, 2, 4 and 8 MiB), and each collection costs
 * about 0.15 ms.
 */
export const GC_EVERY_BYTES = 1024 * 1024;

let minor: (() => void) | undefined | null;

/** Expose gc() (also to worker threads created afterwards). */
export function enableGc(): void {
  collector();
}

function collector(): (() => void) | null {
  if (minor === undefined) {
    try {
      // node:v8 and node:vm load only here: most runs never stream.
      process.getBuiltinModule('node:v8').setFlagsFromString('--expose-gc');
      const gc = process.getBuiltinModule('node:vm').runInNewContext('gc') as (o?: { type: 'minor' | 'major' }) => void;
      minor = () => gc({ type: 'minor' });
    } catch {
      minor = null; // not available: memory is then bounded by V8's own limits
    }
  }
  return minor;
}

/**
 * Counts chunk output and runs a minor collection every
 * {@link GC_EVERY_BYTES}.
 *
 * @example
 * ```ts
 * const gc = new GcPacer(); gc.produced(65536);
 * ```
 */
export class GcPacer {
  private since = 0;
  produced(bytes: number): void {
    this.since += bytes;
    if (this.since < GC_EVERY_BYTES) return;
    this.since = 0;
    collector()?.();
  }
}
