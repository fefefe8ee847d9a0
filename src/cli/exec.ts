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
import type { Ui } from './ui.js';

interface ExecFlags extends KeyFlags, AgeIdentityFlags {
  file?: string[];
  keepKeyEnv?: boolean;
  override: boolean;
  allowUnauthenticated?: boolean;
  expectKid?: string[];
}

/** Passed on to the command while aes-payload waits for it (when it cannot take its place): every deadly signal, SIGUSR1 too. */
const FORWARDED = [...DEADLY_SIGNALS, 'SIGUSR1'] as NodeJS.Signals[];

/**
 * Variables that make a program load or run code of the environment's
 * choosing (the dynamic loader, language runtimes, shells, tools that run a
 * helper), find other programs, or trust other certificates and proxies:
 * never taken from a value nobody authenticated, even with
 * --allow-unauthenticated. Best effort: a denylist cannot know every
 * program's variables (README "exec", SECURITY.md).
 */
const LOADS_CODE_NAMES = [
  'LD_\\w*', 'DYLD_\\w*', 'GLIBC_TUNABLES', 'GCONV_PATH', 'LOCPATH', 'HOSTALIASES', 'MALLOC_\\w*',
  'PATH', 'IFS', 'CDPATH', 'ENV', 'BASH_ENV', 'SHELLOPTS', 'BASHOPTS', 'PS4', 'PROMPT_COMMAND', 'ZDOTDIR', 'HOME', 'SHELL', 'TMPDIR',
  'EDITOR', 'VISUAL', 'PAGER', 'BROWSER', 'LESSOPEN', 'LESSCLOSE', 'SSH_ASKPASS', 'SUDO_ASKPASS', 'VIMINIT', 'EXINIT', 'MAKEFLAGS', 'MFLAGS',
  'NODE_OPTIONS', 'NODE_PATH', 'NODE_REPL_EXTERNAL_MODULE', 'NODE_EXTRA_CA_CERTS', 'NODE_TLS_REJECT_UNAUTHORIZED', 'ELECTRON_RUN_AS_NODE',
  'PYTHONPATH', 'PYTHONSTARTUP', 'PYTHONHOME', 'PYTHONINSPECT', 'PYTHONBREAKPOINT', 'PYTHONWARNINGS', 'PYTHONUSERBASE', 'PYTHONEXECUTABLE',
  'PERL5OPT', 'PERL5LIB', 'PERLLIB', 'PERL5DB', 'RUBYOPT', 'RUBYLIB', 'RUBYGEMS_GEMDEPS', 'BUNDLE_GEMFILE', 'GEM_PATH', 'GEM_HOME',
  'LUA_INIT\\w*', 'LUA_PATH\\w*', 'LUA_CPATH\\w*', 'PHPRC', 'PHP_INI_SCAN_DIR',
  'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'JAVA_OPTIONS', 'CLASSPATH', 'MAVEN_OPTS', 'GRADLE_OPTS',
  'DOTNET_STARTUP_HOOKS', 'DOTNET_ADDITIONAL_DEPS', 'CORECLR_\\w*', 'COR_PROFILER\\w*', 'COR_ENABLE_PROFILING',
  'RUSTC_WRAPPER', 'RUSTC', 'RUSTC_WORKSPACE_WRAPPER', 'GIT_\\w*',
  'OPENSSL_CONF', 'OPENSSL_ENGINES', 'OPENSSL_MODULES', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'SSLKEYLOGFILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE',
];
const LOADS_CODE_RE = new RegExp(`^(?:${LOADS_CODE_NAMES.join('|')})$`);
/** Names read whatever their case: proxies (curl reads http_proxy), npm's settings (npm_config_script_shell). */
const LOADS_CODE_ANY_CASE = /^(?:(?:http|https|ftp|all)_proxy|npm_config_\w*)$/i;
const LOADS_CODE = { test: (name: string) => LOADS_CODE_RE.test(name) || LOADS_CODE_ANY_CASE.test(name) };
/** Whether exec refuses `name` from a value nobody authenticated (the denylist above). */
export const loadsCode = (name: string): boolean => LOADS_CODE.test(name);

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
    .option('--expect-kid <KID>', 'fail (exit 1) unless each file\'s key has this kid (repeatable); for a document encrypted to age recipients, the kid of its data key (verify -i prints it) pins it, and only then are names such as PATH or LD_PRELOAD passed on from it', (v: string, prev: string[] = []) => [...prev, v])
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
    // With -i/--identity-env only, the files are documents encrypted to age recipients (src/cli/recipients.ts).
    const r = hasAgeIdentity(o) && !hasKeyFlag(o) ? undefined : await resolveCliKeys(o, ui);
    const keys = r ? keysOf(r) : undefined;
    const budget = kdfBudget();
    // A null-prototype object: names such as __proto__ or constructor are variables like any other.
    const env: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    const secrets = o.keepKeyEnv ? [] : secretEnvNames(o, o.identityEnv);
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
      if (rd && !o.expectKid?.length) {
        // Nothing authenticates the writer of a recipient document: anyone with the public keys can write a whole one.
        const loads = vars.map(([n]) => n).filter((n) => LOADS_CODE.test(n) && !rd.pendingNames.includes(n));
        if (loads.length) {
          throw new FormatError(
            `${file}: ${loads.slice(0, 5).join(', ')}${loads.length > 5 ? ', …' : ''} can make the command load or run other code, and a document encrypted to public keys does not say who wrote it (anyone with the recipients' public keys can write a whole new one): refused; pin the document's data key with --expect-kid KID (aes-payload verify -i … prints it) to pass ${loads.length === 1 ? 'it' : 'them'} on`,
            'ERR_UNAUTHENTICATED',
          );
        }
      }
      if (rd?.pending.length) {
        // Pending values (written with public keys only): nobody's key vouches for them.
        const names = rd.pendingNames;
        const loads = names.filter((n) => LOADS_CODE.test(n));
        if (loads.length) throw new FormatError(`${pendingWarning(file, loads)} They can make the command load or run other code: refused, with or without --allow-unauthenticated`, 'ERR_UNAUTHENTICATED');
        if (!o.allowUnauthenticated) throw new FormatError(`${pendingWarning(file, names)} Refused; pass --allow-unauthenticated to pass ${names.length === 1 ? 'it' : 'them'} on anyway`, 'ERR_UNAUTHENTICATED');
        for (const [name, value] of rd.pending) {
          const i = vars.findIndex(([n]) => n === name);
          if (i >= 0) vars.splice(i, 1);
          vars.push([name, value]);
          unauthenticated.push(`${name} (${file})`);
        }
      }
      const clear = sealedOnly ? vars.filter(([name]) => !sealed.has(name)).map(([name]) => name) : [];
      const loads = clear.filter((n) => LOADS_CODE.test(n));
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
