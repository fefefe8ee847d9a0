// `npm run package`: a single executable, dist/aes-payload-linux-x64, built
// with Node's own Single Executable Applications support, offline:
//   1. the esbuild CommonJS bundle (npm run build) is the SEA main script;
//   2. node --experimental-sea-config makes the blob, with a V8 code cache;
//   3. a copy of this node binary gets the blob injected with postject.
// No snapshot (useSnapshot would freeze chalk's colour detection at build time).
//
// Node scans the whole command line of the executable for --env-file and
// --env-file-if-exists and applies that file (NODE_OPTIONS included) before
// the bundle runs (nodejs/node#54232); `--` is where that scan stops. The
// blob's execArgv is `--`, which Node puts before the user's arguments, so
// nothing typed after `aes-payload-linux-x64` makes Node read a file. The
// build checks that on the finished executable, for every spelling, and
// fails if Node still reads one (a Node without execArgv support, say).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { get } from 'node:http';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const exe = join(dist, `aes-payload-${process.platform}-${process.arch}`);
const blob = join(dist, 'sea-prep.blob');
const config = join(dist, 'sea-config.json');

execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--if-needed'], { stdio: 'inherit' });
// SIGUSR1 would open Node's inspector on 127.0.0.1:9229 (process.env, the key, readable through it):
// --disable-sigusr1 (Node 22.14/23.7 and later) turns that off before any code runs; the bundle's
// own SIGUSR1 listener (src/io/signals.ts) covers older ones from its first line.
const noSigusr1 = spawnSync(process.execPath, ['--disable-sigusr1', '-e', '0']).status === 0 ? ['--disable-sigusr1'] : [];
writeFileSync(
  config,
  JSON.stringify({
    main: join(dist, 'aes-payload.cjs'),
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: true,
    useSnapshot: false,
    execArgv: [...noSigusr1, '--'],
    // Dependencies kept out of the main bundle (src/io/vendor.ts), loaded from these assets when needed.
    assets: { 'yaml.cjs': join(dist, 'vendor/yaml.cjs'), 'selfsigned.cjs': join(dist, 'vendor/selfsigned.cjs'), 'nats.cjs': join(dist, 'vendor/nats.cjs') },
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
// The executable is Node.js plus the bundle: ship both licences beside it
// (dist/THIRD_PARTY_NOTICES.txt from the build, then Node.js's own LICENSE).
const nodeLicence = [join(dirname(process.execPath), '../LICENSE'), join(dirname(process.execPath), '../share/doc/node/LICENSE')].find(existsSync);
if (!nodeLicence) throw new Error(`no LICENSE for the Node.js at ${process.execPath}; the executable cannot ship without it`);
writeFileSync(
  `${exe}.THIRD_PARTY_NOTICES.txt`,
  `${readFileSync(join(dist, 'THIRD_PARTY_NOTICES.txt'), 'utf8')}\n${'-'.repeat(72)}\nNode.js ${process.version} (the runtime the executable is built from)\n${'-'.repeat(72)}\n\n${readFileSync(nodeLicence, 'utf8')}`,
);

const probe = mkdtempSync(join(tmpdir(), 'aes-payload-sea-check-'));
try {
  const marker = join(probe, 'ran');
  writeFileSync(join(probe, 'evil.cjs'), `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x');\n`);
  const envFile = join(probe, 'evil.env');
  writeFileSync(envFile, `NODE_OPTIONS="--require=${join(probe, 'evil.cjs')}"\n`);
  const spellings = [['--env-file', envFile], [`--env-file=${envFile}`], ['--env-file-if-exists', envFile], [`--env-file-if-exists=${envFile}`]];
  for (const arg of spellings) {
    for (const args of [[...arg, '--version'], ['exec', ...arg, '--', 'true'], ['exec', '-f', envFile, ...arg, '--', 'true']]) {
      const r = spawnSync(exe, args, { encoding: 'utf8', env: { PATH: process.env.PATH } });
      if (existsSync(marker)) throw new Error(`${exe} ${args.join(' ')}: Node applied the --env-file before aes-payload ran; the executable is unsafe`);
      if (r.status !== 2) throw new Error(`${exe} ${args.join(' ')}: exit ${r.status}, not the refusal (2): ${r.stderr}`);
    }
  }
  await checkNoInspector(exe);
  const v = spawnSync(exe, ['--version'], { encoding: 'utf8' });
  if (v.status !== 0 || !/^\d+\.\d+\.\d+/.test(v.stdout)) throw new Error(`${exe} --version: exit ${v.status}: ${v.stdout}${v.stderr}`);
} catch (e) {
  rmSync(exe, { force: true }); // never leave an unsafe executable behind
  throw e;
} finally {
  rmSync(probe, { recursive: true, force: true });
}
console.log(`${exe}: ${(statSync(exe).size / 1048576).toFixed(1)} MiB`);

/** SIGUSR1 to a running executable (serve) must not open the inspector: it goes on answering and says nothing of a debugger. */
async function checkNoInspector(file) {
  const p = spawn(file, ['serve', '--no-v1', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH } });
  let err = '';
  const exited = new Promise((resolve) => p.on('exit', resolve));
  const port = await new Promise((resolve, reject) => {
    p.stderr.on('data', (b) => {
      err += b;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    exited.then(() => reject(new Error(`${file} serve exited: ${err}`)));
  });
  p.kill('SIGUSR1');
  const status = await new Promise((resolve, reject) => get({ host: '127.0.0.1', port, path: '/healthz' }, (res) => (res.resume(), resolve(res.statusCode))).on('error', reject));
  p.kill('SIGTERM');
  await exited;
  if (status !== 200 || /Debugger|inspector/i.test(err)) throw new Error(`${file}: SIGUSR1 opened the inspector or stopped the server (status ${status}): ${err}`);
}
