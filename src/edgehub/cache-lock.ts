/**
 * The lock that makes one process the owner of a cache dir: a file `LOCK` holding the owner's pid
 * (with the boot id and the process's start time, so a pid reused after a reboot or by another process
 * is not mistaken for the owner). It is created whole and atomically (written to a temporary file, then
 * hard-linked to `LOCK`, which fails if `LOCK` exists). A lock whose owner is gone is taken over.
 *
 * The pid is only meaningful within one pid namespace: two containers sharing a cache dir through a
 * hostPath cannot see each other's pids. One process per cache dir is a deployment rule; the lock
 * catches a second start by mistake.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** Who holds a lock, as its file says. */
export interface LockHolder {
  pid: number;
  /** /proc/sys/kernel/random/boot_id when the lock was taken (Linux). */
  bootId?: string;
  /** Field 22 of /proc/PID/stat: clock ticks from boot to the process's start (Linux). */
  startTime?: string;
}

/** Lock files held by this process, by path: a second open() in the same process is refused too. */
const heldHere = new Set<string>();

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The fields of /proc/PID/stat after the command name, or undefined off Linux or when PID is gone. */
function procStat(pid: number | 'self'): string[] | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** This process as a lock holder. */
export function currentHolder(): LockHolder {
  const holder: LockHolder = { pid: process.pid };
  const bootId = readText('/proc/sys/kernel/random/boot_id');
  const startTime = procStat('self')?.[19];
  if (bootId) holder.bootId = bootId;
  if (startTime) holder.startTime = startTime;
  return holder;
}

/** The holder a lock file's text names, or undefined when it names none (empty, damaged). */
export function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null) return undefined;
    const o = v as Record<string, unknown>;
    if (typeof o['pid'] !== 'number' || !Number.isSafeInteger(o['pid']) || o['pid'] <= 0) return undefined;
    const holder: LockHolder = { pid: o['pid'] };
    if (typeof o['bootId'] === 'string') holder.bootId = o['bootId'];
    if (typeof o['startTime'] === 'string') holder.startTime = o['startTime'];
    return holder;
  } catch {
    return undefined;
  }
}

/** Whether `holder` still runs: same boot, pid alive and not a zombie, and started when the lock says. */
export function holderAlive(holder: LockHolder, self: LockHolder = currentHolder()): boolean {
  // Our own pid, but not a lock this process holds: an earlier run with the same pid (pid 1 in a container).
  if (holder.pid === self.pid) return false;
  if (holder.bootId && self.bootId && holder.bootId !== self.bootId) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procStat(holder.pid);
  if (stat === undefined) return true; // not Linux, or not visible: trust kill(0)
  if (stat[0] === 'Z' || stat[0] === 'X' || stat[0] === 'x') return false;
  if (holder.startTime && stat[19] !== undefined && stat[19] !== holder.startTime) return false;
  return true;
}

/** A lock this process holds on a cache dir. */
export interface CacheLock {
  readonly path: string;
  /** Removes the lock file (if it is still ours). */
  release(): Promise<void>;
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

async function readIfThere(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Takes `dir`'s lock (`dir/LOCK`), using `tmpDir` (in the same filesystem) for the files it links and
 * moves. Throws, naming the dir and the pid, when a live process holds it, or when this process has it
 * open already.
 */
export async function acquireCacheLock(dir: string, tmpDir: string): Promise<CacheLock> {
  const path = resolve(dir, 'LOCK');
  if (heldHere.has(path)) throw new Error(`cache dir ${dir} is already open in this process (pid ${process.pid}); close() it before opening it again`);
  heldHere.add(path); // reserved at once: two open() calls in one process must not both find "our own pid, stale"
  let content: string;
  try {
    content = await takeLock(dir, path, tmpDir);
  } catch (err) {
    heldHere.delete(path);
    throw err;
  }
  return {
    path,
    async release() {
      if ((await readIfThere(path)) === content) await unlink(path).catch(() => {});
      heldHere.delete(path);
    },
  };
}

/** Creates the lock file `path` for this process, taking over a stale one; returns what it wrote. */
async function takeLock(dir: string, path: string, tmpDir: string): Promise<string> {
  const self = currentHolder();
  const content = `${JSON.stringify(self)}\n`;
  for (let attempt = 0; attempt < 20; attempt++) {
    const mine = join(tmpDir, `lock.${process.pid}.${randomBytes(6).toString('hex')}`);
    await writeFile(mine, content, { mode: 0o600, flag: 'wx' });
    try {
      await link(mine, path);
      return content;
    } catch (err) {
      if (code(err) !== 'EEXIST') throw err;
    } finally {
      await unlink(mine).catch(() => {});
    }
    const text = await readIfThere(path);
    if (text === undefined) continue; // released meanwhile
    const holder = parseHolder(text);
    if (holder && holderAlive(holder, self)) {
      throw new Error(`cache dir ${dir} is in use by process ${holder.pid} (lock file ${path}); one process owns a cache dir: stop that one, or give this one another cache dir`);
    }
    // Stale. Move it aside and check that what moved is what was judged stale: a racing opener may
    // have replaced it meanwhile, and then it goes back.
    const aside = join(tmpDir, `stale-lock.${process.pid}.${randomBytes(6).toString('hex')}`);
    try {
      await rename(path, aside);
    } catch (err) {
      if (code(err) === 'ENOENT') continue;
      throw err;
    }
    if ((await readIfThere(aside)) !== text) await link(aside, path).catch(() => {});
    await unlink(aside).catch(() => {});
  }
  throw new Error(`could not take the lock of cache dir ${dir} (${path}): other processes kept taking it`);
}
