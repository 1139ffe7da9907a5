/**
 * What the edge-hub cache does at start, before it serves anything: removes the temporary files of
 * writes a crash interrupted, verifies every entry file (size, checksum, the key matching the name)
 * and removes the ones that fail, and rebuilds the least-recently-used order from the files'
 * modification times. Entries are read most recently used first and only while they fit in maxBytes;
 * the older rest is evicted after reading no more than its header and key, so a cache dir larger than
 * the limit (a lowered limit, a crash between a write and an eviction) never has to fit in memory.
 */
import { lstat, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeEntry, decodeKeyOnly, entryFileName, HEADER_BYTES, isEntryFileName, keyPrefixBytes, recencyFromMtimeNs } from './cache-file.js';
import { errorText, fsyncDir, removeFile } from './cache-io.js';

/** An entry found whole and loaded. */
export interface RecoveredEntry {
  key: string;
  value: Buffer;
  /** Size of its file in bytes. */
  size: number;
  /** Last use, microseconds since the epoch (the file's modification time). */
  usedUs: number;
}

/** What recovery found and did. */
export interface RecoveryResult {
  /** Least recently used first. */
  entries: RecoveredEntry[];
  bytes: number;
  /** Paths of the temporary files removed. */
  leftovers: string[];
  corrupt: { file: string; reason: string }[];
  evicted: { key: string; bytes: number }[];
}

/** What reading a file gave: its key (and its value, when read whole), or why it is not an entry. */
type Found = { ok: true; key: string; value?: Buffer } | { ok: false; reason: string };

interface Candidate {
  name: string;
  path: string;
  size: number;
  usedUs: number;
}

/** The key of the entry file at `path` (of `size` bytes), from its header and key alone. */
async function readKeyOnly(path: string, size: number): Promise<{ ok: true; key: string } | { ok: false; reason: string }> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, HEADER_BYTES));
    await fh.read(head, 0, head.length, 0);
    const prefix = Buffer.alloc(keyPrefixBytes(head, size));
    await fh.read(prefix, 0, prefix.length, 0);
    return decodeKeyOnly(prefix, size);
  } finally {
    await fh.close();
  }
}

function nameProblem(name: string, key: string): string | null {
  if (entryFileName(key) === name) return null;
  const shown = key.length > 120 ? `${key.slice(0, 120)}…` : key;
  return `holds the entry of key ${JSON.stringify(shown)} but is named for another key (renamed or copied by hand)`;
}

/** Removes every file in `tmpDir`: temporary files of writes that never completed. */
async function removeLeftovers(tmpDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(tmpDir)) {
    const path = join(tmpDir, name);
    await rm(path, { recursive: true, force: true });
    removed.push(path);
  }
  return removed;
}

/**
 * Recovers the cache whose entry files are in `entriesDir` and temporary files in `tmpDir`, keeping at
 * most `maxBytes` of entry files. Removes what it does not keep and fsyncs `entriesDir` after.
 */
export async function recoverCacheDir(entriesDir: string, tmpDir: string, maxBytes: number): Promise<RecoveryResult> {
  const result: RecoveryResult = { entries: [], bytes: 0, leftovers: await removeLeftovers(tmpDir), corrupt: [], evicted: [] };
  const candidates: Candidate[] = [];
  let removedAny = false;
  const drop = async (path: string, reason: string) => {
    try {
      await rm(path, { recursive: true, force: true });
      removedAny = true;
    } catch (err) {
      reason += ` (and it could not be removed: ${errorText(err)})`;
    }
    result.corrupt.push({ file: path, reason });
  };
  /** The file's bytes, or why they cannot be read (a failing disk must not keep the cache from opening). */
  const read = async <T>(path: string, how: (path: string) => Promise<T>): Promise<T | { ok: false; reason: string }> => {
    try {
      return await how(path);
    } catch (err) {
      return { ok: false, reason: `unreadable: ${errorText(err)}` };
    }
  };

  for (const name of await readdir(entriesDir)) {
    const path = join(entriesDir, name);
    const st = await lstat(path, { bigint: true });
    if (!st.isFile()) await drop(path, 'not a regular file: the cache dir holds only entry files');
    else if (!isEntryFileName(name)) await drop(path, 'not an entry file name (64 hex digits): a file the cache did not write');
    else candidates.push({ name, path, size: Number(st.size), usedUs: recencyFromMtimeNs(st.mtimeNs) });
  }

  // Most recently used first; ties (a filesystem with coarse timestamps) in name order.
  candidates.sort((a, b) => b.usedUs - a.usedUs || (a.name < b.name ? -1 : 1));
  let full = false;
  for (const c of candidates) {
    // Until the limit is reached, whole entries are read and verified; after it only header and key.
    const found: Found = full
      ? await read(c.path, (p) => readKeyOnly(p, c.size))
      : await read(c.path, async (p): Promise<Found> => {
          const d = decodeEntry(await readFile(p));
          return d.ok ? { ok: true, key: d.entry.key, value: d.entry.value } : d;
        });
    if (!found.ok) {
      await drop(c.path, found.reason);
      continue;
    }
    const wrongName = nameProblem(c.name, found.key);
    if (wrongName !== null) {
      await drop(c.path, wrongName);
      continue;
    }
    if (found.value !== undefined && result.bytes + c.size <= maxBytes) {
      result.entries.push({ key: found.key, value: found.value, size: c.size, usedUs: c.usedUs });
      result.bytes += c.size;
      continue;
    }
    full = true;
    result.evicted.push({ key: found.key, bytes: c.size });
    // A file that cannot be removed stays over the limit until the next start; it is not served.
    await removeFile(c.path).catch(() => {});
    removedAny = true;
  }
  result.entries.reverse();
  if (removedAny) await fsyncDir(entriesDir);
  return result;
}
