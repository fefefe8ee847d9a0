import { readFileSync, readdirSync } from 'node:fs';

/**
 * The processes a child started, to end them together with it: an editor's
 * shell, a key command's pipeline. Children stay in aes-payload's own
 * process group (and so keep the terminal: a prompt on /dev/tty, the
 * editor's Ctrl-Z), so the tree is found through /proc (Linux): every live
 * process whose parent is in the tree. Elsewhere only the child itself is
 * known. A process that detached itself into a new session and was
 * re-parented before the scan is not found; nothing else can find it either.
 */
function parents(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return children;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'latin1');
    } catch {
      continue; // ended meanwhile
    }
    // pid (comm) state ppid …; comm may hold spaces and parentheses, so read after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X') continue;
    const ppid = Number(rest[1]);
    const list = children.get(ppid);
    if (list) list.push(Number(e));
    else children.set(ppid, [Number(e)]);
  }
  return children;
}

/**
 * `roots` and every live process below them.
 *
 * @example
 * ```ts
 * processTree([child.pid!]); // [child.pid, its shell, the shell's children, …]
 * ```
 */
export function processTree(roots: number[]): number[] {
  const children = parents();
  const seen = new Set<number>();
  const todo = [...roots];
  while (todo.length) {
    const pid = todo.pop()!;
    if (seen.has(pid) || pid <= 1 || pid === process.pid) continue;
    seen.add(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return [...seen];
}

/** Send `signal` to each pid, ignoring those already gone. */
export function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Kill `roots` and everything they started: stop the tree first (a stopped
 * process cannot fork, and keeps its parent, so its children are still
 * found), scanning again until no new process turns up, then SIGKILL all.
 * `more` finds further roots on each scan (processes that left the tree,
 * see {@link markedInOurGroup}). Returns every pid killed.
 *
 * @example
 * ```ts
 * killTree([child.pid!]); // the key command, its pipeline, their children
 * ```
 */
export function killTree(roots: number[], more: () => number[] = () => []): number[] {
  const all = new Set<number>();
  for (let round = 0; round < 20; round++) {
    const fresh = processTree([...roots, ...more(), ...all]).filter((p) => !all.has(p));
    if (!fresh.length) break;
    signalAll(fresh, 'SIGSTOP');
    for (const p of fresh) all.add(p);
  }
  signalAll([...all], 'SIGKILL');
  return [...all];
}

/** Our process group, from /proc/self/stat (undefined off Linux). */
function ownGroup(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}

/**
 * The processes still in aes-payload's process group whose environment
 * holds `NAME=value` (a marker given to a child): what a child started and
 * left behind, re-parented away from it (`( sleep 100 & )`), is found this
 * way. A process that left the group (setsid: a daemon such as gpg-agent)
 * or cleared its environment is not, and is not ours to kill.
 *
 * @example
 * ```ts
 * killTree([child.pid!], () => markedInOurGroup('AES_PAYLOAD_KEY_CMD_RUN', run));
 * ```
 */
export function markedInOurGroup(name: string, value: string): number[] {
  const group = ownGroup();
  if (group === undefined) return [];
  const needle = Buffer.from(`\0${name}=${value}\0`, 'latin1');
  const first = Buffer.from(`${name}=${value}\0`, 'latin1');
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[2]) !== group || rest[0] === 'Z') continue;
      const env = readFileSync(`/proc/${e}/environ`);
      if (env.indexOf(needle) !== -1 || env.subarray(0, first.length).equals(first)) out.push(Number(e));
    } catch {
      /* ended meanwhile, or not ours to read */
    }
  }
  return out;
}
