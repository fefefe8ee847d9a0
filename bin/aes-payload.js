#!/usr/bin/env node
'use strict';
// CommonJS on purpose (see bin/package.json): loading one bundled file keeps
// start-up close to `node -e 0`. The bundle is built by `npm run build`
// (run by `npm ci` through the prepare script).
try {
  require('../dist/aes-payload.cjs');
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes('aes-payload.cjs')) {
    process.stderr.write('aes-payload: not built yet; run `npm run build` (or `npm ci`)\n');
    process.exitCode = 70;
  } else {
    throw e;
  }
}
