// Shell completion in a real bash with bash-completion, the man page
// rendered by man(1), and both generated from the CLI's own metadata.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/main.js';
import { Ui } from '../src/cli/ui.js';
import { BIN, ROOT, baseEnv, run, tempDir } from './helpers.js';

const SUBCOMMANDS = ['keygen', 'encrypt', 'decrypt', 'verify', 'rotate', 'exec', 'edit', 'serve', 'completion'];

/** Ask the bash completion function for the words it offers after `words`. */
function complete(words: string[], env: Record<string, string> = {}): string[] {
  const dir = tempDir();
  const script = `
set -e
source /usr/share/bash-completion/bash_completion
eval "$("${process.execPath}" "${BIN}" completion bash)"
cd "${dir}"
touch alpha.json beta.env
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})
COMP_CWORD=${words.length - 1}
COMPREPLY=()
_aes_payload
printf '%s\\n' "\${COMPREPLY[@]}"
`;
  const r = spawnSync('bash', ['-c', script], { env: baseEnv(env), encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean).sort();
}

describe('completion', () => {
  it('bash: subcommands, flags, flag values (algorithms, formats, wraps), env names and files', () => {
    expect(complete(['aes-payload', ''])).toEqual([...SUBCOMMANDS, '--help', '--version'].sort());
    expect(complete(['aes-payload', 'de'])).toEqual(['decrypt']);
    expect(complete(['aes-payload', 'encrypt', '--for'])).toEqual(['--force', '--format']);
    expect(complete(['aes-payload', 'encrypt', '--format', ''])).toEqual(['json', 'jwe', 'jwe-json', 'raw', 'stream']);
    expect(complete(['aes-payload', 'encrypt', '--wrap', 'A256'])).toEqual(['A256GCMKW', 'A256KW']);
    expect(complete(['aes-payload', 'decrypt', '--alg', 'A128C'])).toEqual(['A128CBC', 'A128CBC-HS256']);
    expect(complete(['aes-payload', 'decrypt', '--key-env', 'MY_SECRET_K'], { MY_SECRET_KEY_VAR: 'x' })).toEqual(['MY_SECRET_KEY_VAR']);
    expect(complete(['aes-payload', 'decrypt', '--key-file', 'al'])).toEqual(['alpha.json']);
    expect(complete(['aes-payload', 'verify', 'b'])).toEqual(['beta.env']);
    expect(complete(['aes-payload', 'serve', '--tls'])).toEqual(['--tls-cert', '--tls-cert-out', '--tls-key', '--tls-self-signed']);
    // Every flag of every subcommand is offered.
    for (const cmd of buildProgram(new Ui({})).commands) {
      const offered = complete(['aes-payload', cmd.name(), '--']);
      for (const o of cmd.options) expect(offered, `${cmd.name()} ${o.long}`).toContain(o.long);
    }
  });

  it('fish: completes subcommands, flags and flag values in a real fish (complete -C)', () => {
    const script = join(tempDir(), 'aes-payload.fish');
    writeFileSync(script, run(['completion', 'fish']).out);
    const ask = (line: string) => {
      const r = spawnSync('fish', ['--no-config', '-c', `source ${script}; complete -C ${JSON.stringify(line)}`], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]).sort();
    };
    expect(ask('aes-payload de')).toEqual(['decrypt']);
    expect(ask('aes-payload encrypt --format ')).toEqual(['json', 'jwe', 'jwe-json', 'raw', 'stream']);
    expect(ask('aes-payload encrypt --wr')).toEqual(['--wrap']);
    expect(ask('aes-payload decrypt --alg A128C')).toEqual(['A128CBC', 'A128CBC-HS256']);
  });

  it('zsh: the script loads through bashcompinit in a real zsh and offers the same candidates (zsh filters them by prefix itself)', () => {
    const script = join(tempDir(), '_aes-payload');
    writeFileSync(script, run(['completion', 'zsh']).out);
    const ask = (words: string[]) => {
      const z = `autoload -U +X compinit && compinit -u -d ${tempDir()}/zcd; source ${script}; setopt ksharrays; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _aes_payload; print -l "\${COMPREPLY[@]}"`;
      const r = spawnSync('zsh', ['-f', '-c', z], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.split('\n').filter(Boolean).sort();
    };
    expect(ask(['aes-payload', ''])).toEqual([...SUBCOMMANDS, '--help', '--version'].sort());
    expect(ask(['aes-payload', 'encrypt', '--format', ''])).toEqual(['json', 'jwe', 'jwe-json', 'raw', 'stream']);
    expect(ask(['aes-payload', 'encrypt', '--input-type', ''])).toEqual(['env', 'json', 'yaml']);
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
  });

  it('is what `npm run man` makes from the CLI help today (it cannot go stale)', () => {
    const out = join(tempDir(), 'aes-payload.1');
    const g = spawnSync(process.execPath, [join(ROOT, 'scripts/man.mjs'), out], { encoding: 'utf8' });
    expect(g.status, g.stderr).toBe(0);
    const strip = (s: string) => s.replace(/^\.TH .*$/m, '');
    expect(strip(readFileSync(out, 'utf8'))).toBe(strip(readFileSync(join(ROOT, 'man/aes-payload.1'), 'utf8')));
  });
});
