import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { AesPayloadError, EXIT, FormatError, UsageError, quote } from '../errors.js';
import { canReplaceProcess, findCommand, replaceProcess, tooLarge, wipeInitialEnvironment } from '../io/launch.js';
import { DEADLY_SIGNALS } from '../io/signals.js';
import { MAX_ENCODED_BYTES, readAllOf } from '../io/input.js';
import { Source } from '../io/source.js';
import { secretEnvNames } from '../keys/resolve.js';
import { decrypt } from '../ops/index.js';
import { isFieldFormat, loadYamlFor } from '../ops/documents.js';
import { kdfBudget } from '../ops/budget.js';
import { variablesIn } from '../ops/exec.js';
import { addKeyOptions, hasKeyFlag, keysOf, resolveCliKeys, signalStatus, type KeyFlags } from './common.js';
import { addAgeIdentityOptions, hasAgeIdentity, type AgeIdentityFlags } from './age.js';
import { openRecipientInput, pendingWarning } from './recipients.js';
import { withHelp } from './help.js';
import { loadsCode, neverFromDocument } from './execNames.js';
import type { Ui } from './ui.js';

export { loadsCode, neverFromDocument } from './execNames.js';

interface ExecFlags extends KeyFlags, AgeIdentityFlags {
  file?: string[];
  keepKeyEnv?: boolean;
  override: boolean;
  allowUnauthenticated?: boolean;
  expectKid?: string[];
}

/** Passed on to the command while aes-payload waits for it (when it cannot take its place): every deadly signal, SIGUSR1 too. */
const FORWARDED = [...DEADLY_SIGNALS, 'SIGUSR1'] as NodeJS.Signals[];

/** A JWE key management algorithm of a public key (RSA-OAEP, ECDH-ES): anyone with the public key can write such a JWE. */
const PUBLIC_KEY_WRAP = /^(?:RSA-OAEP|ECDH-ES)/;
/** The kids exec can be pinned to: aes-payload's (16 hex digits) and RFC 7638 thumbprints (43 base64url characters). */
const KID = /^(?:[0-9a-f]{16}|[A-Za-z0-9_-]{43})$/;
const listed = (ns: readonly string[]) => `${ns.slice(0, 5).join(', ')}${ns.length > 5 ? ', …' : ''}`;

export { variablesOf } from '../ops/exec.js';

