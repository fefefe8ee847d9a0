import { Argument, type Command, type Option } from 'commander';
import { UsageError } from '../errors.js';
import { writeStdout } from '../io/stdout.js';
import { withHelp } from './help.js';
import type { Ui } from './ui.js';

/**
 * `aes-payload completion bash|zsh|fish`: a completion script generated from
 * commander's own metadata (subcommands, options, their choices and value
 * kinds), so it can never drift from the CLI. No completion library:
 * tabtab, omelette and @bomb.sh/tab all answer each Tab by running the
 * program again (a hidden subcommand or environment variables), which costs
 * a Node start-up (about 100 ms here) per keypress and a runtime dependency;
 * tabtab and omelette also write into the user's shell rc files. A static
 * script answers at once.
 */
interface Spec {
  name: string;
  description: string;
  /** Runs a command given after `--` (exec): Tab there completes command names, then that command's arguments. */
  runsCommand: boolean;
  options: { flags: string[]; takes: 'none' | 'file' | 'env' | 'choice' | 'text'; choices: string[]; description: string }[];
}

function kindOf(o: Option): Spec['options'][number]['takes'] {
  if (!o.required && !o.optional) return 'none';
  if (o.argChoices?.length) return 'choice';
  if (/<(FILE|PUBKEY|DIR)/.test(o.flags)) return 'file';
  if (/<NAME>/.test(o.flags) && /env$/.test(o.long ?? '')) return 'env';
  return 'text';
}

function specs(program: Command): Spec[] {
  return program.commands
    .filter((c) => c.name() !== 'help')
    .map((c) => ({
      name: c.name(),
      description: c.description(),
      runsCommand: c.registeredArguments.some((a) => a.name() === 'CMD' && a.variadic),
      // A command with subcommands of its own (recipients list|add|…) offers their options too.
      options: [...c.options, ...c.commands.flatMap((k) => k.options).filter((o, i, all) => all.findIndex((x) => x.long === o.long) === i && !c.options.some((x) => x.long === o.long)), { flags: '-h, --help', short: '-h', long: '--help', required: false, optional: false, description: 'show help', argChoices: undefined } as unknown as Option].map((o) => ({
        flags: [o.short, o.long].filter((f): f is string => typeof f === 'string'),
        takes: kindOf(o),
        choices: o.argChoices ?? [],
        description: o.description,
      })),
    }));
}

/**
 * Where each shell looks for a user's completion scripts, as one command
 * that also works in a fresh account (the directories do not exist yet).
 * The README and `completion --help` show exactly these lines.
 */
export const INSTALL_LINES = {
  bash: 'mkdir -p ~/.local/share/bash-completion/completions && aes-payload completion bash > ~/.local/share/bash-completion/completions/aes-payload',
  zsh: 'mkdir -p ~/.zfunc && aes-payload completion zsh > ~/.zfunc/_aes-payload',
  fish: 'mkdir -p ~/.config/fish/completions && aes-payload completion fish > ~/.config/fish/completions/aes-payload.fish',
} as const;

/** What zsh also needs in ~/.zshrc (a fresh account has none): the directory in $fpath, then compinit. */
export const ZSHRC_LINES = 'fpath=(~/.zfunc $fpath); autoload -U compinit && compinit';

/** The command that adds {@link ZSHRC_LINES} to ~/.zshrc (for an account whose ~/.zshrc does not run compinit yet). */
export const ZSHRC_APPEND = `echo '${ZSHRC_LINES}' >> ~/.zshrc   # unless ~/.zshrc runs compinit already`;

/**
 * bash-completion is loaded by Debian's /etc/skel/.bashrc, not by
 * /etc/bash.bashrc (commented out there): an account without ~/.bashrc (or
 * with its own) needs this line, or the script is never found.
 */
export const BASHRC_APPEND = "grep -qs '^[^#]*bash_completion' ~/.bashrc || echo '. /usr/share/bash-completion/bash_completion' >> ~/.bashrc   # unless bash-completion is loaded already";

