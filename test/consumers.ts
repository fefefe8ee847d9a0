// The outside readers of what aes-payload emits (issue 18): python-dotenv,
// npm dotenv, Node's own util.parseEnv and `set -a; . FILE` in sh for .env
// texts; PyYAML (YAML 1.1) and npm `yaml` (YAML 1.2) for YAML. Each batch of
// texts is written to files and read by one process per external reader (one
// python3, one sh), so that hundreds of texts cost a few processes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { PYTHON } from './helpers.js';

const require = createRequire(import.meta.url);
const npmDotenv = require('dotenv') as { parse(src: string | Buffer): Record<string, string> };
const npmYaml = require('yaml') as typeof import('yaml');

/** What one reader made of one text: its variables (or YAML value), or why it could not read it. */
export type Reading = { ok: true; value: unknown } | { ok: false; error: string };

function withFiles<T>(texts: string[], f: (files: string[], dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'aes-payload-consumers-'));
  try {
    const files = texts.map((t, i) => {
      const p = join(dir, `doc${i}`);
      writeFileSync(p, t);
      return p;
    });
    return f(files, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function python(script: string, files: string[]): Reading[] {
  const r = spawnSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as Reading[];
  if (out.length !== files.length) throw new Error('python3 read a different number of files');
  return out;
}

const PY_DOTENV = `
import json, sys
from dotenv import dotenv_values
out = []
for p in sys.argv[1:]:
    try:
        out.append({"ok": True, "value": dict(dotenv_values(p))})
    except Exception as e:
        out.append({"ok": False, "error": type(e).__name__ + ": " + str(e)})
print(json.dumps(out))
`;

// Values in a form JSON keeps apart: bool is not int, a float is not an int
// ({"$float": x}: 5432.0 is not 5432), a non-string key or a date is marked
// rather than silently turned into a string.
const PY_YAML = `
import json, sys, yaml
def typed(o):
    if isinstance(o, dict):
        if not all(isinstance(k, str) for k in o):
            return {"$python": "mapping with non-string keys " + repr(list(o.keys()))}
        return {k: typed(v) for k, v in o.items()}
    if isinstance(o, list):
        return [typed(v) for v in o]
    if isinstance(o, float):
        if o != o or o in (float("inf"), float("-inf")):
            return {"$python": repr(o)}
        return {"$float": o}
    if isinstance(o, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in o):
        return {"$python": "a string with lone surrogates " + ascii(o)}
    if o is None or isinstance(o, (bool, int, str)):
        return o
    return {"$python": type(o).__name__ + " " + repr(o)}
out = []
for p in sys.argv[1:]:
    try:
        with open(p, encoding="utf-8") as f:
            docs = list(yaml.safe_load_all(f))
        if len(docs) != 1:
            out.append({"ok": False, "error": "%d documents" % len(docs)})
        else:
            out.append({"ok": True, "value": typed(docs[0])})
    except Exception as e:
        out.append({"ok": False, "error": type(e).__name__ + ": " + str(e)})
print(json.dumps(out))
`;

/**
 * The variables sh exports after `set -a; . FILE`, in a clean environment
 * (env -i), each file in its own subshell, minus what sh itself sets.
 */
function shReadings(files: string[], dir: string): Reading[] {
  const sep = '\u0001END\u0001';
  const script = `for f; do ( set -a; . "$f"; printf 'SOURCED\\0'; exec /usr/bin/env -0 ) 2>/dev/null; printf '${sep}\\0'; done`;
  const r = spawnSync('env', ['-i', '/bin/sh', '-c', script, 'sh', '/dev/null', ...files], { cwd: dir, maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
  if (r.error) throw r.error;
  const parts = r.stdout.toString('utf8').split(`${sep}\0`);
  const blocks = parts.slice(0, files.length + 1).map((b) => b.split('\0').filter((x) => x !== ''));
  // A syntax error ends the subshell before SOURCED: sh could not read that file.
  if (blocks.length !== files.length + 1) throw new Error('sh read a different number of files');
  const base = new Map(blocks[0]!.slice(1).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return blocks.slice(1).map((b) => {
    if (b[0] !== 'SOURCED') return { ok: false, error: 'sh could not source the file' };
    const vars: Record<string, string> = {};
    for (const kv of b.slice(1)) {
      const name = kv.slice(0, kv.indexOf('='));
      const value = kv.slice(kv.indexOf('=') + 1);
      if (base.get(name) !== value) vars[name] = value;
    }
    return { ok: true, value: vars };
  });
}

function inProcess(texts: string[], read: (t: string) => unknown): Reading[] {
  return texts.map((t) => {
    try {
      return { ok: true, value: read(t) };
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  });
}

export const ENV_READERS = ['python-dotenv', 'npm dotenv', 'node util.parseEnv', 'sh'] as const;
export const YAML_READERS = ['PyYAML', 'npm yaml'] as const;

/** Every .env reader's variables for each text (a plain object of strings). */
export function readEnv(texts: string[]): Record<(typeof ENV_READERS)[number], Reading[]> {
  return withFiles(texts, (files, dir) => ({
    'python-dotenv': python(PY_DOTENV, files),
    'npm dotenv': inProcess(texts, (t) => ({ ...npmDotenv.parse(t) })),
    'node util.parseEnv': inProcess(texts, (t) => ({ ...parseEnv(t) })),
    sh: shReadings(files, dir),
  }));
}

/**
 * What npm `yaml` (YAML 1.2 core) reads, with floats marked as PyYAML's are
 * ({"$float": x}), told by the scalar's text: a number written with a
 * fraction or an exponent (or .inf, .nan) is a float, others are integers.
 */
export function yamlTyped(text: string): unknown {
  const docs = npmYaml.parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length !== 1) throw new Error(`${Array.isArray(docs) ? docs.length : 0} documents`);
  const doc = docs[0]!;
  if (doc.errors.length) throw new Error(doc.errors[0]!.message);
  const walk = (n: unknown): unknown => {
    if (n === null || n === undefined) return null;
    if (npmYaml.isMap(n)) {
      const o: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      for (const p of n.items) o[String(npmYaml.isScalar(p.key) ? p.key.value : p.key)] = walk(p.value);
      return { ...o };
    }
    if (npmYaml.isSeq(n)) return n.items.map(walk);
    if (npmYaml.isAlias(n)) return walk(n.resolve(doc));
    if (npmYaml.isScalar(n)) {
      if (typeof n.value === 'number' && /[.eE]|inf|nan/i.test(n.source ?? String(n.value))) return Number.isFinite(n.value) ? { $float: n.value } : { $python: String(n.value) };
      return n.value;
    }
    throw new Error('an unexpected node');
  };
  return walk(doc.contents);
}

/** Every YAML reader's value for each text. */
export function readYaml(texts: string[]): Record<(typeof YAML_READERS)[number], Reading[]> {
  return withFiles(texts, (files) => ({
    PyYAML: python(PY_YAML, files),
    'npm yaml': inProcess(texts, yamlTyped),
  }));
}

/** Deep equality of JSON-like values, keeping booleans, numbers, strings and null apart, and mapping keys unordered. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return Object.is(a, b) || (typeof a === 'number' && a === b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((v, i) => sameValue(v, (b as unknown[])[i]));
  const ka = Object.keys(a as object).sort();
  const kb = Object.keys(b as object).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** For each text, the readers that did not read `expected[i]` (empty when all agree with the model). */
export function disagreements<R extends string>(readings: Record<R, Reading[]>, expected: unknown[]): { reader: R; got: Reading }[][] {
  return expected.map((want, i) =>
    (Object.keys(readings) as R[]).flatMap((reader) => {
      const got = readings[reader][i]!;
      return got.ok && sameValue(got.value, want) ? [] : [{ reader, got }];
    }),
  );
}
