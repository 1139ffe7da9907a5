/** Temp cache dirs and what is in them, for the edge-hub cache tests. */
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CacheEvent } from '../../src/edgehub/disk-cache.js';

/** A new empty directory under os.tmpdir(); the cache dir is a child of it that does not exist yet. */
export function tempRoot(): string {
  return mkdtempSync(join(tmpdir(), 'gh-cache-'));
}

/** The entry files of cache dir `dir`: name → size in bytes. */
export function entryFiles(dir: string): Map<string, number> {
  const files = new Map<string, number>();
  for (const name of readdirSync(join(dir, 'entries'))) files.set(name, statSync(join(dir, 'entries', name)).size);
  return files;
}

/** Total bytes of the entry files of cache dir `dir` (what maxBytes limits). */
export function entryBytes(dir: string): number {
  let sum = 0;
  for (const size of entryFiles(dir).values()) sum += size;
  return sum;
}

/** The names in cache dir `dir`'s tmp/. */
export function tmpFiles(dir: string): string[] {
  return readdirSync(join(dir, 'tmp'));
}

/** An onEvent that records every event, and the record. */
export function recorder(): { events: CacheEvent[]; onEvent: (e: CacheEvent) => void } {
  const events: CacheEvent[] = [];
  return { events, onEvent: (e) => events.push(e) };
}
