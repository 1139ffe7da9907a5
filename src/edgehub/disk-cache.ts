/**
 * The durable cache of `gatehouse edge-hub` (`--cache-dir`): what kube-apiserver last answered, kept
 * so node components can be served while the node's link to the cloud is down.
 *
 * Every value is held in memory (the cache is bounded by maxBytes), so get() is synchronous, and
 * persisted in the background, one file per key (see cache-file.ts for the format), each written
 * atomically (temporary file, fsync, rename, directory fsync; cache-io.ts). After a process crash or
 * a power loss each key holds its old or its new complete value, or is absent if it was never written
 * whole; at the next open, leftovers are removed and damaged files dropped and reported
 * (cache-recovery.ts). The total size of the entry files is kept under maxBytes by evicting the least
 * recently used; recency survives a restart in the files' modification times. One process owns a
 * cache dir (cache-lock.ts).
 *
 * Layout of the dir: `LOCK` (the owner), `entries/` (one file per key), `tmp/` (writes in progress).
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { encodeEntry, entryFileName, entryFileSize, keyProblem, MAX_VALUE_BYTES, RECENCY_STEP_US, recencyToSeconds } from './cache-file.js';
import { errorText, fsyncDir, removeFile, touchFile, writeFileAtomically } from './cache-io.js';
import { acquireCacheLock, type CacheLock } from './cache-lock.js';
import { recoverCacheDir, type RecoveryResult } from './cache-recovery.js';

/** Something the cache did on its own that an operator may want to see in the log. */
export type CacheEvent =
  /** An entry file found damaged at open, removed. */
  | { type: 'corrupt'; file: string; reason: string }
  /** A temporary file of an interrupted write, removed at open. */
  | { type: 'leftover'; file: string }
  /** The least recently used entry, removed to stay under maxBytes. */
  | { type: 'evicted'; key: string; bytes: number }
  /** A value whose entry file would be larger than maxBytes: not stored (and an older value of the key removed). */
  | { type: 'too-large'; key: string; bytes: number }
  /** Writing or removing the key's file failed: the value stays in memory and is retried on the next put() or flush(). */
  | { type: 'write-failed'; key: string; error: string };

/** How to open a cache. */
export interface DiskCacheOptions {
  /** The cache dir; created (mode 0700) if missing. Entry files are 0600: the cache can hold Secrets. */
  dir: string;
  /** Limit on the total bytes of all entry files (header, key and value); least recently used evicted above it. */
  maxBytes: number;
  onEvent?: (e: CacheEvent) => void;
}

/** Counters since open (evictions and corrupt include what open() did). */
export interface DiskCacheStats {
  entries: number;
  /** Total size of the entry files the entries make (what maxBytes limits). */
  bytes: number;
  hits: number;
  misses: number;
  evictions: number;
  corrupt: number;
  /** Entry files written (renamed into place); removals are not counted. */
  writes: number;
  writeErrors: number;
}

/** What open() found. `entries` and `bytes` are what it kept, after evicting down to maxBytes. */
export interface DiskCacheRecovery {
  entries: number;
  bytes: number;
  leftoversRemoved: number;
  corrupt: { file: string; reason: string }[];
}

interface Entry {
  value: Buffer;
  /** Size of its entry file. */
  size: number;
  /** Last use, microseconds since the epoch, a multiple of RECENCY_STEP_US; strictly increasing across entries. */
  usedUs: number;
}

/** A key whose file is not yet what memory holds: its first and last change not yet durable. */
interface Dirty {
  first: number;
  last: number;
}

interface FlushWaiter {
  /** Every change numbered up to this one must be durable. */
  seq: number;
  /** The touch pass that must have completed (0: none). */
  touchPass: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Keys written or removed concurrently in one batch, followed by one directory fsync. */
const BATCH = 32;
/** How long recency changes from get() wait before they are written to the files' times. */
const TOUCH_DELAY_MS = 1000;

function shortKey(key: string): string {
  return key.length > 200 ? `${key.slice(0, 200)}…` : key;
}

export class DiskCache {
  /** What open() found. */
  readonly recovery: DiskCacheRecovery;
  readonly #dir: string;
  readonly #entriesDir: string;
  readonly #tmpDir: string;
  readonly #maxBytes: number;
  readonly #onEvent: ((e: CacheEvent) => void) | undefined;
  readonly #lock: CacheLock;
  /** In least-recently-used-first order: a use moves the key to the end. */
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  #lastUs = 0;
  #seq = 0;
  readonly #dirty = new Map<string, Dirty>();
  /** Dirty keys waiting for the writer; the writer writes what memory holds when it gets to them. */
  readonly #pending = new Set<string>();
  /** Dirty keys whose last write failed, retried on the next put() or flush(). */
  readonly #failed = new Set<string>();
  /** Keys used since their file's time was last set. */
  readonly #touch = new Set<string>();
  #touchDue = false;
  #touchTimer: NodeJS.Timeout | null = null;
  #touchPassesStarted = 0;
  #touchPassesDone = 0;
  #waiters: FlushWaiter[] = [];
  #idleWaiters: (() => void)[] = [];
  #running = false;
  #scheduled = false;
  #tmpCounter = 0;
  #closing: Promise<void> | null = null;
  #closed = false;
  readonly #stats = { hits: 0, misses: 0, evictions: 0, corrupt: 0, writes: 0, writeErrors: 0 };

