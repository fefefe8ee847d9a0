#!/usr/bin/python3
"""Run a command on a real pseudo-terminal and answer hidden-input prompts (Debian's age asks its passphrase so).

usage: pty_echo_off.py --stdout FILE --wait TEXT --send TEXT [--wait TEXT --send TEXT]... -- CMD ARGS...

Like pty_run.py, but a prompt is answered once TEXT has appeared and the
terminal has echo off: Go's term.ReadPassword (used by age) stays in canonical
mode with echo off, where pty_run.py waits for canonical mode to end. stdin
and stderr of CMD are the terminal; stdout goes to FILE. Nothing waits for a
time. Prints what the terminal showed; exits with CMD's exit status.
"""
import os, pty, select, sys, termios

args = sys.argv[1:]
sep = args.index('--')
pairs = list(zip(args[0:sep:2], args[1:sep:2]))
opts = dict(pairs)
cmd = args[sep + 1:]
waits = [v for k, v in pairs if k == '--wait']
sends = [v.encode().decode('unicode_escape').encode('latin1') for k, v in pairs if k == '--send']

pid, fd = pty.fork()
if pid == 0:
    out = os.open(opts['--stdout'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.execvp(cmd[0], cmd)

def echo_off():
    try:
        return not (termios.tcgetattr(fd)[3] & termios.ECHO)
    except termios.error:
        return False

seen = b''
step = 0
mark = 0
shown = False
while True:
    r, _, _ = select.select([fd], [], [], 0.05)
    if fd in r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    if step < len(waits) and not shown and waits[step].encode() in seen[mark:]:
        mark = seen.index(waits[step].encode(), mark) + len(waits[step])
        shown = True
    if shown and echo_off():
        os.write(fd, sends[step])
        step += 1
        shown = False
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode('utf-8', 'replace'))
if os.WIFSIGNALED(status):
    sys.exit(128 + os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
