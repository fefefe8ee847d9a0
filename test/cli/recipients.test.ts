// Field documents encrypted to age recipients (issue 22; FORMAT.md §17): round trips through the
// built CLI for .env, JSON and YAML with one and three recipients, any one identity reading;
// recipients list/add/remove/rotate; hostile headers (swapped, duplicated, dropped, reordered
// stanzas; two recipients given different data keys); the outputs read by their real consumers;
// and the embedded header read by the real age.
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIdentityFile, serializeHeader, wrapFileKey, parseRecipient, type Stanza } from '../../src/formats/age/index.js';
import { sealPayload } from '../../src/formats/age/payload.js';
import { bufferReader } from '../../src/formats/age/reader.js';
import { b64urlDecodeStrict, b64urlEncode } from '../../src/formats/common/base64.js';
import { decodeHeader, openHeader } from '../../src/formats/fields/recipients.js';
import { disagreements, readEnv, readYaml, yamlTyped } from '../consumers.js';
import { PYTHON, oneLineError, run, runPeer, tempDir, ageKeyAt } from '../helpers.js';

const dir = tempDir();
let n = 0;
const tmp = (name: string) => join(dir, `${n++}-${name}`);

const key = (): { file: string; recipient: string } => ageKeyAt(tmp('key.txt'));
const [A, B, C, D] = [key(), key(), key(), key()];

const DOCS = {
  env: { name: '.env', paths: 'DB_PASSWORD,API_TOKEN', text: '# db\nDB_PASSWORD=hunter2\nDB_HOST=db.local\nAPI_TOKEN="tok en"\n' },
  json: { name: 'c.json', paths: 'db.password,api', text: '{\n  "db": {"password": "p4ss", "port": 5432},\n  "api": 12.50,\n  "name": "x"\n}\n' },
  yaml: { name: 'c.yaml', paths: 'db.password,api', text: 'db:\n  password: p4ss # rotate me\n  port: 5432\napi: "k"\nname: x\n' },
} as const;
type Kind = keyof typeof DOCS;

function write(text: string, name: string): string {
  const f = tmp(name);
  writeFileSync(f, text);
  return f;
}

