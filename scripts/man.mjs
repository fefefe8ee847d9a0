// `npm run man`: man/aes-payload.1 from the CLI's own help (one source), with
// help2man (Debian: help2man). The top-level --help makes the page; every
// subcommand's --help becomes a subsection of COMMANDS.
//   node scripts/man.mjs [OUT]     (default man/aes-payload.1)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin/aes-payload.js');
const out = process.argv[2] ?? join(root, 'man/aes-payload.1');
// UTF-8 throughout: in a C locale help2man turns every "…" of the help into "???".
const env = { ...process.env, NO_COLOR: '1', COLUMNS: '100', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
for (const k of Object.keys(env)) if (k.startsWith('AES_PAYLOAD_') || k === 'FORCE_COLOR') delete env[k];
const help = (args) => execFileSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });

// roff: a backslash is \e; a line starting with . or ' would be a request.
const roff = (text) => text.split('\n').map((l) => l.replace(/\\/g, '\\e').replace(/^([.'])/, '\\&$1')).join('\n');

const top = help(['--help']);
const commands = top.slice(top.indexOf('\nCommands:\n')).split('\n\n')[0];
const subs = [...commands.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]).filter((n) => n !== 'help');
let include = '[COMMANDS]\n';
for (const s of subs) {
  const h = help([s, '--help']);
  include += `.SS ${s}\n.nf\n${roff(h.trimEnd())}\n.fi\n`;
  // A command with subcommands of its own (recipients list|add|…): each gets its own subsection.
  const own = h.includes('\nCommands:\n') ? h.slice(h.indexOf('\nCommands:\n')).split('\n\n')[0] : '';
  for (const m of own.matchAll(/^ {2}([a-z]+)\b/gm)) if (m[1] !== 'help') include += `.SS ${s} ${m[1]}\n.nf\n${roff(help([s, m[1], '--help']).trimEnd())}\n.fi\n`;
}
include += `[FILES]
.TP
.I development.ini
a key as \\fBSECRET_KEY = <hex>\\fR, read with \\fB--ini\\fR
.TP
.I ~/.local/share/bash-completion/completions/aes-payload
where \\fBaes-payload completion bash\\fR goes
[SEE ALSO]
.BR age (1),
.BR openssl-enc (1),
.BR sops (1).
The README, docs/FORMAT.md (every format, byte by byte), docs/SERVICE.md, docs/WORKER.md and SECURITY.md in the package.
`;
const tmp = mkdtempSync(join(tmpdir(), 'aes-payload-man-'));
try {
  const inc = join(tmp, 'include.h2m');
  // help2man names the page after the program's file name.
  const named = join(tmp, 'aes-payload');
  symlinkSync(bin, named);
  writeFileSync(inc, include);
  mkdirSync(dirname(out), { recursive: true });
  execFileSync('help2man', ['--no-info', '--no-discard-stderr', '--locale', 'C.UTF-8', '--name', 'encrypt and decrypt payloads, JSON fields, .env files and large files with AES-GCM', '--include', inc, '--output', out, named], { env, stdio: ['ignore', 'inherit', 'inherit'] });
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`${out}: ${subs.length} subcommands`);
