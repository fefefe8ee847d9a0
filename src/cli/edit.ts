import { spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync, constants as fsc } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { AesPayloadError, EXIT, FormatError, IOError, UsageError, quote } from '../errors.js';
import { parseEnv } from '../formats/dotenv.js';
import * as envelope from '../formats/envelope.js';
import { parseJsonSpans } from '../formats/jsonSpans.js';
import { fieldCodec, isFieldFormat, type FieldFormat } from '../fields/documents.js';
import { loadYamlFor, yamlToJson } from '../fields/yamlfields.js';
import { parsePaths } from '../fields/paths.js';
import { writeFileAtomic } from '../io/output.js';
import { decrypt, detectFormat, encrypt, keyForKid, type KeyArg } from '../payload.js';
import { addKeyOptions, keysOf, promptConfirm, resolveCliKeys, signalStatus, type KeyFlags } from './common.js';
import { withHelp } from './help.js';
import type { Ui } from './ui.js';

interface EditFlags extends KeyFlags {
  fields?: string;
}

class EditorError extends AesPayloadError {
  constructor(message: string) {
    super('ERR_EDITOR', EXIT.IO, message);
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** A private 0700 directory holding one 0600 file; removed (the file overwritten first) on every exit path. */
class Scratch {
  readonly dir: string;
  readonly file: string;
  private readonly onSignal: [NodeJS.Signals, () => void][];

  constructor(name: string, data: Buffer) {
    this.dir = mkdtempSync(join(tmpdir(), 'aes-payload-edit-')); // mode 0700
    this.file = join(this.dir, name);
    const fd = openSync(this.file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
    this.onSignal = SIGNALS.map((s) => [
      s,
      () => {
        this.remove();
        process.exit(signalStatus(s));
      },
    ]);
    for (const [s, h] of this.onSignal) process.on(s, h);
    process.once('exit', () => this.remove());
  }

  read(): Buffer {
    return readFileSync(this.file);
  }

  remove(): void {
    for (const [s, h] of this.onSignal) process.off(s, h);
    try {
      // Overwrite what the editor left before unlinking (best effort: editors may have written copies elsewhere).
      const fd = openSync(this.file, fsc.O_WRONLY | fsc.O_NOFOLLOW);
      try {
        const n = fstatSync(fd).size;
        if (n) writeSync(fd, Buffer.alloc(n), 0, n, 0);
      } finally {
        closeSync(fd);
      }
    } catch {
      /* already gone */
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Run $VISUAL, $EDITOR or vi on `file` through sh, as git does (so EDITOR="code --wait" works). */
function runEditor(file: string): Promise<void> {
  const editor = process.env.VISUAL || process.env.EDITOR || 'vi';
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `${editor} "$@"`, editor, file], { stdio: 'inherit' });
    child.on('error', (e) => reject(new EditorError(`cannot run the editor ${quote(editor, 60)}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new EditorError(`the editor ${quote(editor, 60)} ${signal ? `was killed by ${signal}` : `exited with status ${code}`}`));
    });
  });
}

type Kind = 'envelope' | FieldFormat;

/** Check an edited plaintext parses, as what it must be written back as. */
function checkEdited(text: string, kind: Kind, envText: boolean, what: string): void {
  if (kind === 'env' || envText) parseEnv(text, what);
  else if (kind === 'fields') parseJsonSpans(text, what);
  else if (kind === 'yaml') yamlToJson(text, what);
}

export function registerEdit(program: Command, ui: Ui): void {
  const cmd = program
    .command('edit')
    .description('decrypt FILE into a private temp file, run $VISUAL or $EDITOR (default vi), encrypt it again in place')
    .argument('<FILE>', 'an envelope, or a field document (JSON, .env or YAML)')
    .option('--fields <PATHS>', 'field documents: also encrypt these values (names or globs in a .env); values that held a token stay encrypted');
  withHelp(
    cmd,
    ['aes-payload edit config.enc.json', 'EDITOR="code --wait" aes-payload edit .env.aesp', "aes-payload edit --fields 'db.*' config.enc.json"],
    'The temp file is 0600 in a 0700 directory under $TMPDIR, removed on every exit (signals too).\nValues you did not change keep their tokens. An unchanged file is not rewritten.',
  );
  addKeyOptions(cmd).action(async (file: string, o: EditFlags) => {
    if (file === '-') throw new UsageError('edit needs a FILE, not stdin');
    const r = await resolveCliKeys(o, ui);
    const keys = keysOf(r);
    let oldText: string;
    let mode: number;
    try {
      oldText = readFileSync(file, 'utf8');
      mode = statSync(file).mode & 0o777;
    } catch (e) {
      throw new IOError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    await loadYamlFor(oldText, file);
    const format = detectFormat(oldText, 'auto');
    const kind: Kind | undefined = format === 'json' ? 'envelope' : isFieldFormat(format) ? format : undefined;
    if (!kind) throw new UsageError(`edit works on JSON envelopes and field documents (JSON or .env); ${file} is ${format}: decrypt it, edit, and encrypt it again`);
    const paths = o.fields !== undefined ? parsePaths(o.fields) : undefined;
    if (paths && kind === 'envelope') throw new UsageError('--fields applies to field documents; an envelope is encrypted whole');
    const opened = decrypt(oldText, keys, {});
    const plain = Buffer.from(opened.plaintext);
    opened.plaintext.fill(0);
    const inner = basename(file).replace(/\.(aesp|enc)$/, '') || 'document';
    // A whole .env in an envelope is edited as .env; other envelopes as whatever they hold.
    const envText = kind === 'envelope' && /^\.env|\.env$/.test(inner);
    const scratch = new Scratch(inner, plain);
    try {
      let edited: Buffer;
      for (;;) {
        await runEditor(scratch.file);
        edited = scratch.read();
        try {
          checkEdited(edited.toString('utf8'), kind, envText, `the edited ${inner}`);
          break;
        } catch (e) {
          if (!(e instanceof FormatError) || !ui.interactive) throw e;
          ui.error(e.message);
          if (!(await promptConfirm('Open the editor again?'))) throw e;
        }
      }
      if (edited.equals(plain) && !paths) {
        ui.line(`${file} unchanged`);
        return;
      }
      const text = edited.toString('utf8');
      let out: string;
      if (kind === 'envelope') {
        const env = envelope.decode(oldText);
        const key: KeyArg = opened.kid !== undefined && keys.ring ? keyForKid(keys)(opened.kid) : keys;
        out = `${encrypt(edited, key, { format: 'json', ...(opened.alg ? { alg: opened.alg } : {}), ...(env.aad ? { aad: env.aad } : {}) }).text}\n`;
      } else {
        const res = fieldCodec(kind).reencrypt(oldText, text, keyForKid(keys), { ...(paths ? { paths } : {}), what: file });
        out = res.text;
        if (out === oldText) {
          ui.line(`${file} unchanged`);
          return;
        }
        ui.line(`${res.kept} value${res.kept === 1 ? '' : 's'} kept, ${res.sealed} encrypted anew`);
        if (res.clear.length) ui.warn(`new value${res.clear.length === 1 ? '' : 's'} left in the clear: ${res.clear.slice(0, 5).join(', ')}${res.clear.length > 5 ? ', …' : ''} (use --fields to encrypt them)`);
      }
      edited.fill(0);
      writeFileAtomic(file, out, { mode, overwrite: true });
      ui.line(`${file} updated`);
    } finally {
      plain.fill(0);
      scratch.remove();
    }
  });
}
