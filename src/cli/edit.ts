import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync, statSync, writeSync, constants as fsc } from 'node:fs';
import { constants as osc, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { AesPayloadError, EXIT, FormatError, IOError, UsageError, ioError, quote } from '../errors.js';
import { loadYamlFor, parsePaths, readText } from '../ops/documents.js';
import { checkEdited, editKindOf, resealDocument, resealEnvelope } from '../ops/edit.js';
import { writeFileAtomic } from '../io/output.js';
import { killTree, processTree, signalAll } from '../io/processTree.js';
import { DEADLY_SIGNALS } from '../io/signals.js';
import { wipeInitialEnvironment } from '../io/launch.js';
import { secretEnvNames } from '../keys/resolve.js';
import { decrypt } from '../ops/index.js';
import { writerRulesKey, rulesFor } from '../rules/rules.js';
import { warnRecipientsDiffer } from '../rules/recipients.js';
import { identityHint } from './recipientsRules.js';
import { rulePaths } from '../rules/fields.js';
import { typeOfKind } from '../git/docs.js';
import { addAgeIdentityOptions, hasAgeIdentity, type AgeIdentityFlags } from './age.js';
import { openRecipientInput } from './recipients.js';
import { rejoin } from '../ops/recipients.js';
import { addKeyOptions, hasKeyFlag, keysOf, promptConfirm, resolveCliKeys, signalStatus, type KeyFlags } from './common.js';
import { withHelp } from './help.js';
import type { Ui } from './ui.js';

interface EditFlags extends KeyFlags, AgeIdentityFlags {
  fields?: string;
  config?: string;
}

class EditorError extends AesPayloadError {
  constructor(message: string) {
    super('ERR_EDITOR', EXIT.IO, message);
  }
}


/** How long the editor gets to end on SIGTERM (vi restores the terminal) before it and its children are killed. */
const EDITOR_GRACE_MS = 2000;

/**
 * A private 0700 directory holding one 0600 file; removed (the file
 * overwritten first) on every exit path. On a deadly signal, the editor
 * and every process it started are ended first (SIGTERM, then SIGKILL after
 * a grace period), so that nothing writes into the directory after it is
 * gone and nothing is left running on the terminal; then aes-payload exits
 * with 128 + the signal's number.
 */
class Scratch {
  readonly dir: string;
  readonly file: string;
  /** Set once a signal has begun the shutdown: the editor's end is then no error to report. */
  dying = false;
  private child: ChildProcess | undefined;
  private readonly onSignal: [NodeJS.Signals, () => void][];

  constructor(name: string, data: Buffer) {
    try {
      this.dir = mkdtempSync(join(tmpdir(), 'aes-payload-edit-')); // mode 0700
    } catch (e) {
      throw ioError(e, `cannot make a private directory in ${tmpdir()} ($TMPDIR) for the plaintext`);
    }
    this.file = join(this.dir, name);
    try {
      const fd = openSync(this.file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
      try {
        writeSync(fd, data);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      rmSync(this.dir, { recursive: true, force: true });
      throw e;
    }
    this.onSignal = DEADLY_SIGNALS.map((s) => [s, () => void this.die(s)]);
    for (const [s, h] of this.onSignal) process.on(s, h);
    process.once('exit', () => this.remove());
  }

  /** The editor process, ended with aes-payload on a signal. */
  track(child: ChildProcess): void {
    this.child = child;
  }

  private async die(signal: NodeJS.Signals): Promise<void> {
    if (this.dying) return;
    this.dying = true;
    const child = this.child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const tree = processTree([child.pid]);
      signalAll(tree, 'SIGTERM');
      signalAll(tree, 'SIGCONT'); // a stopped editor must run to see it
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, EDITOR_GRACE_MS);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
      killTree(tree);
    }
    this.remove();
    process.exit(128 + (osc.signals[signal] ?? 0));
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

/**
 * Run $VISUAL, $EDITOR or vi on `file` through sh, as git does (so
 * EDITOR="code --wait" works). While a signal is ending aes-payload, the
 * editor's end is not reported: the promise never settles.
 */
function runEditor(file: string, scratch: Scratch, env: NodeJS.ProcessEnv): Promise<void> {
  const editor = process.env.VISUAL || process.env.EDITOR || 'vi';
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `${editor} "$@"`, editor, file], { stdio: 'inherit', env });
    scratch.track(child);
    child.on('error', (e) => reject(new EditorError(`cannot run the editor ${quote(editor, 60)}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    child.on('exit', (code, signal) => {
      if (scratch.dying) return;
      if (code === 0) resolve();
      else reject(new EditorError(`the editor ${quote(editor, 60)} ${signal ? `was killed by ${signal}` : `exited with status ${code}`}`));
    });
  });
}

export function registerEdit(program: Command, ui: Ui): void {
  const cmd = program
    .command('edit')
    .description('decrypt FILE into a private temp file, run $VISUAL or $EDITOR (default vi), encrypt it again in place')
    .argument('<FILE>', 'an envelope, or a field document (JSON, .env or YAML)')
    .option('--fields <PATHS>', 'field documents: also encrypt these values (names or globs in a .env); values that held a token stay encrypted')
    .option('--config <FILE>', 'the rules file (default: .aes-payload.yaml found from FILE up to the repository root; env AES_PAYLOAD_CONFIG)');
  withHelp(
    cmd,
    ['aes-payload edit config.enc.json', 'EDITOR="code --wait" aes-payload edit .env.aesp', "aes-payload edit --fields 'db.*' config.enc.json"],
    'The temp file is 0600 in a 0700 directory under $TMPDIR, removed on every exit (signals too).\nValues you did not change keep their tokens. An unchanged file is not rewritten.',
  );
  addAgeIdentityOptions(cmd);
  addKeyOptions(cmd).action(async (file: string, o: EditFlags) => {
    if (file === '-') throw new UsageError('edit needs a FILE, not stdin');
    const match = await rulesFor(file, o.config);
    // With -i/--identity-env only, FILE is a document encrypted to age recipients (src/cli/recipients.ts).
    const ageOnly = hasAgeIdentity(o) && !hasKeyFlag(o);
    if (match && !ageOnly) Object.assign(o, (await writerRulesKey(match, o, (m) => ui.warn(m))) ?? {});
    const r = ageOnly ? undefined : await resolveCliKeys(o, ui).catch((e: unknown) => Promise.reject(identityHint(e, file, o)));
    let keys = r ? keysOf(r) : ({} as ReturnType<typeof keysOf>);
    // A symbolic link is followed: the file it points to is written (atomically, next to it) and the
    // link stays a link. Anything but a regular file (a FIFO, a device) is refused before it is read.
    let target: string;
    let oldText: string;
    let mode: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new IOError(`cannot edit ${file}: not a regular file${st.isFIFO() ? ' (a FIFO)' : st.isDirectory() ? ' (a directory)' : ''}; edit works on files it can replace`, 'ERR_NOT_REGULAR');
      target = realpathSync(file);
      mode = st.mode & 0o777;
      oldText = readText(readFileSync(target), file);
    } catch (e) {
      throw ioError(e, `cannot read ${file}`);
    }
    const rd = await openRecipientInput(oldText, o, ui);
    if (rd) {
      warnRecipientsDiffer(match, file, rd.header.recipients, (m) => ui.warn(m));
      oldText = rd.rest;
      keys = { secret: rd.key! };
    } else if (!r) throw new UsageError(`${file} is not a field document encrypted to age recipients (-i and --identity-env read those)`);
    await loadYamlFor(oldText, file);
    const { kind, format } = editKindOf(oldText);
    if (!kind) throw new UsageError(`edit works on JSON envelopes and field documents (JSON, .env or YAML); ${file} is ${format}: decrypt it, edit, and encrypt it again`);
    const paths = o.fields !== undefined ? parsePaths(o.fields) : undefined;
    if (paths && kind === 'envelope') throw new UsageError('--fields applies to field documents; an envelope is encrypted whole');
    const opened = decrypt(oldText, keys, {});
    const plain = Buffer.from(opened.plaintext);
    opened.plaintext.fill(0);
    // The name without .aesp/.enc, so that the editor knows the type; never '.' or '..' (`edit ..aesp`).
    const stem = basename(file).replace(/\.(aesp|enc)$/, '');
    const inner = stem === '' || stem === '.' || stem === '..' ? 'document' : stem;
    // A whole .env in an envelope is edited as .env; other envelopes as whatever they hold.
    const envText = kind === 'envelope' && /^\.env|\.env$/.test(inner);
    // The editor gets the plaintext, not the key: no key variable in its environment, and their values
    // wiped from our initial environment block, which it could read in /proc/$PPID/environ.
    const secrets = secretEnvNames(o, o.identityEnv).filter((n) => process.env[n] !== undefined);
    const editorEnv: NodeJS.ProcessEnv = { ...process.env };
    for (const n of secrets) delete editorEnv[n];
    const left = wipeInitialEnvironment(secrets);
    if (left.length) ui.warn(`${left.join(', ')} stay${left.length === 1 ? 's' : ''} readable by the editor in this process's /proc/PID/environ (this system refused to overwrite it); use --key-file or --key-cmd`);
    const scratch = new Scratch(inner, plain);
    try {
      let edited: Buffer;
      for (;;) {
        await runEditor(scratch.file, scratch, editorEnv);
        edited = scratch.read();
        try {
          checkEdited(kind === 'envelope' && !envText ? edited.toString('utf8') : readText(edited, `the edited ${inner}`), kind, envText, `the edited ${inner}`);
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
        out = resealEnvelope(oldText, edited, keys, opened);
      } else {
        // The rules select values too: a new value they match is encrypted, not left in the clear.
        const all = [...(paths ?? []), ...(match ? rulePaths(match.rule, text, typeOfKind(kind)) : [])];
        const res = resealDocument(kind, oldText, text, keys, all, file);
        out = res.text;
        if (out === oldText) {
          ui.line(`${file} unchanged`);
          return;
        }
        ui.line(`${res.kept} value${res.kept === 1 ? '' : 's'} kept, ${res.sealed} encrypted anew`);
        if (res.clear.length) ui.warn(`new value${res.clear.length === 1 ? '' : 's'} left in the clear: ${res.clear.slice(0, 5).join(', ')}${res.clear.length > 5 ? ', …' : ''} (use --fields to encrypt them)`);
      }
      edited.fill(0);
      if (rd) out = rejoin(rd, out);
      writeFileAtomic(target, out, { mode, overwrite: true });
      ui.line(`${file} updated`);
    } finally {
      plain.fill(0);
      scratch.remove();
    }
  });
}
