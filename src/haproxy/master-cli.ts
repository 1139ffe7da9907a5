/** What the 2.6 master CLI's `show proc` says. */
export interface ShowProc {
  master: { pid: number; reloads: number; failed: number };
  /** The current worker(s) (`# workers`): one with nbproc 1. */
  workers: Array<{ pid: number; reloads: number }>;
  /** Workers of earlier reloads still finishing their connections (`# old workers`). */
  oldWorkers: Array<{ pid: number; reloads: number }>;
}

/**
 * Parses `show proc` of HAProxy 2.6's master CLI:
 * ```
 * #<PID>          <type>          <reloads>       <uptime>        <version>
 * 15736           master          1 [failed: 0]   0d00h00m01s     2.6.12-1+deb12u4
 * # workers
 * 15842           worker          0               0d00h00m00s     2.6.12-1+deb12u4
 * # old workers
 * 15739           worker          1               0d00h00m01s     2.6.12-1+deb12u4
 * # programs
 * ```
 * The master's reload counter counts every reload, `failed` those whose configuration did not load (the
 * master then keeps the previous workers). A worker's counter is how many reloads it has lived through,
 * so after a failed reload the current worker shows 1: the section, not the counter, says which is current.
 */
export function parseShowProc(text: string): ShowProc {
  let master: ShowProc['master'] | undefined;
  const workers: ShowProc['workers'] = [];
  const oldWorkers: ShowProc['oldWorkers'] = [];
  let section: 'head' | 'workers' | 'old' | 'other' = 'head';
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) {
      const title = line.slice(1).trim();
      if (title === 'workers') section = 'workers';
      else if (title === 'old workers') section = 'old';
      else if (!title.startsWith('<PID>')) section = 'other';
      continue;
    }
    const m = /^(\d+)\s+master\s+(\d+)\s+\[failed:\s*(\d+)\]/.exec(line);
    if (m) {
      master = { pid: Number(m[1]), reloads: Number(m[2]), failed: Number(m[3]) };
      continue;
    }
    const w = /^(\d+)\s+worker\s+(\d+)/.exec(line);
    if (w) {
      const entry = { pid: Number(w[1]), reloads: Number(w[2]) };
      if (section === 'workers') workers.push(entry);
      else if (section === 'old') oldWorkers.push(entry);
    }
  }
  if (!master) throw new Error(`not a "show proc" answer of HAProxy's master CLI: ${JSON.stringify(text.slice(0, 200))}`);
  return { master, workers, oldWorkers };
}
