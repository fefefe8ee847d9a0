import { statSync, fstatSync } from 'node:fs';
import { IOError } from '../errors.js';
import { exists } from './atomicFile.js';

/**
 * Outputs: the checks made before any work is done. Atomic writes are in
 * `atomicFile.ts`, their temp files in `tempFiles.ts`; the names other
 * modules import from here stay here.
 */
export { AtomicFile, writeFileAtomic, type AtomicWriteOptions } from './atomicFile.js';
export { onStaleTemp, staleTemps } from './tempFiles.js';
export { signalsFirst } from './signals.js';

/**
 * Check an output path before any work is done: never the input itself
 * (under any name), and not an existing file unless `overwrite`.
 */
export function checkOutput(input: string | undefined, output: string | undefined, overwrite: boolean): void {
  if (!output || output === '-') return;
  let out;
  try {
    out = statSync(output);
  } catch {
    return; // does not exist yet: fine
  }
  if (input && input !== '-') {
    try {
      const a = statSync(input);
      if (a.dev === out.dev && a.ino === out.ino) {
        throw new IOError(`refusing to write the output over the input ${input}`, 'ERR_SAME_FILE');
      }
    } catch (e) {
      if (e instanceof IOError) throw e;
    }
  }
  if (!overwrite) throw exists(output);
}

/** Permission bits of an open file, or of a path. */
export function fileMode(pathOrFd: string | number): number {
  return (typeof pathOrFd === 'number' ? fstatSync(pathOrFd) : statSync(pathOrFd)).mode & 0o777;
}
