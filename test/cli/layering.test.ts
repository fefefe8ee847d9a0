// The CLI only wires (issue 25, docs/ARCHITECTURE.md): src/cli/* reaches
// the library through src/ops/ (and src/keys, src/io, src/rules, src/git),
// never src/crypto/ or a format's insides under src/formats/.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'src/cli');
const FORBIDDEN = ['src/crypto', 'src/formats'];

/** Every module a source text names: static imports and re-exports (type-only too), side-effect imports, import() and require(). */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const patterns = [/\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

/** The src/cli files' imports that land in a forbidden folder, as `file: specifier`. */
function violations(files: { path: string; text: string }[]): string[] {
  const bad: string[] = [];
  for (const f of files) {
    for (const s of specifiers(f.text)) {
      if (!s.startsWith('.')) continue;
      const target = relative(ROOT, resolve(dirname(f.path), s));
      if (FORBIDDEN.some((d) => target === d || target.startsWith(`${d}/`))) bad.push(`${relative(ROOT, f.path)}: ${s}`);
    }
  }
  return bad;
}

function cliFiles(dir = CLI): { path: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return cliFiles(p);
    return e.name.endsWith('.ts') ? [{ path: p, text: readFileSync(p, 'utf8') }] : [];
  });
}

describe('layering: the CLI only wires', () => {
  it('no file under src/cli imports from src/crypto or src/formats (statically, by type, or lazily)', () => {
    const files = cliFiles();
    expect(files.length).toBeGreaterThan(20);
    // The walk sees the CLI's real imports: each command reaches src/ops.
    expect(files.filter((f) => specifiers(f.text).some((s) => s.startsWith('../ops/'))).length).toBeGreaterThan(10);
    expect(violations(files)).toEqual([]);
  });

  it('the check itself catches every way of naming a forbidden module', () => {
    const path = join(CLI, 'example.ts');
    const samples = [
      "import { seal } from '../crypto/aead.js';",
      "import type { Alg } from '../crypto/algs.js';",
      "import * as envelope from '../formats/envelope/codec.js';",
      "export { detectHead } from '../formats/index.js';",
      "import {\n  a,\n  b,\n} from '../formats/age/index.js';",
      "const m = await import('../formats/fields/yamlfields.js');",
      "import '../crypto/kdf.js';",
      "const x = require('../formats/stream/sink.js');",
    ];
    for (const text of samples) expect(violations([{ path, text }]), text).toHaveLength(1);
    expect(violations([{ path, text: "import { encrypt } from '../ops/index.js';\nimport { Option } from 'commander';\nimport { crypto } from './crypto.js';" }])).toEqual([]);
  });
});
