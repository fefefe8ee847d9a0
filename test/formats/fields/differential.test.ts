// Differential tests (issue 18): a mutation fuzzer over the bytes of an
// encrypted .env or YAML document that lie outside its values (comments,
// blank lines, white space, quotes, line ends, Unicode line separators,
// BOMs, `export`, tags, directives). For every mutant, either verify and
// decrypt both fail (exit 1 or 4), or every mainstream reader of decrypt's
// output reads exactly the authenticated model: python-dotenv, npm dotenv,
// Node's util.parseEnv, `set -a; . FILE` in sh and exec for .env; PyYAML
// (YAML 1.1) and npm `yaml` (YAML 1.2) for YAML. The accepted mutant itself
// must also read, for each of them, as the encrypted document does (tokens
// as strings): what verify accepts is what anyone reading the file sees.
// The alphabet holds what outside attacks found: escaped and folded line
// breaks in quoted YAML, surrogate escapes, bytes that are not UTF-8,
// numbers and booleans re-spelled, a last line without its line break,
// tabs. The in-process readers are
// checked inside the property (so fast-check shrinks a failure); python3
// and sh read every accepted output in one batch each afterwards.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { variablesOf } from '../../../src/cli/exec.js';
import { AesPayloadError } from '../../../src/errors.js';
import { loadYaml } from '../../../src/formats/fields/yamlfields.js';
import { parsePaths } from '../../../src/formats/fields/paths.js';
import { envValue, parseEnv } from '../../../src/formats/fields/dotenv.js';
import { decrypt, encrypt, verify } from '../../../src/ops/index.js';
import { disagreements, readEnv, readYaml, sameValue, yamlTyped, type Reading } from '../../consumers.js';

const KEY = randomBytes(32);
// Mutants per format (the file takes about 20 s here); DIFFERENTIAL_RUNS=N explores further by hand.
const RUNS = Number(process.env.DIFFERENTIAL_RUNS ?? 800);

const ENV_PLAIN = [
  '# database',
  'DB_HOST=db.local',
  'export DB_PASSWORD="hunter 2" # rotate monthly',
  '',
  "API_TOKEN='t0k3n#1'",
  'TLS_KEY="-----BEGIN PRIVATE KEY-----',
  'MC4CAQAwBQYDK2VwBCIEIGnFbKzRxzPHhc2qy1LZ+XXvfiuGg3vnGvL0bhUU5x7u',
  '-----END PRIVATE KEY-----"',
  'DATABASE_URL=postgres://app@db.local/app?sslmode=require',
  'WIN_PATH="C:\\Users\\me\\dir"',
  "PW_DOLLAR='pa$$word;true'",
  'EMPTY=',
  '# a comment',
  'UNICODE=caf\u00e9',
  '',
].join('\n');
const ENV_FIELDS = 'DB_PASSWORD,API_TOKEN,TLS_KEY,PW_DOLLAR,WIN_PATH';

const YAML_PLAIN = [
  '# application config',
  '---',
  'db:',
  '  host: db.local # the primary',
  '  password: "hunter 2"',
  '  port: 5432',
  '  ratio: 0.75',
  'flags:',
  '  legacy: "no"',
  '  limit: "1_000"',
  '  since: "2001-12-14"',
  "  answer: 'yes'",
  '  enabled: true',
  '  nothing: null',
  'tls:',
  '  key: |',
  '    -----BEGIN PRIVATE KEY-----',
  '    MC4CAQAwBQYDK2VwBCIEIGnFbKzRxzPHhc2qy1LZ+XXvfiuGg3vnGvL0bhUU5x7u',
  '    -----END PRIVATE KEY-----',
  'api:',
  '  tokens: [abc, "d#f"]',
  '  url: https://api.example/v1?x=1',
  '',
].join('\n');
const YAML_FIELDS = 'db.password,flags.answer,flags.legacy,tls.key,api.tokens[*]';

/**
 * What a mutation may put in: line ends and separators, quotes, comment
 * syntax, names an attacker wants, tabs, and bytes that are not UTF-8 (a
 * lone 0xff, a truncated sequence, an overlong one, a surrogate encoded).
 */
