import type { Ui } from './ui.js';

/** Inputs at least this large get a progress spinner (on a terminal). */
export const PROGRESS_THRESHOLD = 64 * 1024 * 1024;

export interface Progress {
  update(bytes: number): void;
  stop(): void;
}

const MiB = 1024 * 1024;

/**
 * A spinner with bytes done, percent (when the size is known) and MB/s, on
 * stderr. Nothing at all unless stderr is a terminal; for inputs of unknown
 * size it appears once PROGRESS_THRESHOLD bytes have gone by.
 */
export function progress(ui: Ui, label: string, size: number | undefined): Progress {
  // A terminal that reports no width cannot be drawn on safely (ora would clear forever).
  if (!ui.isTTY || !process.stderr.columns || (size !== undefined && size < PROGRESS_THRESHOLD)) return { update() {}, stop() {} };
  const start = Date.now();
  let spinner: { text: string; stop(): unknown; start(): unknown } | undefined;
  let loading = false;
  let last = 0;
  let stopped = false;
  const text = (bytes: number): string => {
    const secs = Math.max(0.001, (Date.now() - start) / 1000);
    const pct = size ? ` (${Math.floor((bytes / size) * 100)}%)` : '';
    return `${label} ${(bytes / MiB).toFixed(0)} MiB${size ? ` of ${(size / MiB).toFixed(0)} MiB` : ''}${pct}, ${(bytes / 1e6 / secs).toFixed(0)} MB/s`;
  };
  return {
    update(bytes) {
      if (stopped) return;
      if (!spinner) {
        if (loading || (size === undefined && bytes < PROGRESS_THRESHOLD)) return;
        loading = true;
        void import('./spinner.js').then(({ ora }) => {
          if (stopped) return;
          spinner = ora({ text: text(bytes), stream: process.stderr, isEnabled: true, discardStdin: false, color: ui.c.level > 0 ? 'cyan' : false });
          spinner.start();
        });
        return;
      }
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      spinner.text = text(bytes);
    },
    stop() {
      stopped = true;
      spinner?.stop();
    },
  };
}