/** encrypt --fields to `to`; returns the path of the encrypted document. */
function sealTo(kind: Kind, to: { recipient: string }[]): string {
  const d = DOCS[kind];
  const src = write(d.text, d.name);
  const out = `${src}.aesp`;
  const r = run(['encrypt', '--fields', d.paths, ...to.flatMap((k) => ['-r', k.recipient]), ...(kind === 'json' ? [] : ['--input-type', kind]), src, '-o', out]);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

describe('encrypt --fields -r: round trips', () => {
  for (const kind of ['env', 'json', 'yaml'] as const) {
    for (const count of [1, 3]) {
      it(`${kind}, ${count} recipient(s): each identity alone decrypts it byte for byte; the values are tokens; public keys only`, () => {
        const to = [A, B, C].slice(0, count);
        const f = sealTo(kind, to);
        const text = readFileSync(f, 'utf8');
        expect(text).not.toContain('hunter2');
        expect(text).not.toContain('p4ss');
        expect(text).toMatch(/aesp_recipients[=:"]/);
        for (const k of to) {
          const r = run(['decrypt', '-i', k.file, f]);
          expect(r.code, r.stderr).toBe(0);
          expect(r.out).toBe(DOCS[kind].text);
          const v = run(['verify', '-i', k.file, f]);
          expect(v.code, v.stderr).toBe(0);
          expect(v.stderr).not.toContain('structure only');
        }
        // The identity from the environment, as CI passes it.
        const e = run(['decrypt', '--identity-env', 'AGE_ID', f], { env: { AGE_ID: readFileSync(to[0]!.file, 'utf8') } });
        expect(e.code, e.stderr).toBe(0);
        expect(e.out).toBe(DOCS[kind].text);
        // A fresh data key per document: two encryptions of the same file share no token.
        const g = readFileSync(sealTo(kind, to), 'utf8');
        const tokens = (t: string) => t.match(/aesp:2:A256GCM:[^"\s]+/g)!;
        expect(tokens(g).some((t) => tokens(text).includes(t))).toBe(false);
      });
    }
  }

  it('--extract and exec read it with one identity', () => {
    const f = sealTo('env', [A, B]);
    const x = run(['decrypt', '-i', B.file, '--extract', 'DB_PASSWORD', f]);
    expect(x.code, x.stderr).toBe(0);
    expect(x.out).toBe('hunter2');
    const j = run(['decrypt', '-i', A.file, '--extract', 'db.password', sealTo('json', [A])]);
    expect(j.out).toBe('p4ss');
    const e = run(['exec', '-f', f, '-i', A.file, '--', 'sh', '-c', 'printf "%s|%s|%s" "$DB_PASSWORD" "$API_TOKEN" "${AGE_ID-unset}"']);
    expect(e.code, e.stderr).toBe(0);
    expect(e.out).toBe('hunter2|tok en|unset');
    // --identity-env's variable is not passed on to the command.
    const e2 = run(['exec', '-f', f, '--identity-env', 'AGE_ID', '--', 'sh', '-c', 'printf "%s" "${AGE_ID-unset}"'], { env: { AGE_ID: readFileSync(A.file, 'utf8') } });
    expect(e2.code, e2.stderr).toBe(0);
    expect(e2.out).toBe('unset');
  });

  it('edit with an identity: the changed value is sealed under the same data key, others keep their tokens, the recipients stay', () => {
    const f = sealTo('env', [A, B]);
    const before = readFileSync(f, 'utf8');
    const ed = write('#!/bin/sh\nsed -i "s/^DB_PASSWORD=.*/DB_PASSWORD=changed/" "$1"\n', 'ed.sh');
    chmodSync(ed, 0o700);
    const r = run(['edit', '-i', A.file, f], { env: { EDITOR: ed } });
    expect(r.code, r.stderr).toBe(0);
    const after = readFileSync(f, 'utf8');
    const line = (t: string, name: string) => t.split('\n').find((l) => l.startsWith(`${name}=`));
    expect(line(after, 'API_TOKEN')).toBe(line(before, 'API_TOKEN'));
    expect(line(after, 'aesp_recipients')).toBe(line(before, 'aesp_recipients'));
    expect(line(after, 'DB_PASSWORD')).not.toBe(line(before, 'DB_PASSWORD'));
    const d = run(['decrypt', '-i', B.file, f]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.out).toBe(DOCS.env.text.replace('hunter2', 'changed'));
  });

  it('adding a value with an identity (encrypt --fields -i on the document) keeps every other token', () => {
    const src = write('A=1\nB=2\n', '.env');
    const f = `${src}.aesp`;
    expect(run(['encrypt', '--fields', 'A', '-r', A.recipient, '-r', B.recipient, src, '-o', f]).code).toBe(0);
    const before = readFileSync(f, 'utf8');
    const f2 = `${f}.2`;
    const r = run(['encrypt', '--fields', 'B', '-i', B.file, f, '-o', f2]);
    expect(r.code, r.stderr).toBe(0);
    const after = readFileSync(f2, 'utf8');
    expect(after.split('\n')[0]).toBe(before.split('\n')[0]);
    expect(after).toMatch(/^B=aesp:2:A256GCM:/m);
    expect(run(['decrypt', '-i', A.file, f2]).out).toBe('A=1\nB=2\n');
  });
});

describe('no identity, wrong identity, wrong recipients', () => {
  it('no identity: exit 3, one line naming -i; wrong identity: exit 1, one line; nothing on stdout', () => {
    const f = sealTo('yaml', [A, B]);
    const r = run(['decrypt', f]);
    expect(r.code).toBe(3);
    expect(oneLineError(r.stderr)).toMatch(/encrypted to age recipients: give your identity with -i/);
    expect(r.stdout.length).toBe(0);
    const w = run(['decrypt', '-i', D.file, f]);
    expect(w.code).toBe(1);
    expect(oneLineError(w.stderr)).toMatch(/no identity given matches a recipient of this document \(2: age1/);
    expect(w.stdout.length).toBe(0);
    expect(run(['verify', '-i', D.file, f]).code).toBe(1);
    expect(run(['exec', '-f', f, '-i', D.file, '--', 'true']).code).toBe(1);
    // A symmetric key is no way in either.
    const k = run(['decrypt', f], { env: { AES_PAYLOAD_KEY: randomBytes(32).toString('base64') } });
    expect(k.code).toBe(3);
  });

  it('a passphrase is not a document recipient; a symmetric key flag with -r is refused; bad recipients are refused', () => {
    const src = write('A=1\n', '.env');
    const p = run(['encrypt', '--fields', 'A', '-r', A.recipient, '--passphrase-env', 'P', src], { env: { P: 'correct horse' } });
    expect(p.code).toBe(2);
    oneLineError(p.stderr);
    const bad = run(['encrypt', '--fields', 'A', '-r', 'age1notakey', src]);
    expect(bad.code).toBe(3);
    oneLineError(bad.stderr);
    const twice = run(['encrypt', '--fields', 'A', '-r', A.recipient, '-r', A.recipient, src]);
    expect(twice.code).toBe(2);
  });

  it('verify --no-key checks the structure; recipients list needs no key', () => {
    const f = sealTo('json', [A, B, C]);
    const v = run(['verify', '--no-key', f]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toContain('structure only');
    const l = run(['recipients', 'list', f]);
    expect(l.code, l.stderr).toBe(0);
    expect(l.out).toBe(`${A.recipient}\n${B.recipient}\n${C.recipient}\n`);
    expect(JSON.parse(run(['recipients', 'list', '--json', f]).out)).toEqual([A.recipient, B.recipient, C.recipient]);
  });
});

describe('recipients add | remove | rotate', () => {
  it('add rewraps the data key (values byte for byte unchanged) and the new party reads; it needs an identity', () => {
    const f = sealTo('env', [A]);
    const before = readFileSync(f, 'utf8');
    expect(run(['recipients', 'add', f, '-r', B.recipient]).code).toBe(3);
    const r = run(['recipients', 'add', f, '-i', A.file, '-r', B.recipient]);
    expect(r.code, r.stderr).toBe(0);
    const after = readFileSync(f, 'utf8');
    const body = (t: string) => t.split('\n').filter((l) => !l.startsWith('aesp_recipients=')).join('\n');
    expect(body(after)).toBe(body(before));
    expect(run(['decrypt', '-i', B.file, f]).out).toBe(DOCS.env.text);
    expect(run(['recipients', 'list', f]).out).toBe(`${A.recipient}\n${B.recipient}\n`);
  });

  it('remove says plainly that old copies stay readable; the removed identity no longer opens the new file; rotate re-keys every value', () => {
    const f = sealTo('yaml', [A, B]);
    const old = readFileSync(f, 'utf8');
    const r = run(['recipients', 'remove', '--no-rotate', f, '-i', A.file, '-r', B.recipient]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/can still read old copies/);
    expect(r.stderr).toMatch(/recipients rotate/);
    expect(run(['decrypt', '-i', B.file, f]).code).toBe(1);
    expect(run(['decrypt', '-i', A.file, f]).out).toBe(DOCS.yaml.text);
    // The old copy still opens for B: what the warning says.
    expect(run(['decrypt', '-i', B.file, write(old, 'old.yaml')]).out).toBe(DOCS.yaml.text);
    const before = readFileSync(f, 'utf8');
    const rot = run(['recipients', 'rotate', f, '-i', A.file]);
    expect(rot.code, rot.stderr).toBe(0);
    const after = readFileSync(f, 'utf8');
    const tok = (t: string) => /password: (\S+)/.exec(t)![1];
    expect(tok(after)).not.toBe(tok(before));
    expect(run(['decrypt', '-i', A.file, f]).out).toBe(DOCS.yaml.text);
    // The top-level rotate with an identity does the same.
    const top = run(['rotate', '-i', A.file, f]);
    expect(top.code, top.stderr).toBe(0);
    expect(tok(readFileSync(f, 'utf8'))).not.toBe(tok(after));
    expect(run(['decrypt', '-i', A.file, f]).out).toBe(DOCS.yaml.text);
    // Removing the last recipient, or one that is not there, is refused.
    expect(run(['recipients', 'remove', f, '-i', A.file, '-r', A.recipient]).code).toBe(2);
    expect(run(['recipients', 'remove', f, '-i', A.file, '-r', C.recipient]).code).toBe(2);
  });
});

// Hostile headers: built with the library from the pieces of real documents.
function headerOf(text: string): string {
  return /aesp:2:rcpt:[A-Za-z0-9_:-]+/.exec(text)![0];
}
function withHeader(text: string, h: string): string {
  return text.replace(/aesp:2:rcpt:[A-Za-z0-9_:-]+/, h);
}
function ageHeaderOf(h: string): Buffer {
  return b64urlDecodeStrict(h.split(':')[4]!, 'h');
}
/** A header with these stanzas and list, its age MAC and list MAC computed under `fileKey` (what a recipient who knows F can do). */
function craft(list: string[], stanzas: Stanza[], fileKey: Buffer, macKeyFor: Buffer = fileKey): string {
  const age = serializeHeader(stanzas, macKeyFor);
  const macInput = `aesp:2:rcpt:${list.join('_')}:${b64urlEncode(age)}`;
  // The list MAC as FORMAT.md §17.2 defines it.
  const k = Buffer.from(hkdfSync('sha256', macKeyFor, Buffer.alloc(0), 'aes-payload v2 recipients mac', 32));
  return `${macInput}:${b64urlEncode(createHmac('sha256', k).update(macInput).digest())}`;
}
const ids = (f: string) => parseIdentityFile(readFileSync(f, 'utf8'), f);

describe('hostile recipients headers', () => {
  const expectRefused = (text: string, who: { file: string }[], codes = [1, 4]) => {
    const f = write(text, 'h.env');
    for (const k of who) {
      const r = run(['decrypt', '-i', k.file, f]);
      expect(codes, `${r.code} ${r.stderr}`).toContain(r.code);
      oneLineError(r.stderr);
      expect(r.stdout.length).toBe(0);
    }
  };

  it('the header of another document (same recipients) fails: its data key does not match this document', () => {
    const one = readFileSync(sealTo('env', [A, B]), 'utf8');
    const two = readFileSync(sealTo('env', [A, B]), 'utf8');
    expectRefused(withHeader(one, headerOf(two)), [A, B]);
  });

  it('a stanza taken from another document, duplicated, dropped or reordered: refused', () => {
    const one = readFileSync(sealTo('env', [A, B, C]), 'utf8');
    const two = readFileSync(sealTo('env', [A, B, C]), 'utf8');
    const h1 = decodeHeader(headerOf(one));
    const h2 = decodeHeader(headerOf(two));
    const rebuilt = (list: string[], stanzas: Stanza[]) => {
      // Keep the original age MAC line and list MAC: the attacker does not know F.
      const age = ageHeaderOf(headerOf(one));
      const macLine = age.toString('latin1').split('\n').slice(-2)[0]!; // "--- <mac>"
      const head = serializeHeader(stanzas, randomBytes(16)).toString('latin1').split('\n').slice(0, -2).join('\n');
      const text = Buffer.from(`${head}\n${macLine}\n`, 'latin1');
      const parts = headerOf(one).split(':');
      return `aesp:2:rcpt:${list.join('_')}:${b64urlEncode(text)}:${parts[5]}`;
    };
    const list = h1.recipients;
    const s = h1.stanzas;
    expectRefused(withHeader(one, rebuilt(list, [h2.stanzas[0]!, s[1]!, s[2]!])), [B, C]); // A's stanza swapped: B and C see a header MAC failure
    expectRefused(withHeader(one, rebuilt(list, [s[0]!, s[0]!, s[2]!])), [A, B, C]); // duplicated
    expectRefused(withHeader(one, rebuilt(list.slice(0, 2), [s[0]!, s[1]!])), [A, B, C]); // dropped
    expectRefused(withHeader(one, rebuilt([list[1]!, list[0]!, list[2]!], [s[1]!, s[0]!, s[2]!])), [A, B, C]); // reordered
    // The list alone altered (C dropped from the list, stanzas kept) is refused by its count, and by the list MAC.
    expectRefused(withHeader(one, headerOf(one).replace(`_${list[2]}`, '')), [A, B, C]);
    expectRefused(withHeader(one, headerOf(one).replace(list[2]!, D.recipient)), [A, B]);
  });

  it('two recipients can never be made to see different plaintexts: A wraps F1, B wraps F2 — at least one fails, never two readings', () => {
    // Two genuine documents with different data keys, same text, different values.
    const srcA = write('S=alpha\n', '.env');
    const srcB = write('S=bravo\n', '.env');
    const fa = `${srcA}.aesp`;
    const fb = `${srcB}.aesp`;
    expect(run(['encrypt', '--fields', 'S', '-r', A.recipient, srcA, '-o', fa]).code).toBe(0);
    expect(run(['encrypt', '--fields', 'S', '-r', B.recipient, srcB, '-o', fb]).code).toBe(0);
    const da = readFileSync(fa, 'utf8');
    const db = readFileSync(fb, 'utf8');
    // The attacker (who made both) knows F1 and F2 here: take them from each recipient's view.
    const F1 = openHeader(decodeHeader(headerOf(da)), ids(A.file)).fileKey;
    const F2 = openHeader(decodeHeader(headerOf(db)), ids(B.file)).fileKey;
    const sa = decodeHeader(headerOf(da)).stanzas[0]!;
    const sb = decodeHeader(headerOf(db)).stanzas[0]!;
    const list = [A.recipient, B.recipient];
    const readings = new Set<string>();
    for (const macKey of [F1, F2]) {
      // One header, A's stanza wrapping F1 and B's wrapping F2, its MACs under F1 (or F2), over document A's (or B's) body.
      const h = craft(list, [sa, sb], macKey);
      for (const body of [da, db]) {
        const f = write(withHeader(body, h), 'mix.env');
        const ok: string[] = [];
        for (const k of [A, B]) {
          const r = run(['decrypt', '-i', k.file, f]);
          if (r.code === 0) {
            ok.push(k.file);
            readings.add(r.out);
          } else {
            expect([1, 4]).toContain(r.code);
          }
        }
        expect(ok.length).toBeLessThanOrEqual(1);
      }
    }
    // Across all four crafted documents each recipient read at most its own document's value, never both views of one file.
    expect(readings.size).toBeLessThanOrEqual(2);
    // And with one data key wrapped to both (an honest header), both read the same thing.
    const honest = craft(list, wrapFileKey(F1, [parseRecipient(A.recipient), parseRecipient(B.recipient)]), F1);
    const f = write(withHeader(da, honest), 'honest.env');
    expect(run(['decrypt', '-i', A.file, f]).out).toBe('S=alpha\n');
    expect(run(['decrypt', '-i', B.file, f]).out).toBe('S=alpha\n');
  });

  it('malformed headers: exit 4 or 1, one line, bounded', () => {
    const one = readFileSync(sealTo('env', [A]), 'utf8');
    const h = headerOf(one);
    for (const bad of [h.slice(0, -3), `${h}:x`, h.replace('aesp:2:rcpt:', 'aesp:2:rcpt:_'), h.replace(/:([A-Za-z0-9_-]+):([A-Za-z0-9_-]+)$/, ':$1=:$2')]) {
      expectRefused(withHeader(one, bad), [A], [1, 3, 4]);
    }
    // Two header lines.
    expectRefused(`${one}aesp_recipients=${h}\n`, [A], [4]);
    // An scrypt stanza is not accepted in a document.
    const fk = randomBytes(16);
    const sc = wrapFileKey(fk, [{ type: 'scrypt', passphrase: Buffer.from('pw'), logN: 10 }]);
    expectRefused(withHeader(one, craft([A.recipient], sc, fk)), [A], [4]);
  });
});

describe('what real consumers make of a recipient document', () => {
  it('python-dotenv, npm dotenv, node and sh read the .env (header lines included) alike; PyYAML and npm yaml the YAML; jq the JSON', () => {
    const env = readFileSync(sealTo('env', [A, B, C]), 'utf8');
    const expected = Object.fromEntries(env.split('\n').filter(Boolean).filter((l) => !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^"(.*)"$/, '$1')]));
    expect(disagreements(readEnv([env]), [expected]).flat()).toEqual([]);
    const yaml = readFileSync(sealTo('yaml', [A, B, C]), 'utf8');
    expect(disagreements(readYaml([yaml]), [yamlTyped(yaml)]).flat()).toEqual([]);
    const json = readFileSync(sealTo('json', [A, B, C]), 'utf8');
    const jq = runPeer('/usr/bin/jq', ['-r', '.aesp_recipients | split(":")[3] | split("_") | length'], json);
    expect(jq.code, jq.stderr).toBe(0);
    expect(jq.out.trim()).toBe('3');
    const py = runPeer(PYTHON, ['-c', 'import json,sys; d=json.load(sys.stdin); print(sorted(d))'], json);
    expect(py.out.trim()).toBe("['aesp', 'aesp_recipients', 'api', 'db', 'name']");
  });

  it('the embedded header is a real age v1 header: the age binary opens a file made of it and a payload under its file key', async () => {
    const f = sealTo('env', [A, B]);
    const h = headerOf(readFileSync(f, 'utf8'));
    const { fileKey } = openHeader(decodeHeader(h), ids(B.file));
    const chunks: Buffer[] = [ageHeaderOf(h)];
    await sealPayload(fileKey, bufferReader(Buffer.from('hello from the document key')), (bs) => void chunks.push(...bs.map((b) => Buffer.from(b))));
    const file = tmp('x.age');
    writeFileSync(file, Buffer.concat(chunks));
    for (const k of [A, B]) {
      const r = runPeer('/usr/bin/age', ['-d', '-i', k.file, file]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.out).toBe('hello from the document key');
    }
  });
});

describe('a writer with public keys only (pending values)', () => {
  const pubs = (ks: { recipient: string }[]) => ks.flatMap((k) => ['-r', k.recipient]);
  const cases = {
    env: { add: (t: string) => `${t}NEW_SECRET=s3cret\n`, plain: (t: string) => `${t}NEW_SECRET=s3cret\n` },
    json: { add: (t: string) => t.replace(/\n}\n$/, ',\n  "NEW_SECRET": "s3cret"\n}\n'), plain: (t: string) => t.replace(/\n}\n$/, ',\n  "NEW_SECRET": "s3cret"\n}\n') },
    yaml: { add: (t: string) => `${t}NEW_SECRET: s3cret\n`, plain: (t: string) => `${t}NEW_SECRET: "s3cret"\n` },
  } as const;
  for (const kind of ['env', 'json', 'yaml'] as const) {
    it(`${kind}: CI adds a value with -r only; every token stays; readers are told; exec refuses it; seal folds it in`, () => {
      const f = sealTo(kind, [A, B]);
      const before = readFileSync(f, 'utf8');
      // The CI job writes its value in the clear into the document, then seals it to the recipients: no identity anywhere.
      const ci = write(cases[kind].add(before.replace(/(\n?)("?aesp"?[:=].*\n?)/, '$1$2')), `ci.${kind}`);
      const out = `${ci}.out`;
      const r = run(['encrypt', '--fields', 'NEW_SECRET', ...pubs([A, B]), ...(kind === 'json' ? [] : ['--input-type', kind]), ci, '-o', out]);
      expect(r.code, r.stderr).toBe(0);
      const after = readFileSync(out, 'utf8');
      expect(after).not.toContain('s3cret');
      const tokens = (t: string) => t.match(/aesp:2:(A256GCM|doc|rcpt):[^"\s]+/g)!;
      expect(tokens(after)).toEqual(tokens(before)); // every token, the header and the recipients, byte for byte
      const d = run(['decrypt', '-i', B.file, out]);
      expect(d.code, d.stderr).toBe(0);
      expect(d.out).toBe(cases[kind].plain(DOCS[kind].text));
      expect(d.stderr).toMatch(/NEW_SECRET is a pending value, written with public keys only and not covered by the document MAC/);
      const v = run(['verify', '-i', A.file, out]);
      expect(v.code, v.stderr).toBe(0);
      expect(v.stderr).toMatch(/NEW_SECRET is a pending value/);
      expect(run(['verify', '--strict', '-i', A.file, out]).code).toBe(1);
      if (kind === 'env') {
        // (exec takes flat documents: the JSON and YAML examples nest.)
        const x = run(['exec', '-f', out, '-i', A.file, '--', 'sh', '-c', 'printf %s "$NEW_SECRET"']);
        expect(x.code).toBe(4);
        expect(oneLineError(x.stderr)).toMatch(/pending value.*--allow-unauthenticated/);
        const y = run(['exec', '--allow-unauthenticated', '-f', out, '-i', A.file, '--', 'sh', '-c', 'printf %s "$NEW_SECRET"']);
        expect(y.code, y.stderr).toBe(0);
        expect(y.out).toBe('s3cret');
      }
      // Edit and rekeying refuse until the pending value is folded in.
      expect(run(['recipients', 'rotate', out, '-i', A.file]).code).toBe(2);
      const s = run(['recipients', 'seal', out, '-i', A.file]);
      expect(s.code, s.stderr).toBe(0);
      const sealed = readFileSync(out, 'utf8');
      expect(sealed).not.toContain('aesp_pending');
      expect(run(['verify', '--strict', '-i', B.file, out]).code).toBe(0);
      const d2 = run(['decrypt', '-i', B.file, out]);
      expect(d2.stderr).not.toMatch(/pending/);
      expect(JSON.stringify(d2.out)).toContain('s3cret');
    });
  }

  it('-r must name exactly the document\'s recipients (a list altered in the file cannot make CI seal to an attacker)', () => {
    const f = sealTo('env', [A, B]);
    const ci = write(`${readFileSync(f, 'utf8')}X=1\n`, 'ci.env');
    const r = run(['encrypt', '--fields', 'X', ...pubs([A, D]), ci]);
    expect(r.code).toBe(2);
    expect(oneLineError(r.stderr)).toMatch(/exactly the document's 2 recipients/);
  });

  it('a pending value forged with public keys (replacing DB_PASSWORD, or LD_PRELOAD) is reported and never trusted by exec', async () => {
    const { setPendingValue } = await import('../../src/ops/recipients.js');
    const f = sealTo('env', [A, B]);
    const forged = setPendingValue(readFileSync(f, 'utf8'), 'DB_PASSWORD', 'attacker', [parseRecipient(A.recipient), parseRecipient(B.recipient)], undefined);
    const g = write(forged, 'forged.env');
    const d = run(['decrypt', '-i', A.file, g]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.out).toContain('DB_PASSWORD=attacker');
    expect(d.stderr).toMatch(/DB_PASSWORD is a pending value/);
    expect(run(['exec', '-f', g, '-i', A.file, '--', 'true']).code).toBe(4);
    expect(run(['verify', '--strict', '-i', A.file, g]).code).toBe(1);
    const ld = write(setPendingValue(readFileSync(f, 'utf8'), 'LD_PRELOAD', '/tmp/x.so', [parseRecipient(A.recipient), parseRecipient(B.recipient)], undefined), 'ld.env');
    const x = run(['exec', '--allow-unauthenticated', '-f', ld, '-i', A.file, '--', 'true']);
    expect(x.code).toBe(4);
    expect(oneLineError(x.stderr)).toMatch(/load or run other code/);
    // A pending value moved from another document (its id differs) does not open.
    const other = readFileSync(sealTo('env', [A, B]), 'utf8');
    const moved = write(other.replace(/^aesp_recipients=/m, `${/^aesp_pending=.*$/m.exec(forged)![0]}\naesp_recipients=`), 'moved.env');
    expect(run(['decrypt', '-i', A.file, moved]).code).toBe(1);
  });

  it('a pending value sealed to only one recipient: the other gets exit 1 for the document, never another plaintext', async () => {
    const { sealPending, encodePending, docIdOf } = await import('../../src/formats/fields/pending.js');
    const f = sealTo('env', [A, B]);
    const text = readFileSync(f, 'utf8');
    const entry = encodePending([sealPending('DB_HOST', 'evil.example', docIdOf(text), [parseRecipient(A.recipient)])]);
    const g = write(text.replace(/^aesp_recipients=/m, `aesp_pending=${entry}\naesp_recipients=`), 'split.env');
    const a = run(['decrypt', '-i', A.file, g]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/DB_HOST is a pending value/);
    const b = run(['decrypt', '-i', B.file, g]);
    expect(b.code).toBe(1);
    expect(oneLineError(b.stderr)).toMatch(/pending value DB_HOST is not sealed to any identity given/);
    expect(b.stdout.length).toBe(0);
  });

  it('python-dotenv, npm dotenv, node and sh read a document with a pending line alike', () => {
    const f = sealTo('env', [A, B]);
    const ci = write(`${readFileSync(f, 'utf8')}NEW=v\n`, 'ci.env');
    const out = `${ci}.out`;
    expect(run(['encrypt', '--fields', 'NEW', ...pubs([A, B]), ci, '-o', out]).code).toBe(0);
    const env = readFileSync(out, 'utf8');
    const expected = Object.fromEntries(env.split('\n').filter(Boolean).filter((l) => !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^"(.*)"$/, '$1')]));
    expect(disagreements(readEnv([env]), [expected]).flat()).toEqual([]);
  });
});
