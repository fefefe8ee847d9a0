// What `npm pack` ships, run on its own from the tarball as an installed
// copy would be (its code cache included), and the licences: the project's
// own (Apache-2.0) and the vendored test vectors' beside them.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { HANG_MS, ROOT, VECTORS, baseEnv, tempDir } from './helpers.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { license?: string; engines: { node: string }; files: string[] };
/** SHA-256 of https://www.apache.org/licenses/LICENSE-2.0.txt, the licence's own text. */
const APACHE_2_SHA256 = 'cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30';
const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Whether V8 takes this cache for this bundle, as bin/aes-payload.js loads them. */
function cacheAccepted(bundle: string): boolean {
  const Module = createRequire(import.meta.url)('node:module') as { wrap(s: string): string };
  const s = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData: readFileSync(`${bundle}.cache`) });
  return s.cachedDataRejected === false;
}

describe('the npm package, installed from its tarball', () => {
  it('ships the bundle\'s V8 code cache and everything the CLI loads; run from the tarball alone it works and its cache is taken (refreshed once for another Node.js)', () => {
    const dir = tempDir();
    const p = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', timeout: HANG_MS });
    expect(p.status, p.stderr).toBe(0);
    const [pack] = JSON.parse(p.stdout) as [{ filename: string; files: { path: string }[] }];
    const paths = pack.files.map((f) => f.path);
    // What bin/aes-payload.js reads, and what the bundle loads from dist/vendor (src/io/vendor.ts).
    const vendor = readdirSync(join(ROOT, 'dist/vendor')).map((f) => `dist/vendor/${f}`);
    for (const want of ['bin/aes-payload.js', 'bin/package.json', 'dist/aes-payload.cjs', 'dist/aes-payload.cjs.cache', ...vendor, 'dist/THIRD_PARTY_NOTICES.txt', 'LICENSE']) expect(paths).toContain(want);
    const x = spawnSync('tar', ['-xzf', join(dir, pack.filename), '-C', dir]);
    expect(x.status, x.stderr?.toString()).toBe(0);
    const bin = join(dir, 'package/bin/aes-payload.js');
    const bundle = join(dir, 'package/dist/aes-payload.cjs');
    // (not compared with dist/'s own: another Node.js version running the tests may be refreshing that one meanwhile)
    expect(statSync(`${bundle}.cache`).size).toBeGreaterThan(1000);
    // No node_modules next to it: the bundle and dist/vendor must be enough (YAML loads dist/vendor/yaml.cjs).
    const env = baseEnv({ AES_PAYLOAD_KEY: '11'.repeat(32) });
    const cli = (args: string[], input = '') => spawnSync(process.execPath, [bin, ...args], { env, input, cwd: dir, timeout: HANG_MS });
    const yaml = join(dir, 'app.yaml');
    writeFileSync(yaml, 'db:\n  password: hunter2 # rotate monthly\n');
    const e = cli(['encrypt', '--fields', 'db.password', yaml]);
    expect(e.status, e.stderr.toString()).toBe(0);
    expect(e.stdout.toString()).toContain('# rotate monthly');
    const enc = join(dir, 'app.enc.yaml');
    writeFileSync(enc, e.stdout);
    expect(cli(['decrypt', enc]).stdout.toString()).toBe('db:\n  password: hunter2 # rotate monthly\n');
    // worker loads the NATS client from dist/vendor/nats.cjs: with no server there, its one-line connect error (exit 5), not a missing module.
    const w = cli(['worker', '--nats', 'nats://127.0.0.1:1', '--stream', 'S', '--in', 'a', '--out', 'b', 'encrypt']);
    expect(w.stderr.toString()).toMatch(/^aes-payload: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1: /);
    expect(w.status).toBe(5);
    // After one run the cache fits this Node.js (the shipped one, or one written in its place at exit) ...
    expect(cacheAccepted(bundle)).toBe(true);
    const before = readFileSync(`${bundle}.cache`);
    const mtime = statSync(`${bundle}.cache`).mtimeMs;
    // ... and later runs take it as it is: no compiling, and no writing, on every start.
    expect(cli(['keygen']).status).toBe(0);
    expect(statSync(`${bundle}.cache`).mtimeMs).toBe(mtime);
    expect(readFileSync(`${bundle}.cache`).equals(before)).toBe(true);
    expect(readdirSync(join(dir, 'package/dist')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a copy with no cache (or a stale one) writes one at exit, atomically, and takes it from then on', () => {
    const dir = tempDir();
    const p = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', timeout: HANG_MS });
    expect(p.status, p.stderr).toBe(0);
    expect(spawnSync('tar', ['-xzf', join(dir, (JSON.parse(p.stdout) as [{ filename: string }])[0].filename), '-C', dir]).status).toBe(0);
    const bundle = join(dir, 'package/dist/aes-payload.cjs');
    writeFileSync(`${bundle}.cache`, Buffer.from('not a V8 code cache'));
    const r = spawnSync(process.execPath, [join(dir, 'package/bin/aes-payload.js'), '--version'], { env: baseEnv(), encoding: 'utf8', timeout: HANG_MS });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(cacheAccepted(bundle)).toBe(true);
    expect(readdirSync(join(dir, 'package/dist')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('licences', () => {
  it('review 20.12: dist/THIRD_PARTY_NOTICES.txt (shipped in the tarball) has the licence text of every package esbuild bundled into dist/', async () => {
    // What is bundled, found again here from esbuild's own metafiles (the same entry points and externals as scripts/build.mjs).
    const esbuild = await import('esbuild');
    const common = { bundle: true, platform: 'node' as const, format: 'cjs' as const, target: 'node20', write: false, metafile: true, logLevel: 'silent' as const };
    const metas = [
      (await esbuild.build({ ...common, entryPoints: [join(ROOT, 'src/cli/entry.ts')], external: ['pkcs11js', 'yaml', 'selfsigned'], define: { __VERSION__: '"0"', __BUNDLED__: 'true' } })).metafile,
      ...(await Promise.all(['yaml', 'selfsigned'].map((name) => esbuild.build({ ...common, stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: ROOT, loader: 'js' } })))).map((r) => r.metafile),
    ];
    const dirs = new Set<string>();
    for (const m of metas) for (const input of Object.keys(m.inputs)) {
      const parts = input.split('/');
      const i = parts.lastIndexOf('node_modules');
      if (i >= 0) dirs.add(parts.slice(0, i + (parts[i + 1]!.startsWith('@') ? 3 : 2)).join('/'));
    }
    const notices = readFileSync(join(ROOT, 'dist/THIRD_PARTY_NOTICES.txt'), 'utf8');
    const names = new Set<string>();
    for (const d of dirs) {
      const pj = JSON.parse(readFileSync(join(ROOT, d, 'package.json'), 'utf8')) as { name: string; version: string };
      names.add(pj.name);
      expect(notices, `${pj.name} ${pj.version}`).toContain(`\n${pj.name} ${pj.version} (`);
      const licence = readdirSync(join(ROOT, d)).find((f) => /^licen[cs]e(\.(md|txt))?$/i.test(f));
      expect(licence, `${d} has a licence file`).toBeDefined();
      expect(notices).toContain(readFileSync(join(ROOT, d, licence!), 'utf8').trim());
    }
    for (const direct of ['commander', 'chalk', 'ini', '@inquirer/prompts', '@inquirer/core', 'ora', 'yaml', 'selfsigned']) expect(names).toContain(direct);
    expect(pkg.files).toContain('dist/THIRD_PARTY_NOTICES.txt');
  });

  it('LICENSE is the Apache License 2.0, word for word, and package.json says so', () => {
    expect(sha256(join(ROOT, 'LICENSE'))).toBe(APACHE_2_SHA256);
    expect(pkg.license).toBe('Apache-2.0');
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toMatch(/Apache-2\.0.*\bLICENSE\b/s);
  });

  it('every vendored test vector keeps its licence beside it, and test/vectors/README.md names its source', () => {
    const readme = readFileSync(join(VECTORS, 'README.md'), 'utf8');
    const dirs = new Map<string, string[]>();
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else dirs.set(d, [...(dirs.get(d) ?? []), e.name]);
      }
    };
    walk(VECTORS);
    for (const [d, files] of dirs) {
      const rel = d.slice(VECTORS.length + 1);
      const licences = files.filter((f) => /LICENSE/.test(f));
      const data = files.filter((f) => f.endsWith('.json'));
      if (!data.length) continue;
      expect(licences.length, `licence beside ${rel || 'test/vectors'}`).toBeGreaterThan(0);
      for (const l of licences) expect(readme).toContain(`${rel ? `${rel}/` : ''}${l}`);
      for (const f of data) expect(readme, f).toContain(`${rel ? `${rel}/` : ''}${f}`.replace(/^.*\//, ''));
    }
    // Wycheproof's licence is the Apache License 2.0 itself (without the final newline); the JOSE cookbook's is the Unlicense.
    expect(createHash('sha256').update(Buffer.concat([readFileSync(join(VECTORS, 'wycheproof-LICENSE')), Buffer.from('\n')])).digest('hex')).toBe(APACHE_2_SHA256);
    expect(readFileSync(join(VECTORS, 'jose/cookbook-LICENSE'), 'utf8')).toMatch(/unencumbered software released into the public domain/);
    expect(existsSync(join(ROOT, 'LICENSE'))).toBe(true);
  });
});

describe('the README', () => {
  it('gives one Node.js minimum, the one package.json enforces', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const min = /^>=(\d+\.\d+)$/.exec(pkg.engines.node)![1];
    const stated = [...readme.matchAll(/Node(?:\.js)? (\d+\.\d+)(?:\.\d+)? or newer/g)].map((m) => m[1]);
    expect(stated.length).toBeGreaterThan(0);
    expect(new Set(stated)).toEqual(new Set([min]));
  });
});
