// Shell completion in a real bash with bash-completion, the man page
// rendered by man(1), and both generated from the CLI's own metadata.
import { spawnSync } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/main.js';
import { Ui } from '../src/cli/ui.js';
import { BIN, HANG_MS, ROOT, baseEnv, run, tempDir } from './helpers.js';

const SUBCOMMANDS = ['keygen', 'encrypt', 'decrypt', 'verify', 'rotate', 'exec', 'edit', 'set', 'recipients', 'serve', 'worker', 'completion', 'git-setup', 'git-textconv', 'git-merge', 'git-filter'];

/**
 * Ask the bash completion function for the words it offers after each of
 * `queries`, all in one bash (one bash-completion load, one script).
 */
function completeAll(queries: string[][], env: Record<string, string> = {}): string[][] {
  const dir = tempDir();
  const script = join(dir, 'aes-payload.bash');
  writeFileSync(script, run(['completion', 'bash']).out);
  const q = (w: string) => `'${w.replace(/'/g, `'\\''`)}'`;
  const body = queries
    .map((words) => `COMP_WORDS=(${words.map(q).join(' ')}); COMP_CWORD=${words.length - 1}; COMP_LINE=${q(words.join(' '))}; COMP_POINT=\${#COMP_LINE}; COMPREPLY=(); _aes_payload 2>/dev/null; printf '%s\\n' "\${COMPREPLY[@]}" END@@`)
    .join('\n');
  const r = spawnSync('bash', ['-c', `source /usr/share/bash-completion/bash_completion\nsource '${script}'\ncd '${dir}'\ntouch alpha.json beta.env\n${body}\n`], { env: baseEnv({ ...env, PATH: `${TOOLS}:${process.env.PATH}` }), encoding: 'utf8', timeout: HANG_MS });
  expect(r.status, r.stderr).toBe(0);
  const out = r.stdout.split('END@@\n');
  expect(out.length, r.stdout).toBe(queries.length + 1);
  return out.slice(0, -1).map((o) => [...new Set(o.split('\n').filter(Boolean))].sort());
}

/** A directory on PATH holding aes-payload (as npm link puts it) and a command with a unique name, for exec's completion. */
const TOOLS = tempDir();
symlinkSync(BIN, join(TOOLS, 'aes-payload'));
writeFileSync(join(TOOLS, 'aes-payload-test-tool'), '#!/bin/sh\n', { mode: 0o755 });

describe('completion', () => {
  it('bash: subcommands, flags, flag values (algorithms, formats, wraps), env names and files; command names after exec --', async () => {
    const commands = (await buildProgram(new Ui({}))).commands;
    const queries = [
      ['aes-payload', ''],
      ['aes-payload', 'de'],
      ['aes-payload', 'encrypt', '--for'],
      ['aes-payload', 'encrypt', '--format', ''],
      ['aes-payload', 'encrypt', '--wrap', 'A256'],
      ['aes-payload', 'decrypt', '--alg', 'A128C'],
      ['aes-payload', 'decrypt', '--key-env', 'MY_SECRET_K'],
      ['aes-payload', 'decrypt', '--key-file', 'al'],
      ['aes-payload', 'verify', 'b'],
      ['aes-payload', 'serve', '--tls'],
      ['aes-payload', 'exec', '-f', 'beta.env', '--', 'aes-payload-test-t'],
      ['aes-payload', 'exec', '--file', 'beta.env', '--', 'ls', '--colo'],
      ['aes-payload', 'exec', '-f', 'beta.env', '--', 'aes-payload', 'de'],
      ['aes-payload', 'exec', '--'],
      // Every flag of every subcommand is offered.
      ...commands.map((c) => ['aes-payload', c.name(), '--']),
    ];
    const a = completeAll(queries, { MY_SECRET_KEY_VAR: 'x' });
    expect(a[0]).toEqual([...SUBCOMMANDS, '--help', '--version'].sort());
    expect(a[1]).toEqual(['decrypt']);
    expect(a[2]).toEqual(['--force', '--format']);
    expect(a[3]).toEqual(['age', 'json', 'jwe', 'jwe-json', 'raw', 'stream']);
    expect(a[4]).toEqual(['A256GCMKW', 'A256KW']);
    expect(a[5]).toEqual(['A128CBC', 'A128CBC-HS256']);
    expect(a[6]).toEqual(['MY_SECRET_KEY_VAR']);
    expect(a[7]).toEqual(['alpha.json']);
    expect(a[8]).toEqual(['beta.env']);
    expect(a[9]).toEqual(['--tls-cert', '--tls-cert-out', '--tls-key', '--tls-self-signed']);
    // after exec --: command names, then that command's own completion (bash-completion's _command_offset)
    expect(a[10]).toEqual(['aes-payload-test-tool']);
    expect(a[11]).toContain('--color');
    expect(a[12]).toEqual(['decrypt']);
    expect(a[13]).toContain('--file'); // "--" itself is still being typed: exec's flags
    commands.forEach((cmd, i) => {
      for (const o of cmd.options) expect(a[14 + i], `${cmd.name()} ${o.long}`).toContain(o.long);
    });
  });

  it('fish: completes subcommands, flags and flag values in a real fish (complete -C), and command names after exec --', () => {
    const script = join(tempDir(), 'aes-payload.fish');
    writeFileSync(script, run(['completion', 'fish']).out);
    const lines = ['aes-payload de', 'aes-payload encrypt --format ', 'aes-payload encrypt --wr', 'aes-payload decrypt --alg A128C', 'aes-payload exec -f x -- aes-payload-test-t', 'aes-payload exec -f x -- aes-payload de'];
    const r = spawnSync('fish', ['--no-config', '-c', `source ${script}; ${lines.map((l) => `complete -C ${JSON.stringify(l)}; echo END@@`).join('; ')}`], { env: baseEnv({ PATH: `${TOOLS}:${process.env.PATH}` }), encoding: 'utf8', timeout: HANG_MS });
    expect(r.status, r.stderr).toBe(0);
    const a = r.stdout.split('END@@\n').slice(0, -1).map((o) => o.split('\n').filter(Boolean).map((l) => l.split('\t')[0]).sort());
    expect(a).toEqual([['decrypt'], ['age', 'json', 'jwe', 'jwe-json', 'raw', 'stream'], ['--wrap'], ['A128CBC', 'A128CBC-HS256'], ['aes-payload-test-tool'], ['decrypt']]);
  });

  it('zsh: the script loads through bashcompinit in a real zsh and offers the same candidates (zsh filters them by prefix itself)', () => {
    const script = join(tempDir(), '_aes-payload');
    writeFileSync(script, run(['completion', 'zsh']).out);
    const queries = [['aes-payload', ''], ['aes-payload', 'encrypt', '--format', ''], ['aes-payload', 'encrypt', '--input-type', ''], ['aes-payload', 'exec', '-f', 'x', '--', 'aes-payload-test-t']];
    const ask = queries.map((words) => `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _aes_payload; print -l "\${COMPREPLY[@]}"; print END@@`).join('; ');
    const z = `autoload -U +X compinit && compinit -u -d ${tempDir()}/zcd; source ${script}; setopt ksharrays; ${ask}`;
    const r = spawnSync('zsh', ['-f', '-c', z], { env: baseEnv({ PATH: `${TOOLS}:${process.env.PATH}` }), encoding: 'utf8', timeout: HANG_MS });
    expect(r.status, r.stderr).toBe(0);
    const a = r.stdout.split('END@@\n').slice(0, -1).map((o) => [...new Set(o.split('\n').filter(Boolean))].sort());
    expect(a[0]).toEqual([...SUBCOMMANDS, '--help', '--version'].sort());
    expect(a[1]).toEqual(['age', 'json', 'jwe', 'jwe-json', 'raw', 'stream']);
    expect(a[2]).toEqual(['env', 'json', 'yaml']);
    expect(a[3]).toContain('aes-payload-test-tool'); // every command name: zsh filters by prefix itself
  });

  it('the install lines of `completion --help` (and the README) work in a fresh account; Tab then completes in bash, zsh (first Tab, exec --) and fish', () => {
    const help = run(['completion', '--help']).out;
    const lines = [...help.matchAll(/^ {2}((?:mkdir|echo|grep) .*)$/gm)].map((m) => m[1]!);
    expect(lines.length).toBe(5);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const l of lines) expect(readme, l).toContain(l);
    const home = tempDir();
    const env = baseEnv({ HOME: home, PATH: `${TOOLS}:${process.env.PATH}`, TERM: 'dumb' });
    for (const l of lines) {
      const r = spawnSync('sh', ['-ec', l], { env, encoding: 'utf8', timeout: HANG_MS });
      expect(r.status, `${l}: ${r.stderr}`).toBe(0);
    }
    // bash: a new interactive shell (review 20.7: a HOME with no ~/.bashrc, as here, only has what the install lines wrote) loads
    // bash-completion from ~/.bashrc, which finds the script on its own, and it answers. Running the lines twice adds nothing twice.
    for (const l of lines) expect(spawnSync('sh', ['-ec', l], { env, encoding: 'utf8', timeout: HANG_MS }).status).toBe(0);
    expect(readFileSync(join(home, '.bashrc'), 'utf8').match(/bash_completion/g)).toHaveLength(1);
    const b = spawnSync('bash', ['-i', '-c', `__load_completion aes-payload; complete -p aes-payload; COMP_WORDS=(aes-payload de); COMP_CWORD=1; _aes_payload; echo "\${COMPREPLY[@]}"`], { env, encoding: 'utf8', timeout: HANG_MS });
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toBe('complete -F _aes_payload aes-payload\ndecrypt\n');
    // fish: autoloaded from ~/.config/fish/completions
    const f = spawnSync('fish', ['-c', "complete -C 'aes-payload de'; complete -C 'aes-payload exec -f x -- aes-payload-test-t'"], { env, encoding: 'utf8', timeout: HANG_MS });
    expect(f.status, f.stderr).toBe(0);
    expect(f.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0])).toEqual(['decrypt', 'aes-payload-test-tool']);
    // zsh: a real interactive zsh on a pseudo-terminal (zsh/zpty), Tab typed; each read waits for the text, not for time
    const drive = join(home, 'drive.zsh');
    writeFileSync(
      drive,
      [
        'zmodload zsh/zpty',
        'zpty z zsh -i',
        "zpty -w z 'PS1=READY%#'",
        "zpty -r z out '*READY#'",
        "zpty -w -n z $'aes-payload decr\\t'",
        "zpty -r z out '*decrypt *'",
        "zpty -w -n z $'\\x15'", // Ctrl-U: a new line to type on
        "zpty -w -n z $'aes-payload exec -f x -- aes-payload-test-t\\t'",
        "zpty -r z out '*aes-payload-test-tool *'",
        'print completed',
        'zpty -d z',
      ].join('\n'),
    );
    const z = spawnSync('zsh', ['-f', drive], { env, encoding: 'utf8', timeout: HANG_MS });
    expect(z.status, `${z.stdout}\n${z.stderr}`).toBe(0);
    expect(z.stdout).toContain('completed');
  });

  it('zsh and fish scripts name every subcommand and the flag values', () => {
    const zsh = run(['completion', 'zsh']);
    expect(zsh.code).toBe(0);
    expect(zsh.out).toMatch(/^#compdef aes-payload/);
    expect(zsh.out).toContain('bashcompinit');
    const fish = run(['completion', 'fish']).out;
    for (const s of SUBCOMMANDS) expect(fish).toContain(`-a ${s} -d`);
    expect(fish).toMatch(/__fish_seen_subcommand_from encrypt' -l wrap -x -a 'dir A128KW/);
    // bash parses both bash and the zsh script's bash part.
    const n = spawnSync('bash', ['-n'], { input: run(['completion', 'bash']).out, encoding: 'utf8' });
    expect(n.status, n.stderr).toBe(0);
    expect(run(['completion', 'tcsh']).code).toBe(2);
  });
});

