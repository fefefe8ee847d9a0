import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { IOError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../io/atomicFile.js';
import { isSea } from '../io/sea.js';

export const DRIVER = 'aes-payload';

/** Run git (no shell), failing with one line. */
export function git(args: string[], cwd?: string): string {
  const r = spawnSync('git', args, { encoding: 'utf8', ...(cwd ? { cwd } : {}), stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw new IOError(`cannot run git: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}`, 'ERR_GIT');
  if (r.status !== 0) throw new IOError(`git ${args[0]} failed: ${(r.stderr || '').trim().split('\n')[0] ?? ''}`, 'ERR_GIT');
  return r.stdout;
}

/** The top of the working tree `cwd` is in. */
export function repoRoot(cwd: string): string {
  const root = git(['rev-parse', '--show-toplevel'], cwd).trim();
  if (!root) throw new UsageError('git-setup runs inside a git working tree');
  return root;
}

/** git config --get, or undefined when unset. */
function configGet(name: string, cwd: string): string | undefined {
  const r = spawnSync('git', ['config', '--local', '--get', name], { encoding: 'utf8', cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  return r.status === 0 ? r.stdout.replace(/\n$/, '') : undefined;
}

/** A word for sh: as it is when it is plainly safe, else single-quoted. */
export function shWord(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * How the drivers call aes-payload: the absolute path of the program running
 * now (the single executable, or bin/aes-payload.js), so that git finds the
 * same tool whatever PATH its caller has (an IDE, a GUI client) and
 * whatever directory it runs the driver in.
 */
export function selfCommand(): string {
  const p = isSea() ? process.execPath : process.argv[1];
  if (!p) return DRIVER;
  let real = p;
  try {
    real = realpathSync(p);
  } catch {
    /* as given */
  }
  // dist/aes-payload.cjs is run by bin/aes-payload.js; the command is the bin script next to it.
  const bin = real.replace(/dist[/\\]aes-payload\.cjs$/, join('bin', 'aes-payload.js'));
  return shWord(existsSync(bin) ? bin : real);
}

export interface SetupPlan {
  diff: boolean;
  merge: boolean;
  filter: boolean;
  patterns: string[];
  command: string;
}

export interface SetupReport {
  root: string;
  gitattributes: { file: string; added: string[]; present: string[] };
  config: { name: string; value: string; changed: boolean }[];
  warnings: string[];
}

/** Write the .gitattributes lines and the clone's git config for the drivers; a second run changes nothing. */
export function gitSetup(plan: SetupPlan, cwd: string): SetupReport {
  const root = repoRoot(cwd);
  for (const p of plan.patterns) {
    if (/[\s#"\\]/.test(p) || p.startsWith('!') || p === '') throw new UsageError(`pattern ${JSON.stringify(p)}: white space, #, ", \\ and a leading ! have other meanings in .gitattributes`);
  }
  const attrs = [plan.diff ? `diff=${DRIVER}` : '', plan.merge ? `merge=${DRIVER}` : '', plan.filter ? `filter=${DRIVER}` : ''].filter(Boolean);
  const file = join(root, '.gitattributes');
  // A clone made with --no-checkout has HEAD's .gitattributes in the repository but not on disk: writing
  // one now would make an untracked file that blocks the checkout.
  if (!existsSync(file) && spawnSync('git', ['cat-file', '-e', 'HEAD:.gitattributes'], { cwd: root, stdio: 'ignore' }).status === 0) {
    throw new UsageError('.gitattributes is in HEAD but not in the working tree (a clone made with --no-checkout?): run git checkout first, then git-setup');
  }
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const lines = old.split('\n');
  const added: string[] = [];
  const present: string[] = [];
  let changed = false;
  for (const p of plan.patterns) {
    // The line this tool wrote for the same pattern before (only our attributes on it): widened in place.
    const i = lines.findIndex((l) => {
      const w = l.trim().split(/\s+/);
      return w[0] === p && w.length > 1 && w.slice(1).every((a) => a === `diff=${DRIVER}` || a === `merge=${DRIVER}` || a === `filter=${DRIVER}`);
    });
    if (i >= 0) {
      const have = lines[i]!.trim().split(/\s+/).slice(1);
      const all = [`diff=${DRIVER}`, `merge=${DRIVER}`, `filter=${DRIVER}`].filter((a) => have.includes(a) || attrs.includes(a));
      const line = `${p} ${all.join(' ')}`;
      if (all.length === have.length) present.push(line);
      else {
        lines[i] = line;
        added.push(line);
        changed = true;
      }
      continue;
    }
    const line = `${p} ${attrs.join(' ')}`;
    if (lines.some((l) => l.trim().replace(/\s+/g, ' ') === line)) present.push(line);
    else {
      if (lines.length && lines[lines.length - 1] === '') lines.pop();
      lines.push(line, '');
      added.push(line);
      changed = true;
    }
  }
  if (changed) {
    const text = lines.join('\n');
    writeFileAtomic(file, text.startsWith('\n') ? text.slice(1) : text.endsWith('\n') ? text : `${text}\n`, { overwrite: true, mode: 0o644 });
  }
  const want: [string, string][] = [];
  const c = plan.command;
  if (plan.diff) want.push([`diff.${DRIVER}.textconv`, `${c} git-textconv`]);
  if (plan.merge) {
    want.push([`merge.${DRIVER}.name`, 'aes-payload: three-way merge of decrypted values']);
    want.push([`merge.${DRIVER}.driver`, `${c} git-merge %O %A %B %P`]);
  }
  if (plan.filter) {
    want.push([`filter.${DRIVER}.clean`, `${c} git-filter clean %f`]);
    want.push([`filter.${DRIVER}.smudge`, `${c} git-filter smudge %f`]);
    want.push([`filter.${DRIVER}.required`, 'true']);
  }
  const config = want.map(([name, value]) => {
    const changed = configGet(name, root) !== value;
    if (changed) git(['config', '--local', name, value], root);
    return { name, value, changed };
  });
  const cache = spawnSync('git', ['config', '--get', `diff.${DRIVER}.cachetextconv`], { encoding: 'utf8', cwd: root, stdio: ['ignore', 'pipe', 'ignore'] });
  const warnings = cache.status === 0 && /^(true|yes|on|1)$/i.test(cache.stdout.trim())
    ? [`diff.${DRIVER}.cachetextconv is set: git stores the decrypted text in refs/notes/textconv; run git config --unset diff.${DRIVER}.cachetextconv (and git update-ref -d refs/notes/textconv/${DRIVER})`]
    : [];
  return { root, gitattributes: { file, added, present }, config, warnings };
}