  private constructor(dir: string, opts: DiskCacheOptions, lock: CacheLock, found: RecoveryResult) {
    this.#dir = dir;
    this.#entriesDir = join(dir, 'entries');
    this.#tmpDir = join(dir, 'tmp');
    this.#maxBytes = opts.maxBytes;
    this.#onEvent = opts.onEvent;
    this.#lock = lock;
    for (const e of found.entries) {
      this.#entries.set(e.key, { value: e.value, size: e.size, usedUs: e.usedUs });
      this.#bytes += e.size;
      this.#lastUs = Math.max(this.#lastUs, e.usedUs);
    }
    this.#stats.corrupt = found.corrupt.length;
    this.#stats.evictions = found.evicted.length;
    this.recovery = { entries: found.entries.length, bytes: found.bytes, leftoversRemoved: found.leftovers.length, corrupt: found.corrupt };
    for (const file of found.leftovers) this.#emit({ type: 'leftover', file });
    for (const c of found.corrupt) this.#emit({ type: 'corrupt', ...c });
    for (const e of found.evicted) this.#emit({ type: 'evicted', ...e });
  }

  /**
   * Opens (and recovers) the cache: removes temp leftovers, verifies every entry's checksum, drops and
   * reports corrupt ones, rebuilds the index and the LRU order, evicts down to maxBytes. Throws when
   * another live process (or this one) has the dir open, naming the dir and the pid.
   */
  static async open(opts: DiskCacheOptions): Promise<DiskCache> {
    if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes <= 0) {
      throw new RangeError(`cache maxBytes must be a positive whole number of bytes, not ${opts.maxBytes}`);
    }
    const dir = resolve(opts.dir);
    const created = await mkdir(dir, { recursive: true, mode: 0o700 });
    if (created !== undefined) await fsyncDir(dirname(created)).catch(() => {});
    const madeEntries = await mkdir(join(dir, 'entries'), { recursive: true, mode: 0o700 });
    const madeTmp = await mkdir(join(dir, 'tmp'), { recursive: true, mode: 0o700 });
    if (madeEntries !== undefined || madeTmp !== undefined) await fsyncDir(dir);
    const lock = await acquireCacheLock(dir, join(dir, 'tmp'));
    try {
      const found = await recoverCacheDir(join(dir, 'entries'), join(dir, 'tmp'), opts.maxBytes);
      return new DiskCache(dir, opts, lock, found);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /**
   * The value, and marks the entry most recently used; counts a hit or a miss. The Buffer is the
   * cache's own: do not modify it.
   */
  get(key: string): Buffer | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) {
      this.#stats.misses++;
      return undefined;
    }
    this.#stats.hits++;
    this.#use(key, e);
    return e.value;
  }

