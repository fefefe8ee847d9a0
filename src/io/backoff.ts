const cell = new Int32Array(new SharedArrayBuffer(4));

/**
 * What a synchronous read or write does on EAGAIN. aes-payload keeps its
 * descriptors blocking (it never creates process.stdin or process.stdout,
 * which would switch a pipe to non-blocking mode), so this is reached only
 * when a parent process handed over a non-blocking descriptor. Then it
 * waits briefly and tries again, from 50 µs doubling to 1 ms, and starts
 * over after every successful call.
 *
 * @example
 * ```ts
 * const backoff = new Backoff();
 * for (;;) { try { n = writeSync(1, b); backoff.reset(); break; } catch (e) { if (e.code === 'EAGAIN') backoff.wait(); else throw e; } }
 * ```
 */
export class Backoff {
  private ms = 0.05;

  wait(): void {
    Atomics.wait(cell, 0, 0, this.ms);
    this.ms = Math.min(1, this.ms * 2);
  }

  reset(): void {
    this.ms = 0.05;
  }
}
