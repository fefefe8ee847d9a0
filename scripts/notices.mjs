// Third-party notices: the licence of every npm package whose code esbuild
// put into dist/ (the CLI bundle and dist/vendor/*.cjs), found from the
// bundles' metafiles, written to dist/THIRD_PARTY_NOTICES.txt. MIT, ISC and
// the like ask that their notice travel with every copy of the code.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The package folder of a bundled input path (the last node_modules/<name> or node_modules/@scope/<name>). */
function packageDir(root, input) {
  const parts = input.split(/[\\/]/);
  const i = parts.lastIndexOf('node_modules');
  if (i < 0) return undefined;
  const n = parts[i + 1]?.startsWith('@') ? 3 : 2;
  return join(root, ...parts.slice(0, i + n));
}

const LICENCE_FILE = /^(licen[cs]e|copying|notice)(\.(md|txt|markdown))?$/i;

/**
 * The notices text for these esbuild metafiles.
 *
 * @returns {{ text: string, packages: { name: string, version: string, license: string }[] }}
 */
export function thirdPartyNotices(root, metafiles) {
  const dirs = new Set();
  for (const meta of metafiles) for (const input of Object.keys(meta.inputs)) {
    const d = packageDir(root, input);
    if (d) dirs.add(d);
  }
  const packages = [];
  for (const d of [...dirs].sort()) {
    const pj = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8'));
    const files = readdirSync(d).filter((f) => LICENCE_FILE.test(f)).sort();
    const license = typeof pj.license === 'string' ? pj.license : pj.license?.type ?? 'UNKNOWN';
    if (files.length === 0) throw new Error(`${d}: bundled, but it has no licence file to ship (${license})`);
    packages.push({ name: pj.name, version: pj.version, license, texts: files.map((f) => readFileSync(join(d, f), 'utf8').trim()) });
  }
  // One package may be bundled at two versions: say each once.
  const seen = new Set();
  const unique = packages.filter((p) => (seen.has(`${p.name}@${p.version}`) ? false : seen.add(`${p.name}@${p.version}`)));
  const rule = '-'.repeat(72);
  const text =
    'aes-payload bundles the following third-party packages into dist/aes-payload.cjs,\n' +
    'dist/vendor/*.cjs and the single executable. Their licences follow.\n\n' +
    unique.map((p) => `${rule}\n${p.name} ${p.version} (${p.license})\n${rule}\n\n${p.texts.join('\n\n')}\n`).join('\n');
  return { text, packages: unique.map(({ name, version, license }) => ({ name, version, license })) };
}