  /** Makes an entry the most recently used; its file time follows in the next touch pass. */
  #use(key: string, e: Entry): void {
    this.#entries.delete(key);
    this.#entries.set(key, e);
    e.usedUs = this.#tick();
    this.#touch.add(key);
    this.#scheduleTouch();
  }

  /** Whether the key is cached; no LRU touch, no counting. */
  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /**
   * Stores at once in memory (a copy of `value`) and persists in the background (coalesced: many puts
   * of a key before the write = one write); a put of the bytes the key already holds only marks it used.
   * Evicts LRU entries (never the one being put) to stay under maxBytes. A value whose file would exceed maxBytes is refused with a 'too-large' event, and any older
   * value of the key removed. Throws a TypeError for a key with a lone surrogate (it cannot be stored as
   * UTF-8), and an Error after close().
   */
  put(key: string, value: Buffer): void {
    this.#assertOpen('put');
    const problem = keyProblem(key);
    if (problem !== null) throw new TypeError(`cannot cache key ${JSON.stringify(shortKey(key))}: ${problem}`);
    const size = entryFileSize(Buffer.byteLength(key, 'utf8'), value.length);
    for (const k of this.#failed) this.#pending.add(k);
    this.#failed.clear();
    if (size > this.#maxBytes || value.length > MAX_VALUE_BYTES) {
      this.#remove(key);
      this.#emit({ type: 'too-large', key, bytes: size });
      this.#kick();
      return;
    }
    const old = this.#entries.get(key);
    if (old !== undefined && old.value.equals(value)) {
      this.#use(key, old); // the same bytes again: only used, not written again
      this.#kick();
      return;
    }
    if (old !== undefined) {
      this.#bytes -= old.size;
      this.#entries.delete(key);
    }
    this.#entries.set(key, { value: Buffer.from(value), size, usedUs: this.#tick() });
    this.#bytes += size;
    this.#changed(key);
    for (const [k, e] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      if (k === key) continue;
      this.#remove(k);
      this.#stats.evictions++;
      this.#emit({ type: 'evicted', key: k, bytes: e.size });
    }
    this.#kick();
  }

  /** Removes the key: from memory at once, its file in the background. Throws after close(). */
  delete(key: string): void {
    this.#assertOpen('delete');
    if (this.#remove(key)) this.#kick();
  }

  /** The cached keys, least recently used first. */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  /**
   * Resolves when every put/delete made before the call is durable (written, fsynced, renamed, dir
   * fsynced), and the recency of the gets before it is written to the files' times. Retries writes that
   * failed before; rejects when one of the writes it waits for fails.
   */
  flush(): Promise<void> {
    if (this.#closed) {
      return this.#dirty.size === 0 ? Promise.resolve() : Promise.reject(new Error(`cache dir ${this.#dir} was closed with the last change of ${this.#dirty.size} keys not written`));
    }
    for (const k of this.#failed) this.#pending.add(k);
    this.#failed.clear();
    const touchPass = this.#touch.size > 0 ? this.#touchPassesStarted + 1 : 0;
    if (touchPass > 0) this.#touchDue = true;
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ seq: this.#seq, touchPass, resolve, reject }));
    this.#settleWaiters();
    this.#kick();
    return done;
  }

  /** flush(), then no more writes (put and delete throw); releases the dir's lock even when the flush fails. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    let failure: unknown = null;
    try {
      await this.flush();
    } catch (err) {
      failure = err;
    }
    this.#closed = true;
    if (this.#touchTimer !== null) clearTimeout(this.#touchTimer);
    this.#touchTimer = null;
    await new Promise<void>((resolve) => (this.#running || this.#scheduled ? this.#idleWaiters.push(resolve) : resolve()));
    await this.#lock.release();
    if (failure !== null) throw failure;
  }

  /** Counters since open. */
  stats(): DiskCacheStats {
    return { entries: this.#entries.size, bytes: this.#bytes, ...this.#stats };
  }

  #assertOpen(what: string): void {
    if (this.#closing !== null) throw new Error(`cannot ${what}: the cache at ${this.#dir} is closed`);
  }

  #emit(e: CacheEvent): void {
    try {
      this.#onEvent?.(e);
    } catch {
      // a listener's failure is not the cache's
    }
  }

  /**
   * A time of use: microseconds since the epoch in steps of RECENCY_STEP_US, strictly increasing (also
   * when the clock steps back; a burst of uses within one millisecond runs ahead of it for a while).
   */
  #tick(): number {
    const now = Date.now() * 1000;
    this.#lastUs = now > this.#lastUs ? now : this.#lastUs + RECENCY_STEP_US;
    return this.#lastUs;
  }

  /** Records a change of `key` for the writer. */
  #changed(key: string): void {
    const seq = ++this.#seq;
    const dirty = this.#dirty.get(key);
    if (dirty === undefined) this.#dirty.set(key, { first: seq, last: seq });
    else dirty.last = seq;
    this.#failed.delete(key);
    this.#pending.add(key);
  }

  /** Removes `key` from memory and records the change; false when it was not there. */
  #remove(key: string): boolean {
    const e = this.#entries.get(key);
    if (e === undefined) return false;
    this.#entries.delete(key);
    this.#bytes -= e.size;
    this.#changed(key);
    return true;
  }

  #scheduleTouch(): void {
    if (this.#touchTimer !== null || this.#closing !== null) return;
    this.#touchTimer = setTimeout(() => {
      this.#touchTimer = null;
      this.#touchDue = true;
      this.#kick();
    }, TOUCH_DELAY_MS);
    this.#touchTimer.unref();
  }

  /** Starts the writer on a later turn of the event loop (so a burst of puts coalesces), unless it runs. */
  #kick(): void {
    if (this.#running || this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  /** The writer: batches of pending keys, then recency, until nothing is left. One at a time. */
  async #run(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      while (!this.#closed) {
        const writing = this.#pending.size > 0;
        const touching = this.#touchDue && this.#touch.size > 0;
        if (!writing && !touching) break;
        if (writing) await this.#writeBatch();
        if (touching) await this.#touchPass();
        this.#settleWaiters();
      }
    } finally {
      this.#touchDue = false;
      this.#running = false;
      this.#settleWaiters();
      for (const idle of this.#idleWaiters.splice(0)) idle();
    }
  }

  /** Writes or removes the files of up to BATCH pending keys, removals first, then fsyncs the dir once. */
  async #writeBatch(): Promise<void> {
    const ops: { key: string; seq: number; entry: Entry | undefined; error?: unknown }[] = [];
    for (const key of this.#pending) {
      if (ops.length === BATCH) break;
      this.#pending.delete(key);
      ops.push({ key, seq: this.#dirty.get(key)?.last ?? this.#seq, entry: this.#entries.get(key) });
    }
    const path = (key: string) => join(this.#entriesDir, entryFileName(key));
    await Promise.all(
      ops.filter((op) => op.entry === undefined).map(async (op) => {
        await removeFile(path(op.key)).catch((err: unknown) => (op.error = err ?? 'failed'));
      }),
    );
    await Promise.all(
      ops.filter((op) => op.entry !== undefined).map(async (op) => {
        const entry = op.entry!;
        const name = entryFileName(op.key);
        const tmp = join(this.#tmpDir, `${name}.${++this.#tmpCounter}`);
        try {
          await writeFileAtomically(join(this.#entriesDir, name), tmp, encodeEntry(op.key, entry.value), recencyToSeconds(entry.usedUs));
        } catch (err) {
          op.error = err ?? 'failed';
        }
      }),
    );
    if (ops.some((op) => op.error === undefined)) {
      try {
        await fsyncDir(this.#entriesDir);
      } catch (err) {
        for (const op of ops) op.error ??= err ?? 'failed';
      }
    }
    for (const op of ops) {
      const dirty = this.#dirty.get(op.key);
      if (op.error === undefined) {
        if (op.entry !== undefined) this.#stats.writes++;
        if (dirty === undefined || dirty.last === op.seq) this.#dirty.delete(op.key);
        else dirty.first = op.seq + 1;
        continue;
      }
      const error = errorText(op.error);
      this.#stats.writeErrors++;
      this.#emit({ type: 'write-failed', key: op.key, error });
      if (!this.#pending.has(op.key)) this.#failed.add(op.key);
      const first = dirty?.first ?? op.seq;
      this.#waiters = this.#waiters.filter((w) => {
        if (w.seq < first) return true;
        w.reject(new Error(`cache write of key ${JSON.stringify(shortKey(op.key))} in ${this.#entriesDir} failed: ${error}`));
        return false;
      });
    }
  }

  /** Sets the files' times of the keys used since the last pass (skipping keys a write will cover). */
  async #touchPass(): Promise<void> {
    this.#touchPassesStarted++;
    this.#touchDue = false;
    const keys = [...this.#touch];
    this.#touch.clear();
    for (let i = 0; i < keys.length; i += BATCH) {
      await Promise.all(
        keys.slice(i, i + BATCH).map(async (key) => {
          const e = this.#entries.get(key);
          if (e === undefined || this.#dirty.has(key)) return;
          await touchFile(join(this.#entriesDir, entryFileName(key)), recencyToSeconds(e.usedUs)).catch(() => {});
        }),
      );
    }
    this.#touchPassesDone++;
  }

  /** Resolves the flushes whose changes are all durable. */
  #settleWaiters(): void {
    if (this.#waiters.length === 0) return;
    let oldest = Infinity;
    for (const d of this.#dirty.values()) oldest = Math.min(oldest, d.first);
    this.#waiters = this.#waiters.filter((w) => {
      if (w.seq >= oldest || this.#touchPassesDone < w.touchPass) return true;
      w.resolve();
      return false;
    });
  }
}
