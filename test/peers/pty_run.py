#!/usr/bin/python3
"""Run a command on a real pseudo-terminal, answer one prompt, report the result.

usage: pty_run.py --stdout FILE|- [--stdin FILE] [--ready echo-off] --wait TEXT --send TEXT [--wait TEXT --send TEXT]... -- CMD ARGS...

stdin and stderr of CMD are the terminal, which is also its controlling
terminal (/dev/tty); stdout goes to FILE, so data and what a person sees
stay apart (`--stdout -` leaves stdout on the terminal too). `--stdin FILE`
makes stdin that file instead, as when data is piped in. When TEXT appears on the terminal and
the program reads keys (the terminal is out of canonical mode, as a prompt
sets it), SEND is typed (\\r and \\x03 escapes are honoured); a SEND that is
only ^D (end of input) is typed at once, since a line-mode read takes it
whenever it comes. Nothing here waits for a time: each step waits for what
the terminal shows or for the program's terminal mode, and the run ends when
the program closes the terminal (the test's own process limit stops a hang).
Prints everything the terminal showed, and exits with CMD's exit status
(128+N for a signal).
`--ready echo-off`: answer once the terminal has echo off instead (Go's
term.ReadPassword, used by Debian's age, stays in canonical mode with echo off).
"""
import fcntl, os, pty, select, struct, sys, termios

args = sys.argv[1:]
sep = args.index('--')
pairs = list(zip(args[0:sep:2], args[1:sep:2]))
opts = dict(pairs)
cmd = args[sep + 1:]
# One or more prompts to answer, in order: (text to wait for, text to type).
waits = [v for k, v in pairs if k == '--wait']
sends = [v.encode().decode('unicode_escape').encode('latin1') for k, v in pairs if k == '--send']
out_path = opts['--stdout']
in_path = opts.get('--stdin')
# --stdin FILE: a real pipe, filled with FILE's bytes and then closed.
pipe_r = pipe_w = None
if in_path:
    pipe_r, pipe_w = os.pipe()

pid, fd = pty.fork()
if pid == 0:
    if out_path != '-':
        out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
    if in_path:
        os.dup2(pipe_r, 0)
        os.close(pipe_r)
        os.close(pipe_w)
    os.execvp(cmd[0], cmd)

if in_path:
    os.close(pipe_r)
    with open(in_path, 'rb') as f:
        data = f.read()
    assert len(data) < 60000, 'keep --stdin small: it is written before the prompts are answered'
    os.write(pipe_w, data)
    os.close(pipe_w)

# A real terminal has a size (24 rows, 80 columns); programs that draw need it.
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))

READY_FLAG = termios.ECHO if opts.get('--ready') == 'echo-off' else termios.ICANON

def reads_keys():
    """Whether the program reads keys: the terminal out of canonical mode (a prompt), or with echo off (--ready echo-off)."""
    try:
        return not (termios.tcgetattr(fd)[3] & READY_FLAG)
    except termios.error:
        return False

seen = b''
step = 0
mark = 0  # where in `seen` to look for the next prompt
shown = False  # the current step's TEXT has appeared
while True:
    # The timeout only paces the checks of the terminal mode; no step depends on it.
    r, _, _ = select.select([fd], [], [], 0.05)
    if fd in r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    if step < len(waits) and waits[step] and not shown and waits[step].encode() in seen[mark:]:
        mark = seen.index(waits[step].encode(), mark) + len(waits[step])
        shown = True
    if shown and (sends[step] == b'\x04' or reads_keys()):
        os.write(fd, sends[step])
        step += 1
        shown = False
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode('utf-8', 'replace'))
# Whether the program left the terminal as it found it (echo on).
try:
    sys.stderr.write('[pty: echo %s]\n' % ('on' if termios.tcgetattr(fd)[3] & termios.ECHO else 'off'))
except termios.error:
    sys.stderr.write('[pty: closed]\n')
if os.WIFSIGNALED(status):
    sys.exit(128 + os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
