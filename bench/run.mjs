// `npm run bench`: every benchmark, each printing ratios against its peer from the same run.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
for (const b of ['coldstart.mjs', 'lines.mjs', 'pipes.mjs', 'stream.mjs', 'serve.mjs']) {
  const r = spawnSync(process.execPath, [join(here, b), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