export function registerExec(program: Command, ui: Ui): void {
  const cmd = program
    .command('exec')
    .description('decrypt files into the environment of a command, and run it (no shell, no plaintext on disk)')
    .argument('<CMD...>', 'the command and its arguments, after --')
    .option('-f, --file <FILE>', 'an encrypted file of variables (- for stdin): an envelope or field document of a flat JSON object, an encrypted .env or YAML; repeatable, later files win (not --env-file: Node itself reads a file named so, nodejs/node#54232)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--keep-key-env', 'leave AES_PAYLOAD_KEY and the other key variables in the command\'s environment')
    .option('--no-override', 'a variable the environment already has keeps its value (default: the file wins, with a warning)')
    .option('--allow-unauthenticated', 'also pass on the plaintext values of a --mac-only-encrypted document, which its MAC does not cover (with a warning; never LD_*, NODE_OPTIONS, BASH_ENV, PATH and the like)')
    .option('--expect-kid <KID>', 'fail (exit 1) unless each file\'s key has one of these kids (repeatable: one set for all the files); for a document encrypted to age recipients, the kid of its data key (verify -i prints it) pins it, and only then are names such as PATH or LD_PRELOAD passed on from it (AES_PAYLOAD_… and SOPS_… never)', (v: string, prev: string[] = []) => [...prev, v])
    .passThroughOptions();
  withHelp(
    cmd,
    ['aes-payload exec -f .env.aesp -- node server.js', 'aes-payload exec -f secrets.enc.json --key-cmd "pass show app/key" -- ./deploy.sh prod'],
    'The command takes the place of aes-payload (Node.js 22.15 and later; on older ones aes-payload\nwaits for it, passing every signal on). Its exit status is exec\'s.\nNot found: 127; not executable: 126. Only authenticated values are passed on.',
  );
  addAgeIdentityOptions(cmd);
  addKeyOptions(cmd).action(async (argv: string[], o: ExecFlags) => {
    const files = o.file ?? [];
    if (!files.length) throw new UsageError('exec needs at least one -f FILE');
    const badKid = o.expectKid?.find((k) => !KID.test(k));
    if (badKid !== undefined) throw new UsageError(`--expect-kid takes a kid as aes-payload prints it (16 hex digits, or a 43-character RFC 7638 thumbprint), not ${quote(badKid, 40)}`);
    // With -i/--identity-env only, the files are documents encrypted to age recipients (src/cli/recipients.ts).
    const r = hasAgeIdentity(o) && !hasKeyFlag(o) ? undefined : await resolveCliKeys(o, ui);
    const keys = r ? keysOf(r) : undefined;
    const budget = kdfBudget();
    // A null-prototype object: names such as __proto__ or constructor are variables like any other.
    const env: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    // The key variables: removed from the command's environment (unless --keep-key-env), and never set from a document.
    const keyNames = secretEnvNames(o, o.identityEnv);
    const secrets = o.keepKeyEnv ? [] : keyNames;
    for (const n of secrets) delete env[n];
    const fromFile = new Map<string, string>();
    const unauthenticated: string[] = [];
    for (const file of files) {
      const input = readAllOf(Source.open(file), MAX_ENCODED_BYTES);
      await loadYamlFor(input.data, file);
      const rd = await openRecipientInput(input.data.toString('utf8'), o, ui, false, true);
      if (!rd && !keys) throw new FormatError(`${file}: not a field document encrypted to age recipients (-i and --identity-env read those)`, 'ERR_AGE_HEADER');
      const d = decrypt(rd ? rd.rest : input.data, rd ? { secret: rd.key! } : keys!, { kdfBudget: budget });
      const text = d.plaintext.toString('utf8');
      d.plaintext.fill(0);
      // A field document whose MAC covers the encrypted values only (or none: legacy): its plaintext values are nobody's word.
      const sealedOnly = isFieldFormat(d.format) && (d.mac === 'enc' || d.legacy);
      const sealed = new Set((d.tokenPaths ?? []).filter((p) => p.length === 1).map((p) => String(p[0])));
      const vars = variablesIn(text, d.format, file);
      if (o.expectKid?.length && !(d.kid && o.expectKid.includes(d.kid))) {
        throw new AesPayloadError('ERR_KID_MISMATCH', EXIT.AUTH, `${file}: its key has kid ${d.kid ?? '(none)'}, not one given with --expect-kid: not the document you pinned (a different document, or one re-keyed since)`);
      }
      const own = [...vars.map(([n]) => n), ...(rd?.pendingNames ?? [])].filter((n) => neverFromDocument(n, keyNames));
      if (own.length) {
        throw new FormatError(
          `${file}: ${listed(own)} ${own.length === 1 ? 'is a key variable' : 'are key variables'} (aes-payload's own AES_PAYLOAD_…, sops' SOPS_…, or one this exec takes out of the command's environment), which exec never sets from a document, whoever wrote it: a nested aes-payload or sops would use the document's key or run its key command. Refused; keep the value under another name and hand it on explicitly (aes-payload … --key-env NAME)`,
          'ERR_ENV_DENIED',
        );
      }
      if (!rd && d.wrap && PUBLIC_KEY_WRAP.test(d.wrap)) {
        // A JWE to an RSA or EC key: anyone with the public key can write it, and nothing in it can pin its writer (its kid is the writer's choice).
        const loads = vars.map(([n]) => n).filter(loadsCode);
        if (loads.length) {
          throw new FormatError(
            `${file}: ${listed(loads)} can make the command load or run other code, and a JWE encrypted to a public key (${d.wrap}) does not say who wrote it (anyone with the public key can write one, and --expect-kid cannot pin its writer): refused`,
            'ERR_UNAUTHENTICATED',
          );
        }
      }
      if (rd && !o.expectKid?.length) {
        // Nothing authenticates the writer of a recipient document: anyone with the public keys can write a whole one.
        const loads = vars.map(([n]) => n).filter((n) => loadsCode(n) && !rd.pendingNames.includes(n));
        if (loads.length) {
          throw new FormatError(
            `${file}: ${listed(loads)} can make the command load or run other code, and a document encrypted to public keys does not say who wrote it (anyone with the recipients' public keys can write a whole new one): refused; pin the document's data key with --expect-kid KID (aes-payload verify -i … prints it) to pass ${loads.length === 1 ? 'it' : 'them'} on`,
            'ERR_UNAUTHENTICATED',
          );
        }
      }
      if (rd?.pending.length) {
        // Pending values (written with public keys only): nobody's key vouches for them.
        const names = rd.pendingNames;
        const loads = names.filter((n) => loadsCode(n));
        if (loads.length) throw new FormatError(`${pendingWarning(file, loads, rd.replaced)} They can make the command load or run other code: refused, with or without --allow-unauthenticated`, 'ERR_UNAUTHENTICATED');
        if (!o.allowUnauthenticated) throw new FormatError(`${pendingWarning(file, names, rd.replaced)} Refused; pass --allow-unauthenticated to pass ${names.length === 1 ? 'it' : 'them'} on anyway`, 'ERR_UNAUTHENTICATED');
        for (const [name, value] of rd.pending) {
          const i = vars.findIndex(([n]) => n === name);
          if (i >= 0) vars.splice(i, 1);
          vars.push([name, value]);
          unauthenticated.push(`${name} (${file})`);
        }
      }
      const clear = sealedOnly ? vars.filter(([name]) => !sealed.has(name)).map(([name]) => name) : [];
      const loads = clear.filter((n) => loadsCode(n));
      if (loads.length) {
        throw new FormatError(
          `${file}: ${loads.slice(0, 5).join(', ')} ${loads.length === 1 ? 'is a plaintext value' : 'are plaintext values'} that the document MAC does not cover (--mac-only-encrypted), and ${loads.length === 1 ? 'a variable' : 'variables'} that can make the command load or run other code: refused, with or without --allow-unauthenticated; encrypt ${loads.length === 1 ? 'it' : 'them'}, or write the document without --mac-only-encrypted`,
          'ERR_UNAUTHENTICATED',
        );
      }
      if (clear.length && !o.allowUnauthenticated) {
        throw new FormatError(
          `${file}: ${clear.slice(0, 5).join(', ')}${clear.length > 5 ? ` and ${clear.length - 5} more` : ''} ${clear.length === 1 ? 'is a plaintext value' : 'are plaintext values'} that the document MAC does not cover (--mac-only-encrypted), so anyone could have written ${clear.length === 1 ? 'it' : 'them'}: refused; pass --allow-unauthenticated to pass ${clear.length === 1 ? 'it' : 'them'} on anyway`,
          'ERR_UNAUTHENTICATED',
        );
      }
      for (const n of clear) unauthenticated.push(`${n} (${file})`);
      for (const [name, value] of vars) {
        if (fromFile.has(name)) ui.warn(`${file} sets ${name} again; its value wins over ${fromFile.get(name)}'s`);
        else if (Object.hasOwn(env, name)) {
          if (!o.override) continue;
          ui.warn(`${file} sets ${name}, which the environment already has; the file's value wins (--no-override keeps the environment's)`);
        }
        fromFile.set(name, file);
        env[name] = value;
      }
    }
    if (unauthenticated.length) {
      ui.warn(`passing on ${unauthenticated.length} value${unauthenticated.length === 1 ? '' : 's'} that ${unauthenticated.length === 1 ? 'was' : 'were'} not authenticated (--allow-unauthenticated): ${unauthenticated.slice(0, 10).join(', ')}${unauthenticated.length > 10 ? ', …' : ''}`);
    }
    const found = findCommand(argv[0] ?? '', env);
    const big = 'path' in found ? tooLarge(argv, env) : undefined;
    if (big) {
      ui.error(`cannot run ${quote(argv[0]!, 80)}: ${big.why}`);
      process.exitCode = big.status;
      return;
    }
    if ('status' in found) {
      ui.error(`${found.why}: ${quote(argv[0] ?? '', 80)}`);
      process.exitCode = found.status;
      return;
    }
    if (canReplaceProcess()) {
      // The command takes our place: no parent is left holding the key (in memory, or in the initial
      // environment block /proc/PID/environ shows), and its exit status and signals are the caller's.
      r?.kek?.close();
      const failed = replaceProcess(found.path, argv, env);
      ui.error(`cannot run ${quote(argv[0]!, 80)}: ${failed.why}`);
      process.exitCode = failed.status;
      return;
    }
    // Node.js without process.execve (20): aes-payload stays as the command's parent. The key
    // variables' values in our initial environment block are overwritten, so that the command
    // cannot read them from /proc/$PPID/environ.
    const left = wipeInitialEnvironment(secrets.filter((n) => process.env[n] !== undefined));
    if (left.length) {
      ui.warn(`${left.join(', ')} stay${left.length === 1 ? 's' : ''} readable by the command in this process's /proc/PID/environ (this system refused to overwrite it, and this Node.js ${process.version} cannot hand its place to the command); use --key-file or --key-cmd, or Node.js 22.15 or later`);
    }
    const code = await new Promise<number>((resolve) => {
      // The handlers come first: the command may run (and be signalled) before spawn() returns.
      let child: ReturnType<typeof spawn> | undefined;
      const forward = (sig: NodeJS.Signals) => () => {
        if (child && child.exitCode === null && child.signalCode === null) child.kill(sig);
      };
      const handlers = FORWARDED.map((s) => [s, forward(s)] as const);
      for (const [s, h] of handlers) process.on(s, h);
      const done = () => {
        for (const [s, h] of handlers) process.off(s, h);
      };
      try {
        child = spawn(found.path, argv.slice(1), { stdio: 'inherit', env, argv0: argv[0]! });
      } catch (e) {
        done();
        ui.error(`cannot run ${quote(argv[0]!, 80)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        resolve(126);
        return;
      }
      child.on('error', (e: NodeJS.ErrnoException) => {
        done();
        ui.error(`cannot run ${quote(argv[0]!, 80)}: ${e.code ?? e.message}`);
        resolve(e.code === 'ENOENT' ? 127 : 126);
      });
      child.on('exit', (status, signal) => {
        done();
        if (signal) {
          // Die of the same signal, so that a caller (a shell, CI) sees what the command saw.
          process.kill(process.pid, signal);
          setTimeout(() => resolve(signalStatus(signal)), 100);
          return;
        }
        resolve(status ?? 1);
      });
    });
    process.exitCode = code;
  });
}
