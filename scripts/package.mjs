// `npm run package`: a single executable, dist/aes-payload-linux-x64, built
// with Node's own Single Executable Applications support, offline:
//   1. the esbuild CommonJS bundle (npm run build) is the SEA main script;
//   2. node --experimental-sea-config makes the blob, with a V8 code cache;
//   3. a copy of this node binary gets the blob injected with postject.
// No snapshot (useSnapshot would freeze chalk's colour detection at build time).
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const exe = join(dist, `aes-payload-${process.platform}-${process.arch}`);
const blob = join(dist, 'sea-prep.blob');
const config = join(dist, 'sea-config.json');

execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--if-needed'], { stdio: 'inherit' });
writeFileSync(
  config,
  JSON.stringify({
    main: join(dist, 'aes-payload.cjs'),
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: true,
    useSnapshot: false,
    // Dependencies kept out of the main bundle (src/io/vendor.ts), loaded from these assets when needed.
    assets: { 'yaml.cjs': join(dist, 'vendor/yaml.cjs'), 'selfsigned.cjs': join(dist, 'vendor/selfsigned.cjs') },
  }),
);
execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'inherit' });
rmSync(exe, { force: true });
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
execFileSync(
  process.execPath,
  [join(root, 'node_modules/postject/dist/cli.js'), exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
rmSync(blob, { force: true });
rmSync(config, { force: true });
console.log(`${exe}: ${(statSync(exe).size / 1048576).toFixed(1)} MiB`);