const ZSH_INSTALL = `${INSTALL_LINES.zsh}, with ~/.zshrc holding: ${ZSHRC_LINES}`;

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function bash(all: Spec[]): string {
  const subs = all.map((s) => s.name).join(' ');
  const values: string[] = [];
  for (const s of all) {
    for (const o of s.options) {
      if (o.takes === 'none' || o.takes === 'text') continue;
      const pat = o.flags.map((f) => `${s.name}:${f}`).join('|');
      const action = o.takes === 'choice' ? `COMPREPLY=($(compgen -W ${sq(o.choices.join(' '))} -- "$cur"))` : o.takes === 'env' ? 'COMPREPLY=($(compgen -e -- "$cur"))' : 'compopt -o filenames 2>/dev/null || :; COMPREPLY=($(compgen -f -- "$cur"))';
      values.push(`    ${pat}) ${action}; return ;;`);
    }
    const text = s.options.filter((o) => o.takes === 'text').flatMap((o) => o.flags.map((f) => `${s.name}:${f}`));
    if (text.length) values.push(`    ${text.join('|')}) COMPREPLY=(); return ;;`);
  }
  const runners = all.filter((s) => s.runsCommand).map((s) => s.name);
  // After `--`, a runner's words are a command line of its own: bash-completion's
  // _command_offset completes it as that command would (names first, then the
  // command's own completion, as for sudo); without it, command names then files.
  const passThrough = runners.length
    ? `  if [[ ${runners.map((r) => `$sub == ${r}`).join(' || ')} ]]; then
    local j
    for ((j = i + 1; j < COMP_CWORD; j++)); do
      if [[ \${COMP_WORDS[j]} == -- ]]; then
        if declare -f _command_offset >/dev/null 2>&1; then
          _command_offset $((j + 1))
        elif ((COMP_CWORD == j + 1)); then
          COMPREPLY=($(compgen -c -- "$cur"))
        else
          compopt -o filenames 2>/dev/null || :
          COMPREPLY=($(compgen -f -- "$cur"))
        fi
        return
      fi
    done
  fi
`
    : '';
  const flags = all.map((s) => `    ${s.name}) opts=${sq(s.options.flatMap((o) => o.flags.filter((f) => f.startsWith('--'))).join(' '))} ;;`);
  return `# aes-payload completion for bash (generated by \`aes-payload completion bash\`).
# Install: ${INSTALL_LINES.bash}
_aes_payload() {
  local cur prev sub="" opts="" i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      -*) ;;
      *) sub="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  if [[ -z $sub ]]; then
    COMPREPLY=($(compgen -W ${sq(`${subs} --help --version`)} -- "$cur"))
    return
  fi
${passThrough}  case "$sub:$prev" in
${values.join('\n')}
  esac
  case "$sub" in
${flags.join('\n')}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    compopt -o filenames 2>/dev/null || :
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _aes_payload aes-payload
`;
}

function zsh(all: Spec[]): string {
  // zsh runs the bash function through its bashcompinit layer: one script, one behaviour.
  return `#compdef aes-payload
# aes-payload completion for zsh (generated by \`aes-payload completion zsh\`).
# Install: ${ZSH_INSTALL}
# (a directory in $fpath, before compinit runs), or source this file after compinit.
(( $+functions[compdef] )) || { autoload -U compinit && compinit }
autoload -U +X bashcompinit && bashcompinit
${bash(all).split('\n').filter((l) => !l.startsWith('#')).join('\n')}
# Autoloaded from $fpath, this file runs on the first Tab: complete that Tab too.
if [[ \${zsh_eval_context[-1]-} == loadautofunc ]]; then _bash_complete -F _aes_payload; fi
`;
}

function fish(all: Spec[]): string {
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  const lines = [
    '# aes-payload completion for fish (generated by `aes-payload completion fish`).',
    `# Install: ${INSTALL_LINES.fish}`,
    'complete -c aes-payload -f',
    `complete -c aes-payload -n __fish_use_subcommand -l version -s V -d 'print the version'`,
  ];
  for (const s of all) lines.push(`complete -c aes-payload -n __fish_use_subcommand -a ${s.name} -d '${esc(s.description)}'`);
  const runners = all.filter((s) => s.runsCommand);
  if (runners.length) {
    // After `--`, complete the rest of the line as a command line of its own
    // (command names, then that command's own completions), as fish does for sudo.
    lines.push(
      'function __aes_payload_after_dashdash',
      '    contains -- -- (commandline -opc)',
      'end',
      'function __aes_payload_command',
      '    set -l words (commandline -opc)',
      '    set -e words[1..(contains -i -- -- $words)]',
      '    complete -C (string join -- " " (string escape -- $words (commandline -ct)))',
      'end',
    );
    for (const s of runners) lines.push(`complete -c aes-payload -n '__fish_seen_subcommand_from ${s.name}; and __aes_payload_after_dashdash' -x -a '(__aes_payload_command)'`);
  }
  for (const s of all) {
    const guard = s.runsCommand ? '; and not __aes_payload_after_dashdash' : '';
    for (const o of s.options) {
      const long = o.flags.find((f) => f.startsWith('--'))?.slice(2);
      const short = o.flags.find((f) => /^-[^-]$/.test(f))?.slice(1);
      let l = `complete -c aes-payload -n '__fish_seen_subcommand_from ${s.name}${guard}'${long ? ` -l ${long}` : ''}${short ? ` -s ${short}` : ''}`;
      if (o.takes === 'choice') l += ` -x -a '${o.choices.join(' ')}'`;
      else if (o.takes === 'file') l += ' -r -F';
      else if (o.takes === 'env') l += " -x -a '(set -n -x)'";
      else if (o.takes === 'text') l += ' -x';
      lines.push(`${l} -d '${esc(o.description.slice(0, 80))}'`);
    }
    lines.push(`complete -c aes-payload -n '__fish_seen_subcommand_from ${s.name}${guard}' -F`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerCompletion(program: Command, _ui: Ui): void {
  const cmd = program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('<SHELL>', 'the shell').choices(['bash', 'zsh', 'fish']));
  withHelp(cmd, [INSTALL_LINES.bash, BASHRC_APPEND, INSTALL_LINES.zsh, ZSHRC_APPEND, INSTALL_LINES.fish], 'Open a new shell afterwards. bash needs the bash-completion package (Debian: bash-completion), loaded by ~/.bashrc (the second line adds that where it is missing).');
  cmd.action((shell: string) => {
    const all = specs(program);
    if (all.length < 2) throw new UsageError('completion needs every subcommand registered');
    writeStdout(shell === 'bash' ? bash(all) : shell === 'zsh' ? zsh(all) : fish(all));
  });
}
