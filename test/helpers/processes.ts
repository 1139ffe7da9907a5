import { readdirSync, readFileSync } from 'node:fs';

/**
 * Whether process `pid` still exists and is not a zombie. A killed HAProxy worker whose master died is
 * reparented to PID 1, which does not always reap it (containers): it stays as a zombie that no longer
 * runs, holds no socket and answers `kill(pid, 0)` — so /proc/<pid>/stat is read instead.
 */
export function isRunning(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X' && state !== 'x';
}

/** SIGKILL to each pid still running; for cleanup after a test, whatever happened in it. */
export function killAll(pids: Iterable<number | undefined>): void {
  for (const pid of pids) {
    if (pid === undefined || pid <= 0 || !isRunning(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Pids of the running processes whose command line contains `marker` (say, a test's own temp dir), to
 * clean up every process a test started, by pid, even those it never learned about.
 */
export function pidsWithArgument(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker) && isRunning(Number(entry))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
