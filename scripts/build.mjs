// Build: type-check and emit the library (tsc -> dist/lib), then bundle the
// CLI into one CommonJS file (esbuild -> dist/aes-payload.cjs) for fast start.
// `--if-needed` skips the work when every output is newer than every source.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outputs = [join(root, 'dist/aes-payload.cjs'), join(root, 'dist/lib/index.js')];

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

if (process.argv.includes('--if-needed') && outputs.every(existsSync)) {
  const src = Math.max(newest(join(root, 'src')), statSync(join(root, 'package.json')).mtimeMs, statSync(join(root, 'scripts/build.mjs')).mtimeMs, statSync(join(root, 'scripts/notices.mjs')).mtimeMs);
  const out = Math.min(...outputs.map((p) => statSync(p).mtimeMs));
  if (out > src) process.exit(0);
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], {
  stdio: 'inherit',
});
const esbuild = await import('esbuild');

// Modules that only some runs need are loaded on first use: the importer gets
// a stand-in whose every export is a getter that loads the real module. esbuild
// copies a CommonJS module's accessors as accessors (__toESM), so importing the
// stand-in loads nothing. node:child_process (with node:net and node:dgram, a
// tenth of a small encrypt's start-up) is needed only to run a command: key
// commands, exec, edit, git, and commander's executable subcommands, which
// aes-payload has none of. node:net only by serve (and `serve --help` checks
// no address). chalk (with node:tty and node:net, which its
// supports-color loads to look at stdout and stderr) only when stderr gets
// colour: src/cli/ui.ts makes its Chalk on first use.
const LAZY = [
  { filter: /^(node:)?child_process$/, real: 'node:child_process', from: () => true },
  { filter: /^(node:)?net$/, real: 'node:net', from: () => true },
  { filter: /^chalk$/, real: 'chalk', from: (importer) => importer === join(root, 'src/cli/ui.ts') },
];
const lazyModules = {
  name: 'lazy-modules',
  setup(build) {
    for (const { filter, real, from } of LAZY) {
      build.onResolve({ filter }, (args) => (args.namespace !== 'lazy' && from(args.importer) ? { path: real, namespace: 'lazy' } : undefined));
    }
    build.onLoad({ filter: /.*/, namespace: 'lazy' }, async (args) => {
      const names = Object.keys(await import(args.path)).filter((k) => k !== 'default');
      const real = JSON.stringify(args.path);
      return {
        contents: `let m;\nfor (const k of ${JSON.stringify(names)}) Object.defineProperty(exports, k, { get: () => (m ??= require(${real}))[k], enumerable: true });\n`,
        loader: 'js',
        resolveDir: root,
      };
    });
  },
};
// ora imports cli-spinners' whole table (32 KB, most of the spinners in
// the bundle) and uses two of them: `dots`, and `line` where the terminal
// lacks Unicode; the CLI never names another. Only those two are bundled,
// taken from the package's own table at build time. The metafile names that
// virtual module `spinners:cli-spinners`, not a file under node_modules, so
// the notices are told of cli-spinners here: its data is bundled all the same.
let spinnersBundled = false;
const twoSpinners = {
  name: 'two-spinners',
  setup(build) {
    build.onResolve({ filter: /^cli-spinners$/ }, (args) =>
      args.importer.includes(`${join('node_modules', 'ora')}`) ? { path: 'cli-spinners', namespace: 'spinners' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'spinners' }, () => {
      spinnersBundled = true;
      const all = JSON.parse(readFileSync(join(root, 'node_modules/cli-spinners/spinners.json'), 'utf8'));
      return { contents: `module.exports = ${JSON.stringify({ dots: all.dots, line: all.line })};`, loader: 'js' };
    });
  },
};
// Shared by the CLI bundle and the vendored ones.
const cjs = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', minify: true, legalComments: 'linked' };
const metafiles = [];
const main = await esbuild.build({
  ...cjs,
  metafile: true,
  entryPoints: [join(root, 'src/cli/entry.ts')],
  outfile: outputs[0],
  define: { __VERSION__: JSON.stringify(pkg.version), __BUNDLED__: 'true' },
  logLevel: 'warning',
  // pkcs11js: a native addon (optional dependency), required from node_modules at run time, only for
  // --key-uri. yaml and selfsigned: bundled on their own into dist/vendor/ (below), loaded only when needed.
  external: ['pkcs11js', 'yaml', 'selfsigned', '@nats-io/*'],
  plugins: [lazyModules, twoSpinners],
});
metafiles.push(main.metafile);
if (spinnersBundled) metafiles.push({ inputs: { [join('node_modules', 'cli-spinners', 'spinners.json')]: { bytes: 0, imports: [] } } });

// nats: the NATS client for `worker` (the connection and JetStream), in one file.
const vendoredSources = { yaml: 'module.exports = require("yaml");', selfsigned: 'module.exports = require("selfsigned");', nats: 'module.exports = { ...require("@nats-io/transport-node"), ...require("@nats-io/jetstream") };' };
for (const [name, contents] of Object.entries(vendoredSources)) {
  const vendored = await esbuild.build({
    stdin: { contents, resolveDir: root, loader: 'js' },
    ...cjs,
    metafile: true,
    outfile: join(root, 'dist/vendor', `${name}.cjs`),
    logLevel: 'warning',
  });
  metafiles.push(vendored.metafile);
}

// The licences of everything bundled above (scripts/notices.mjs), shipped in the package and beside the executable.
const { thirdPartyNotices } = await import('./notices.mjs');
writeFileSync(join(root, 'dist/THIRD_PARTY_NOTICES.txt'), thirdPartyNotices(root, metafiles).text);

// A V8 code cache of the bundle, taken after real runs (so the functions the
// common commands need are in it): encrypt from stdin, then, in the same
// process, decrypt and verify of what it wrote; bin/aes-payload.js loads it.
// See README, Performance.
// The old cache goes first: V8 checks a cache against its source by length
// only, so a new bundle of the same length would run (and re-save) the old
// code (found when a one-digit change kept the bundle's length).
rmSync(`${outputs[0]}.cache`, { force: true });
const warm = mkdtempSync(join(tmpdir(), 'aes-payload-warm-'));
try {
  const env = { PATH: process.env.PATH, AES_PAYLOAD_KEY: '00'.repeat(32) };
  const bin = join(root, 'bin/aes-payload.js');
  // The document that decrypt and verify read (its run's own cache goes to the temp directory).
  const doc = join(warm, 'warm.json');
  writeFileSync(doc, execFileSync(process.execPath, [bin, 'encrypt'], { input: '{"warm":"up"}', env: { ...env, AES_PAYLOAD_BUILD_CODE_CACHE: join(warm, 'first.cache') } }));
  execFileSync(process.execPath, [bin, 'encrypt'], {
    input: '{"warm":"up"}',
    env: { ...env, AES_PAYLOAD_BUILD_CODE_CACHE: `${outputs[0]}.cache`, AES_PAYLOAD_BUILD_WARM_UP: JSON.stringify([['decrypt', doc], ['verify', doc]]) },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
} finally {
  rmSync(warm, { recursive: true, force: true });
}