const INVALID_UTF8 = [Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xef, 0xbf, 0xbd])];
const COMMON: Piece[] = [
  '\r', '\n', '\r\n', '\u0085', '\u2028', '\u2029', '\ufeff', '\u000b', '\u000c', '\u0000', '\u00a0', '\t', '\t\t', ' \t', ' ', '  ', ' ', ' ',
  '#', ' #', ' # note', '\n# note\n', '\n\n', "'", '"', '`', '\\', '=', ':', '$', '~', 'x', '\ufffd', ...INVALID_UTF8,
];
const ENV_PIECES: Piece[] = [...COMMON, ' = ', '${HOME}', 'export ', 'export\t', ';', '&', 'NODE_OPTIONS=--require=/tmp/x.js', 'LD_PRELOAD=/tmp/x.so', 'DB_HOST=evil', '\nX=1', '\n# c\rY=2', '\n#X=1', '#X=1', '__proto__=x\n', 'constructor=x\n'];
const YAML_PIECES: Piece[] = [
  ...COMMON, ': ', ':\t', '-\t', '!!str ', '!!bool ', '!', '&a ', '*a', '? ', '- ', '{', '}', '[', ']', ',', '|', '>', '%YAML 1.1\n---\n', '---\n', '...\n',
  'no', 'yes', 'on', '<<: ', '0o', '1_', '2001-12-14', '\ninjected: true', '\n  x: 1', ' # c\u2028injected: 1',
  // escaped and folded line breaks inside quoted scalars, surrogate escapes, numbers and booleans re-spelled
  '\\\n', '\\\n\n', '\\\n\n  ', '\n  ', '\n\n  ', '\\ud83d', '\\ude00', '\\ud83d\\ude00', '\\U0001F600', '\\x41', '\\/',
  '.0', '.00', '0', '+', '-', 'e3', 'True', 'TRUE', 'Null', '__proto__: x\n',
];
type Piece = string | Buffer;
interface Op {
  at: number;
  /** chop: the final line break removed (a last line without one). */
  kind: 'insert' | 'delete' | 'replace' | 'chop';
  piece: Piece;
}

/** Positions outside every value's inner text: where insertions may go and which characters may change. */
function outside(text: string, inner: [number, number][]): { gaps: number[]; chars: number[] } {
  const inside = (i: number) => inner.some(([a, b]) => i >= a && i < b);
  const gaps: number[] = [];
  const chars: number[] = [];
  for (let i = 0; i <= text.length; i++) {
    if (!inner.some(([a, b]) => i > a && i < b)) gaps.push(i);
    if (i < text.length && !inside(i)) chars.push(i);
  }
  return { gaps, chars };
}

/** The mutant's bytes (a mutation may put in bytes that are not UTF-8). */
function mutate(text: string, inner: [number, number][], ops: Op[]): Buffer {
  const { gaps, chars } = outside(text, inner);
  const edits = ops.map((o) =>
    o.kind === 'chop'
      ? { at: text.endsWith('\n') ? text.length - 1 : text.length, del: text.endsWith('\n') ? 1 : 0, ins: '' as Piece }
      : o.kind === 'insert'
        ? { at: gaps[o.at % gaps.length]!, del: 0, ins: o.piece }
        : { at: chars[o.at % chars.length]!, del: 1, ins: o.kind === 'replace' ? o.piece : '' },
  );
  edits.sort((a, b) => b.at - a.at);
  const parts: Buffer[] = [];
  let end = text.length;
  let last = Infinity;
  for (const e of edits) {
    if (e.at + e.del > last) continue; // overlapping edit: keep the first
    parts.unshift(Buffer.from(e.ins), Buffer.from(text.slice(e.at + e.del, end)));
    end = e.at;
    last = e.at;
  }
  parts.unshift(Buffer.from(text.slice(0, end)));
  return Buffer.concat(parts);
}

const ops = (pieces: Piece[]) =>
  fc.array(fc.record({ at: fc.nat(), kind: fc.constantFrom('insert' as const, 'delete' as const, 'replace' as const, 'insert' as const, 'chop' as const), piece: fc.constantFrom(...pieces) }), {
    minLength: 1,
    maxLength: 3,
  });

type Outcome = { ok: true; text: string } | { ok: false; code: number };

/** verify and decrypt one mutant; they must agree, and fail only with exit 1 or 4. */
function judge(mutant: Buffer, format: 'env' | 'yaml'): Outcome {
  const v = verify(mutant, KEY, { format });
  let d: Outcome;
  try {
    d = { ok: true, text: decrypt(mutant, KEY, { format }).plaintext.toString('utf8') };
  } catch (e) {
    if (!(e instanceof AesPayloadError)) throw e;
    d = { ok: false, code: e.exitCode };
  }
  if (v.ok !== d.ok) throw new Error(`verify says ${v.ok ? 'OK' : `exit ${v.error?.exitCode}`} but decrypt ${d.ok ? 'succeeds' : `exits ${d.code}`}`);
  if (!d.ok && d.code !== 1 && d.code !== 4) throw new Error(`exit ${d.code}`);
  return d;
}

function report(kind: string, counts: Record<string, number>): void {
  process.stderr.write(`differential ${kind}: ${Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ')}\n`);
}

