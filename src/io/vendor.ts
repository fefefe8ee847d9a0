import { join } from 'node:path';

/**
 * Large dependencies that only some runs need (`yaml` for YAML documents,
 * `selfsigned` for `serve --tls-self-signed`, the NATS client for `worker`) are not in the CLI bundle,
 * whose every byte costs start-up time: the build writes each to
 * dist/vendor/NAME.cjs, and the single executable carries them as assets.
 * In the library (dist/lib) they are plain imports.
 */
declare const __BUNDLED__: boolean | undefined;

export type Vendored = 'yaml' | 'selfsigned' | 'nats';

/** Load a vendored dependency in the CLI bundle; undefined outside it (the caller imports the package). */
export function loadVendored<T>(name: Vendored): T | undefined {
  if (typeof __BUNDLED__ === 'undefined') return undefined;
  const sea = process.getBuiltinModule('node:sea') as unknown as { isSea(): boolean; getAsset(k: string, enc: string): string } | undefined;
  if (sea?.isSea()) {
    const m = { exports: {} as T };
    // The asset is the same CommonJS file the npm build writes to dist/vendor/.
    new Function('module', 'exports', 'require', sea.getAsset(`${name}.cjs`, 'utf8'))(m, m.exports, require);
    return m.exports;
  }
  return require(join(__dirname, 'vendor', `${name}.cjs`)) as T;
}
