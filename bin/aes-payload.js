#!/bin/sh
':' //; exec node -- "$0" "$@"
'use strict';
// The two lines above are sh and JavaScript at once. As a command (npm links
// bin/aes-payload.js into node_modules/.bin), sh runs the second line and
// starts Node with `--` before the script: Node scans its whole command line
// for --env-file and --env-file-if-exists and applies that file before any
// JavaScript runs, NODE_OPTIONS included (nodejs/node#54232), and `--` is
// where that scan stops. So nothing the user types after `aes-payload` can
// make Node read a file. For Node, the second line is a string and a comment.
// CommonJS on purpose (see bin/package.json): loading one bundled file keeps
// start-up close to `node -e 0`. The bundle is built by `npm run build`
// (run by `npm ci` through the prepare script), together with a V8 code cache
// of it (dist/aes-payload.cjs.cache) that spares compiling it on every run.
// V8 checks the cache against the source (and its own version and flags) and
// ignores it if they differ; then, at exit, a fresh one replaces it when the
// directory is writable, so that an installed copy run by another Node.js
// version compiles once, not on every start.
// SIGUSR1 would make Node open its inspector on 127.0.0.1:9229, where any
// local process could read the key from process.env: a listener replaces
// Node's handler, so SIGUSR1 does nothing (exec passes it on to its command).
// Installed before anything is loaded; the single executable also has
// --disable-sigusr1 (scripts/package.mjs).
process.on('SIGUSR1', () => {});
const fs = require('fs');
const path = require('path');
const bundle = path.join(__dirname, '../dist/aes-payload.cjs');
let source;
try {
  source = fs.readFileSync(bundle, 'utf8');
} catch (e) {
  process.stderr.write('aes-payload: not built yet; run `npm run build` (or `npm ci`)\n');
  process.exit(70);
}
let cachedData;
try {
  cachedData = fs.readFileSync(`${bundle}.cache`);
} catch {
  /* no cache: compile normally */
}
const vm = require('vm');
const Module = require('module');
const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData });
const out = process.env.AES_PAYLOAD_BUILD_CODE_CACHE;
if (out) {
  // The build's warm-up (scripts/build.mjs): after the command given, the
  // commands in AES_PAYLOAD_BUILD_WARM_UP run in this process too, so that
  // the cache holds what they run as well.
  const more = JSON.parse(process.env.AES_PAYLOAD_BUILD_WARM_UP || '[]');
  process.once('beforeExit', async () => {
    for (const argv of more) {
      const code = await mod.exports.main([process.execPath, bundle, ...argv]);
      if (code !== 0) process.exitCode = code;
    }
  });
  process.once('exit', () => fs.writeFileSync(out, script.createCachedData()));
} else if (cachedData === undefined || script.cachedDataRejected) process.once('exit', () => refreshCache(`${bundle}.cache`));

/** Write a new code cache atomically (a temp file, then rename); say nothing if the directory is read-only. */
function refreshCache(file) {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, script.createCachedData(), { flag: 'wx', mode: 0o644 });
    fs.renameSync(tmp, file);
  } catch {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* never written */
    }
  }
}
const mod = { exports: {} };
script.runInThisContext()(mod.exports, Module.createRequire(bundle), mod, bundle, path.dirname(bundle));