function checkBatch<R extends string>(readings: Record<R, Reading[]>, outputs: string[], model: unknown): void {
  const bad = disagreements(readings, outputs.map(() => model)).flatMap((list, i) => list.map((b) => `${JSON.stringify(outputs[i])}\n  ${b.reader} read ${JSON.stringify(b.got)}`));
  expect(bad.slice(0, 5), `${bad.length} outputs read otherwise than the model`).toEqual([]);
}

beforeAll(async () => {
  await loadYaml();
});

describe('differential: mutants of encrypted documents, judged by the real readers', () => {
  it('.env: every mutant fails verification, or reads as the model in python-dotenv, npm dotenv, util.parseEnv, sh and exec', () => {
    const model = Object.fromEntries(parseEnv(ENV_PLAIN).entries.map((e) => [e.name, e.value]));
    const doc = encrypt(ENV_PLAIN, KEY, { fields: parsePaths(ENV_FIELDS), inputType: 'env' }).text;
    const inner = parseEnv(doc).entries.map((e): [number, number] => (e.quote ? [e.start + 1, e.end - 1] : [e.start, e.end]));
    // The readers agree with the model on the document itself.
    checkBatch(readEnv([ENV_PLAIN, decrypt(doc, KEY).plaintext.toString()]), [ENV_PLAIN, ENV_PLAIN], model);
    // What the readers make of the encrypted document itself (tokens as strings): an accepted mutant must read the same.
    const encModel = Object.fromEntries(parseEnv(doc).entries.map((e) => [e.name, e.value]));
    checkBatch(readEnv([doc]), [doc], encModel);
    const accepted = new Map<string, string>(); // mutant (latin1) → decrypt's output
    const counts = { mutants: 0, 'refused (exit 1)': 0, 'refused (exit 4)': 0, accepted: 0 };
    const { parse } = require('dotenv') as { parse(s: string): Record<string, string> };
    fc.assert(
      fc.property(ops(ENV_PIECES), (o) => {
        const m = mutate(doc, inner, o);
        counts.mutants++;
        const r = judge(m, 'env');
        if (!r.ok) {
          counts[r.code === 1 ? 'refused (exit 1)' : 'refused (exit 4)']++;
          return;
        }
        counts.accepted++;
        expect(Object.fromEntries(variablesOf(r.text, 'env', 'mutant'))).toEqual(model);
        expect(sameValue({ ...parse(r.text) }, model), `npm dotenv read ${JSON.stringify(parse(r.text))} from ${JSON.stringify(r.text)}`).toBe(true);
        expect(sameValue({ ...require('node:util').parseEnv(r.text) }, model), `util.parseEnv on ${JSON.stringify(r.text)}`).toBe(true);
        const mt = m.toString('utf8');
        expect(sameValue({ ...parse(mt) }, encModel), `npm dotenv read the mutant ${JSON.stringify(mt)} as ${JSON.stringify(parse(mt))}`).toBe(true);
        expect(sameValue({ ...require('node:util').parseEnv(mt) }, encModel), `util.parseEnv on the mutant ${JSON.stringify(mt)}`).toBe(true);
        accepted.set(m.toString('latin1'), r.text);
      }),
      { numRuns: RUNS },
    );
    report('.env', counts);
    expect(counts.accepted).toBeGreaterThan(RUNS / 50);
    expect(counts['refused (exit 4)']).toBeGreaterThan(RUNS / 50);
    const outputs = [...accepted.values()];
    checkBatch(readEnv(outputs), outputs, model);
    const mutants = [...accepted.keys()].map((k) => Buffer.from(k, 'latin1').toString('utf8'));
    checkBatch(readEnv(mutants), mutants, encModel);
  });

  it('YAML: every mutant fails verification, or reads as the model in PyYAML (YAML 1.1) and npm yaml (YAML 1.2)', async () => {
    const Y = await import('yaml');
    const model = yamlTyped(YAML_PLAIN);
    const doc = encrypt(YAML_PLAIN, KEY, { fields: parsePaths(YAML_FIELDS), inputType: 'yaml' }).text;
    // Values: every scalar's source range (quotes included for quoted ones: their inner text is the value).
    const inner: [number, number][] = [];
    Y.visit(Y.parseDocument(doc), {
      Scalar(_k, n) {
        const [a, b] = n.range!;
        const quoted = n.type === 'QUOTE_DOUBLE' || n.type === 'QUOTE_SINGLE';
        inner.push(quoted ? [a + 1, b - 1] : [a, b]);
      },
    });
    checkBatch(readYaml([YAML_PLAIN, decrypt(doc, KEY).plaintext.toString()]), [YAML_PLAIN, YAML_PLAIN], model);
    // What the readers make of the encrypted document itself (tokens as strings): an accepted mutant must read the same.
    const encModel = yamlTyped(doc);
    checkBatch(readYaml([doc]), [doc], encModel);
    const accepted = new Map<string, string>(); // mutant (latin1) → decrypt's output
    const counts = { mutants: 0, 'refused (exit 1)': 0, 'refused (exit 4)': 0, accepted: 0 };
    fc.assert(
      fc.property(ops(YAML_PIECES), (o) => {
        const m = mutate(doc, inner, o);
        counts.mutants++;
        const r = judge(m, 'yaml');
        if (!r.ok) {
          counts[r.code === 1 ? 'refused (exit 1)' : 'refused (exit 4)']++;
          return;
        }
        counts.accepted++;
        let npm: unknown;
        try {
          npm = yamlTyped(r.text);
        } catch (e) {
          npm = `npm yaml failed: ${(e as Error).message}`;
        }
        expect(sameValue(npm, model), `npm yaml read ${JSON.stringify(npm)} from ${JSON.stringify(r.text)}`).toBe(true);
        let npmEnc: unknown;
        try {
          npmEnc = yamlTyped(m.toString('utf8'));
        } catch (e) {
          npmEnc = `npm yaml failed: ${(e as Error).message}`;
        }
        expect(sameValue(npmEnc, encModel), `npm yaml read the mutant ${JSON.stringify(m.toString('utf8'))} as ${JSON.stringify(npmEnc)}`).toBe(true);
        accepted.set(m.toString('latin1'), r.text);
      }),
      { numRuns: RUNS },
    );
    report('YAML', counts);
    expect(counts.accepted).toBeGreaterThan(RUNS / 50);
    expect(counts['refused (exit 4)']).toBeGreaterThan(RUNS / 50);
    const outputs = [...accepted.values()];
    checkBatch(readYaml(outputs), outputs, model);
    const mutants = [...accepted.keys()].map((k) => Buffer.from(k, 'latin1').toString('utf8'));
    checkBatch(readYaml(mutants), mutants, encModel);
  });

  it('values: whatever a token held, and whichever quoting it was moved into, every reader reads the value itself', async () => {
    const Y = await import('yaml');
    const chars = ['a', 'b', 'n', 'r', 't', 'v', 'x', 'U', '0', '1', '_', '-', '.', ':', '/', '=', '?', '*', ' ', '\t', '\n', '#', "'", '"', '`', '\\', '$', '{', '}', '~', ';', '&', '|', '!', '%', '@', ',', '[', ']', 'é', '\u00a0', '\u3000'];
    const value = fc.array(fc.constantFrom(...chars), { maxLength: 12 }).map((a) => a.join(''));
    const envOut: string[] = [];
    const envWant: unknown[] = [];
    const yamlOut: string[] = [];
    const yamlWant: unknown[] = [];
    let unwritable = 0;
    fc.assert(
      fc.property(value, fc.constantFrom('', "'", '"'), (v, q) => {
        let line: string;
        try {
          line = `V=${envValue(v, '')}\n`;
        } catch {
          unwritable++;
          return;
        }
        const e = encrypt(line, KEY, { fields: parsePaths('V'), inputType: 'env' }).text;
        // Move the token into another quoting (not authenticated), then decrypt.
        const moved = e.replace(/^V=(['"]?)(aesp:[A-Za-z0-9_:-]+)\1$/m, `V=${q}$2${q}`);
        const out = decrypt(moved, KEY).plaintext.toString();
        envOut.push(out);
        envWant.push({ V: v });
        const y = encrypt(`k: ${JSON.stringify(v)}\n`, KEY, { fields: parsePaths('k'), inputType: 'yaml' }).text;
        const ymoved = q === '"' ? y : y.replace(/^k: "(aesp:[^"]+)"$/m, q === "'" ? "k: '$1'" : 'k: $1');
        yamlOut.push(decrypt(ymoved, KEY).plaintext.toString());
        yamlWant.push({ k: v });
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
    process.stderr.write(`differential values: ${envOut.length} written, ${unwritable} that no .env quoting holds for every reader (refused)\n`);
    const bad = [
      ...disagreements(readEnv(envOut), envWant).flatMap((l, i) => l.map((b) => `${JSON.stringify(envOut[i])}: ${b.reader} read ${JSON.stringify(b.got)}`)),
      ...disagreements(readYaml(yamlOut), yamlWant).flatMap((l, i) => l.map((b) => `${JSON.stringify(yamlOut[i])}: ${b.reader} read ${JSON.stringify(b.got)}`)),
    ];
    expect(bad.slice(0, 5), `${bad.length} outputs read otherwise`).toEqual([]);
    expect(Y).toBeDefined();
  });
});