describe('man page', () => {
  it('man -l renders man/aes-payload.1, and it names every subcommand', () => {
    const r = spawnSync('man', ['-l', join(ROOT, 'man/aes-payload.1')], { env: baseEnv({ MANWIDTH: '100', MANPAGER: 'cat', PAGER: 'cat' }), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^AES-PAYLOAD\(1\)/);
    const commands = r.stdout.slice(r.stdout.indexOf('\nCOMMANDS\n'));
    for (const s of SUBCOMMANDS) expect(commands).toMatch(new RegExp(`^ {3}${s}$`, 'm'));
    expect(r.stdout).toContain('--key-cmd');
    // The top-level "Keys" list is a list: each source on a line of its own, its meaning indented below.
    const keys = r.stdout.slice(r.stdout.indexOf('Keys (never on the command line):'), r.stdout.indexOf('Exit codes:'));
    for (const k of ['AES_PAYLOAD_KEY', 'AES_PAYLOAD_KEYRING', 'AES_PAYLOAD_KEY_CMD', '--key-env NAME', '--key-file FILE', '--ini FILE', '--keyring FILE', '--key-cmd CMD', '--key-uri URI', '--prompt', '--passphrase', '--passphrase-env NAME', '--passphrase-file FILE']) {
      expect(keys, k).toMatch(new RegExp(`^ {7}${k.replace(/[-]/g, '\\-')}\\n {14}\\S`, 'm'));
    }
  });

  it('--help names every key source: --key-cmd, AES_PAYLOAD_KEY_CMD and --key-uri too', async () => {
    const h = run(['--help']);
    expect(h.code).toBe(0);
    const keys = h.out.slice(h.out.indexOf('Keys (never on the command line):'), h.out.indexOf('Exit codes:'));
    for (const k of ['AES_PAYLOAD_KEY ', 'AES_PAYLOAD_KEYRING', 'AES_PAYLOAD_KEY_CMD', '--key-env', '--key-file', '--ini', '--keyring', '--key-cmd CMD', '--key-uri URI', '--prompt', '--passphrase ', '--passphrase-env', '--passphrase-file']) {
      expect(keys).toMatch(new RegExp(`^  ${k.trim()}\\b`, 'm'));
    }
    // and each of them is a real option of decrypt (or a variable the README documents)
    const decrypt = (await buildProgram(new Ui({}))).commands.find((c) => c.name() === 'decrypt')!;
    for (const m of keys.matchAll(/^ {2}(--[a-z-]+)/gm)) expect(decrypt.options.map((o) => o.long)).toContain(m[1]);
  });

  it('review 20.10: --help and the man page have an ENVIRONMENT list naming every variable src/ reads', () => {
    const src = spawnSync('grep', ['-rhoE', 'AES_PAYLOAD_[A-Z0-9_]+|\\b(NO_COLOR|FORCE_COLOR|EDITOR|VISUAL)\\b', join(ROOT, 'src')], { encoding: 'utf8' }).stdout;
    // internal: set by aes-payload for its own children, or by the build
    const internal = new Set(['AES_PAYLOAD_SERVE_WORKER', 'AES_PAYLOAD_KEY_CMD_RUN', 'AES_PAYLOAD_BUILD_CODE_CACHE']);
    const names = [...new Set(src.split('\n').filter(Boolean))].filter((n) => !internal.has(n));
    expect(names).toEqual(expect.arrayContaining(['AES_PAYLOAD_KEY', 'AES_PAYLOAD_DEBUG', 'AES_PAYLOAD_THREADS', 'AES_PAYLOAD_KDF_BUDGET', 'AES_PAYLOAD_KID', 'NO_COLOR', 'FORCE_COLOR']));
    const h = run(['--help']);
    const envList = h.out.slice(h.out.indexOf('\nEnvironment:\n'));
    expect(envList.length).toBeGreaterThan(20);
    const man = spawnSync('man', ['-l', join(ROOT, 'man/aes-payload.1')], { env: baseEnv({ MANWIDTH: '100', MANPAGER: 'cat', PAGER: 'cat' }), encoding: 'utf8' }).stdout;
    const manEnv = man.slice(man.indexOf('\nENVIRONMENT\n'), man.indexOf('\nFILES\n'));
    expect(man.indexOf('\nENVIRONMENT\n')).toBeGreaterThan(0);
    for (const n of names) {
      expect(envList, n).toMatch(new RegExp(`^  (\\S+, )?${n}\\b`, 'm'));
      expect(manEnv, n).toContain(n);
    }
    // encrypt --help: --nonce-bytes also sets origin field values
    expect(run(['encrypt', '--help']).out.replace(/\s+/g, ' ')).toMatch(/--nonce-bytes <N> AES-GCM nonce length to write in raw output and in origin field values/);
  });

  it('is what `npm run man` makes from the CLI help today (it cannot go stale)', () => {
    const out = join(tempDir(), 'aes-payload.1');
    const g = spawnSync(process.execPath, [join(ROOT, 'scripts/man.mjs'), out], { encoding: 'utf8' });
    expect(g.status, g.stderr).toBe(0);
    const strip = (s: string) => s.replace(/^\.TH .*$/m, '');
    expect(strip(readFileSync(out, 'utf8'))).toBe(strip(readFileSync(join(ROOT, 'man/aes-payload.1'), 'utf8')));
  });

  it('review 22.6: keeps the help text\'s non-ASCII characters (help2man in a C locale turned every "…" into "???"), even when the caller\'s locale is C', () => {
    const out = join(tempDir(), 'aes-payload-c.1');
    const g = spawnSync(process.execPath, [join(ROOT, 'scripts/man.mjs'), out], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
    expect(g.status, g.stderr).toBe(0);
    for (const page of [readFileSync(out, 'utf8'), readFileSync(join(ROOT, 'man/aes-payload.1'), 'utf8')]) {
      expect(page).not.toContain('???');
      expect(page).toContain('…');
    }
  });
});
