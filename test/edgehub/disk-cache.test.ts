/**
 * The edge-hub disk cache (issue 6) in one process: round trips and permissions, damaged files and
 * leftovers found at open, the size limit with least-recently-used eviction across restarts,
 * coalesced writes, write failures, and the dir lock. The crash rounds and the lock between two
 * processes are in disk-cache-crash.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { entryFileName, entryFileSize, RECENCY_STEP_US, recencyFromMtimeNs, recencyToSeconds } from '../../src/edgehub/cache-file.js';
import { DiskCache } from '../../src/edgehub/disk-cache.js';
import { entryBytes, entryFiles, recorder, tempRoot, tmpFiles } from './cache-fixtures.js';

const MB = 1024 * 1024;

/** Runs `fn` with a fresh cache dir path (not yet created) under a temp root, removed after. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const root = tempRoot();
  try {
    await fn(join(root, 'cache'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Opens, runs `fn`, closes (also when `fn` throws). */
async function withCache<T>(opts: Parameters<typeof DiskCache.open>[0], fn: (c: DiskCache) => Promise<T> | T): Promise<T> {
  const cache = await DiskCache.open(opts);
  try {
    return await fn(cache);
  } finally {
    await cache.close();
  }
}

const text = (b: Buffer | undefined) => b?.toString('utf8');

describe('DiskCache: round trip', () => {
  it('stores, overwrites and deletes; files 0600 in dirs 0700; a reopen after flush() sees the same', async () => {
    await inTempDir(async (dir) => {
      const odd = 'client:ab12/api/v1/namespaces/é€😀/pods?labelSelector=a%3Db&x=/../\n\0end';
      const long = `k/${'x'.repeat(4096)}`;
      await withCache({ dir, maxBytes: MB }, async (c) => {
        assert.deepEqual(c.recovery, { entries: 0, bytes: 0, leftoversRemoved: 0, corrupt: [] });
        c.put('a', Buffer.from('one'));
        c.put(odd, Buffer.from('{"kind":"PodList"}'));
        c.put(long, Buffer.alloc(0));
        c.put('gone', Buffer.from('soon deleted'));
        c.put('a', Buffer.from('two'));
        c.delete('gone');
        const mine = Buffer.from('copied');
        c.put('copy', mine);
        mine.fill(0);
        assert.equal(text(c.get('a')), 'two');
        assert.equal(text(c.get('copy')), 'copied', 'put() keeps a copy, not the caller\'s buffer');
        assert.equal(c.get('gone'), undefined);
        assert.equal(c.has('gone'), false);
        assert.deepEqual(c.get(long), Buffer.alloc(0));
        await c.flush();

        assert.equal(statSync(dir).mode & 0o777, 0o700);
        assert.equal(statSync(join(dir, 'entries')).mode & 0o777, 0o700);
        assert.equal(statSync(join(dir, 'tmp')).mode & 0o777, 0o700);
        const files = entryFiles(dir);
        assert.deepEqual([...files.keys()].sort(), ['a', odd, long, 'copy'].map(entryFileName).sort());
        for (const name of files.keys()) assert.equal(statSync(join(dir, 'entries', name)).mode & 0o777, 0o600, name);
        assert.deepEqual(tmpFiles(dir), [], 'no temporary file is left behind');
        assert.equal(entryBytes(dir), c.stats().bytes);
        const s = c.stats();
        assert.equal(s.entries, 4);
        assert.equal(s.hits, 3);
        assert.equal(s.misses, 1);
        assert.equal(s.writeErrors, 0);
      });
      assert.equal(existsSync(join(dir, 'LOCK')), false, 'close() removes the lock');

      await withCache({ dir, maxBytes: MB }, (c) => {
        assert.equal(c.recovery.entries, 4);
        assert.deepEqual(c.recovery.corrupt, []);
        assert.deepEqual(c.keys().sort(), ['a', odd, long, 'copy'].sort());
        assert.equal(text(c.get('a')), 'two');
        assert.equal(text(c.get(odd)), '{"kind":"PodList"}');
        assert.deepEqual(c.get(long), Buffer.alloc(0));
        assert.equal(c.has('gone'), false);
      });
    });
  });

  it('refuses a key UTF-8 cannot hold, and writes after close()', async () => {
    await inTempDir(async (dir) => {
      const c = await DiskCache.open({ dir, maxBytes: MB });
      assert.throws(() => c.put('half \ud800 a pair', Buffer.from('x')), { name: 'TypeError', message: /lone UTF-16 surrogate/ });
      await c.close();
      assert.throws(() => c.put('a', Buffer.from('x')), /cannot put: the cache at .* is closed/);
      assert.throws(() => c.delete('a'), /cannot delete: the cache at .* is closed/);
    });
  });
});

describe('DiskCache: recovery at open', () => {
  it('drops and reports each damaged file with a reason a person understands; the good entries survive', async () => {
    await inTempDir(async (dir) => {
      const names = ['good-1', 'good-2', 'truncated', 'value-flip', 'checksum-flip', 'length-flip', 'empty'];
      await withCache({ dir, maxBytes: MB }, async (c) => {
        for (const k of names) c.put(k, Buffer.from(JSON.stringify({ key: k, data: 'x'.repeat(100) })));
        await c.flush();
      });
      const file = (key: string) => join(dir, 'entries', entryFileName(key));
      const flip = (key: string, at: (length: number) => number, bits: number) => {
        const b = readFileSync(file(key));
        b[at(b.length)]! ^= bits;
        writeFileSync(file(key), b);
      };
      truncateSync(file('truncated'), statSync(file('truncated')).size - 10);
      flip('value-flip', (n) => n - 5, 0x01);
      flip('checksum-flip', () => 20, 0x80);
      flip('length-flip', () => 15, 0x01);
      writeFileSync(file('empty'), '');
      writeFileSync(file('garbage'), 'this is not a cache entry, just text that landed here. '.repeat(8));
      copyFileSync(file('good-2'), file('impostor'));
      writeFileSync(join(dir, 'entries', 'notes.txt'), 'a file someone left here\n');
      mkdirSync(join(dir, 'entries', entryFileName('a-dir')));

      const expected: [string, RegExp][] = [
        [file('truncated'), /^size mismatch: the file is \d+ bytes but its header announces \d+ .*: truncated/],
        [file('value-flip'), /^checksum mismatch: the content changed after it was written/],
        [file('checksum-flip'), /^checksum mismatch/],
        [file('length-flip'), /^size mismatch: .*damaged header/],
        [file('empty'), /^empty file \(0 bytes\)/],
        [file('garbage'), /^not a cache entry: does not start with the "GHEC" magic bytes/],
        [file('impostor'), /^holds the entry of key "good-2" but is named for another key/],
        [join(dir, 'entries', 'notes.txt'), /^not an entry file name/],
        [file('a-dir'), /^not a regular file/],
      ];
      const { events, onEvent } = recorder();
      await withCache({ dir, maxBytes: MB, onEvent }, (c) => {
        const corrupt = [...c.recovery.corrupt].sort((a, b) => a.file.localeCompare(b.file));
        const want = [...expected].sort((a, b) => a[0].localeCompare(b[0]));
        assert.deepEqual(corrupt.map((x) => x.file), want.map(([f]) => f));
        corrupt.forEach((x, i) => assert.match(x.reason, want[i]![1], x.file));
        const reported = events.filter((e) => e.type === 'corrupt');
        assert.deepEqual(reported.map((e) => e.type === 'corrupt' && e.file).sort(), want.map(([f]) => f).sort());
        assert.equal(c.stats().corrupt, expected.length);
        assert.deepEqual(c.keys().sort(), ['good-1', 'good-2']);
        assert.equal(c.recovery.entries, 2);
        assert.equal(JSON.parse(text(c.get('good-2'))!).key, 'good-2');
        assert.deepEqual([...entryFiles(dir).keys()].sort(), ['good-1', 'good-2'].map(entryFileName).sort(), 'damaged files removed');
      });
      await withCache({ dir, maxBytes: MB }, (c) => {
        assert.deepEqual(c.recovery.corrupt, [], 'a second open finds nothing more');
        assert.equal(c.recovery.entries, 2);
      });
    });
  });

  it('removes and reports the temporary files of interrupted writes', async () => {
    await inTempDir(async (dir) => {
      await withCache({ dir, maxBytes: MB }, async (c) => {
        c.put('kept', Buffer.from('value'));
        await c.flush();
      });
      const leftovers = [join(dir, 'tmp', `${entryFileName('kept')}.17`), join(dir, 'tmp', 'lock.4242.0011aabbccdd')];
      writeFileSync(leftovers[0]!, 'GHEC\0\x01 half of a write');
      writeFileSync(leftovers[1]!, '{"pid":4242}\n');
      const { events, onEvent } = recorder();
      await withCache({ dir, maxBytes: MB, onEvent }, (c) => {
        assert.equal(c.recovery.leftoversRemoved, 2);
        assert.deepEqual(events.filter((e) => e.type === 'leftover').map((e) => e.type === 'leftover' && e.file).sort(), leftovers.sort());
        assert.deepEqual(tmpFiles(dir), []);
        assert.equal(text(c.get('kept')), 'value');
        assert.deepEqual(c.recovery.corrupt, []);
      });
    });
  });
});

describe('cache file times', () => {
  it('a last use written as a file time reads back exactly, step after step', async () => {
    await inTempDir(async (dir) => {
      mkdirSync(dir);
      const path = join(dir, 'f');
      writeFileSync(path, '');
      const base = Date.now() * 1000;
      for (let i = 0; i < 300; i++) {
        const used = base + i * RECENCY_STEP_US;
        utimesSync(path, recencyToSeconds(used), recencyToSeconds(used));
        assert.equal(recencyFromMtimeNs(statSync(path, { bigint: true }).mtimeNs), used, `step ${i}`);
      }
    });
  });
});

describe('DiskCache: size limit', () => {
  const value = Buffer.alloc(1000, 'v');
  const size = entryFileSize(3, value.length); // keys k00…k99: three bytes
  const key = (i: number) => `k${String(i).padStart(2, '0')}`;

  it('evicts the least recently used (get() refreshes), holds the limit on disk, and keeps recency across a reopen', async () => {
    await inTempDir(async (dir) => {
      const maxBytes = 5 * size;
      const { events, onEvent } = recorder();
      await withCache({ dir, maxBytes, onEvent }, async (c) => {
        for (let i = 0; i < 5; i++) c.put(key(i), value);
        assert.deepEqual(events, [], 'exactly at the limit: nothing evicted');
        assert.ok(c.get(key(0)));
        c.put(key(5), value);
        assert.deepEqual(events, [{ type: 'evicted', key: key(1), bytes: size }]);
        assert.deepEqual(c.keys(), [key(2), key(3), key(4), key(0), key(5)]);
        await c.flush();
        assert.equal(entryBytes(dir), maxBytes);
        assert.deepEqual([...entryFiles(dir).keys()].sort(), c.keys().map(entryFileName).sort());
        assert.ok(c.get(key(2)), 'a get alone: recency persisted through the file time, not a write');
        assert.equal(c.stats().evictions, 1);
      });
      await withCache({ dir, maxBytes, onEvent }, async (c) => {
        assert.deepEqual(c.keys(), [key(3), key(4), key(0), key(5), key(2)], 'the order survives the reopen');
        c.put(key(6), value);
        assert.deepEqual(events.at(-1), { type: 'evicted', key: key(3), bytes: size });
        c.put('huge', Buffer.alloc(maxBytes));
        assert.deepEqual(events.at(-1), { type: 'too-large', key: 'huge', bytes: entryFileSize(4, maxBytes) });
        assert.equal(c.has('huge'), false);
        c.put(key(4), Buffer.alloc(maxBytes));
        assert.deepEqual(events.at(-1), { type: 'too-large', key: key(4), bytes: entryFileSize(3, maxBytes) });
        assert.equal(c.has(key(4)), false, 'the older value of a key refused as too large is not served');
        assert.deepEqual(c.keys(), [key(0), key(5), key(2), key(6)]);
        await c.flush();
        assert.ok(entryBytes(dir) <= maxBytes);
      });
      // A lower limit at the next start: evicted down to it at open, oldest first.
      events.length = 0;
      await withCache({ dir, maxBytes: 2 * size, onEvent }, (c) => {
        assert.deepEqual(c.keys(), [key(2), key(6)]);
        assert.deepEqual(events, [
          { type: 'evicted', key: key(5), bytes: size },
          { type: 'evicted', key: key(0), bytes: size },
        ]);
        assert.deepEqual(c.recovery, { entries: 2, bytes: 2 * size, leftoversRemoved: 0, corrupt: [] });
        assert.equal(entryBytes(dir), 2 * size);
        assert.equal(c.stats().evictions, 2);
      });
    });
  });

  it('the limit holds through many puts of mixed sizes, in memory, on disk after flush() and after a reopen', async () => {
    await inTempDir(async (dir) => {
      const maxBytes = 64 * 1024;
      await withCache({ dir, maxBytes }, async (c) => {
        for (let i = 0; i < 500; i++) {
          c.put(key(i % 100), Buffer.alloc((i * 7919) % 20000, i % 256));
          assert.ok(c.stats().bytes <= maxBytes);
        }
        await c.flush();
        assert.equal(entryBytes(dir), c.stats().bytes);
        assert.ok(entryBytes(dir) <= maxBytes);
      });
      await withCache({ dir, maxBytes }, (c) => {
        assert.ok(c.recovery.bytes <= maxBytes);
        assert.equal(entryBytes(dir), c.recovery.bytes);
      });
    });
  });
});

describe('DiskCache: background writes', () => {
  it('coalesces: 10,000 puts over 100 keys write each key at most once per burst', async () => {
    await inTempDir(async (dir) => {
      const last = new Map<string, string>();
      await withCache({ dir, maxBytes: 16 * MB }, async (c) => {
        // One burst in one turn of the event loop: the writer starts on a later turn, so it finds each
        // of the 100 keys marked once and writes it once.
        for (let i = 0; i < 10_000; i++) c.put(`key-${i % 100}`, Buffer.from(`{"seq":${i}}`));
        await c.flush();
        assert.ok(c.stats().writes <= 100, `${c.stats().writes} writes for one burst over 100 keys`);
        // Ten bursts with a turn of the event loop between them: a key is written again only when it
        // was put after the writer took it, so at most once per burst: ≤ 100 keys × 10 bursts.
        const before = c.stats().writes;
        for (let burst = 0; burst < 10; burst++) {
          for (let i = 0; i < 1000; i++) {
            const value = `{"burst":${burst},"seq":${i}}`;
            c.put(`key-${i % 100}`, Buffer.from(value));
            last.set(`key-${i % 100}`, value);
          }
          await new Promise((r) => setImmediate(r));
        }
        await c.flush();
        assert.ok(c.stats().writes - before <= 1000, `${c.stats().writes - before} writes for 10 bursts over 100 keys`);
        assert.equal(c.stats().writeErrors, 0);
      });
      await withCache({ dir, maxBytes: 16 * MB }, (c) => {
        assert.equal(c.recovery.entries, 100);
        for (const [k, v] of last) assert.equal(text(c.get(k)), v, k);
      });
    });
  });

  it('a put of the bytes a key already holds is not written again, but counts as a use', async () => {
    await inTempDir(async (dir) => {
      await withCache({ dir, maxBytes: 16 * MB }, async (c) => {
        c.put('a', Buffer.from('one'));
        c.put('b', Buffer.from('two'));
        await c.flush();
        const before = c.stats().writes;
        c.put('a', Buffer.from('one'));
        await c.flush();
        assert.equal(c.stats().writes, before, 'the same bytes: no write');
        assert.deepEqual(c.keys(), ['b', 'a'], 'a is the most recently used now');
        c.put('a', Buffer.from('uno'));
        await c.flush();
        assert.equal(c.stats().writes, before + 1, 'other bytes: one write');
        assert.equal(text(c.get('a')), 'uno');
      });
    });
  });

  it('a write that fails keeps the value in memory, reports it, rejects flush(), and succeeds on the next flush()', async () => {
    await inTempDir(async (dir) => {
      const { events, onEvent } = recorder();
      await withCache({ dir, maxBytes: MB, onEvent }, async (c) => {
        c.put('before', Buffer.from('1'));
        await c.flush();
        // A file where the temporary dir should be: every write fails, also for root.
        rmSync(join(dir, 'tmp'), { recursive: true });
        writeFileSync(join(dir, 'tmp'), 'not a dir');
        c.put('during', Buffer.from('2'));
        await assert.rejects(c.flush(), /cache write of key "during" in .*entries failed: ENOTDIR/);
        assert.deepEqual(events.filter((e) => e.type === 'write-failed').map((e) => e.type === 'write-failed' && e.key), ['during']);
        assert.equal(text(c.get('during')), '2', 'still served from memory');
        assert.equal(c.stats().writeErrors, 1);
        rmSync(join(dir, 'tmp'));
        mkdirSync(join(dir, 'tmp'), { mode: 0o700 });
        await c.flush();
        assert.ok(entryFiles(dir).has(entryFileName('during')));
      });
      await withCache({ dir, maxBytes: MB }, (c) => {
        assert.equal(text(c.get('during')), '2');
        assert.equal(text(c.get('before')), '1');
      });
    });
  });
});

describe('DiskCache: lock', () => {
  it('a second open() of an open dir fails naming dir and pid; after close() it works', async () => {
    await inTempDir(async (dir) => {
      const first = await DiskCache.open({ dir, maxBytes: MB });
      try {
        await assert.rejects(DiskCache.open({ dir, maxBytes: MB }), (err: Error) => {
          assert.ok(err.message.includes(dir), err.message);
          assert.ok(err.message.includes(`pid ${process.pid}`), err.message);
          return true;
        });
      } finally {
        await first.close();
      }
      await withCache({ dir, maxBytes: MB }, () => {});
      // Two open() calls at once in one process: one wins, the other is refused.
      const both = await Promise.allSettled([DiskCache.open({ dir, maxBytes: MB }), DiskCache.open({ dir, maxBytes: MB })]);
      const opened = both.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      assert.equal(opened.length, 1, 'exactly one of two concurrent opens');
      assert.match(String(both.find((r) => r.status === 'rejected')?.reason), /already open in this process/);
      await opened[0]!.close();
    });
  });

  it('a lock held by another live process is refused; one of an exited process, or unreadable, is taken over', async () => {
    await inTempDir(async (dir) => {
      await withCache({ dir, maxBytes: MB }, () => {});
      const lock = join(dir, 'LOCK');
      // The test runner that started this file is a live process that is not this one.
      writeFileSync(lock, `${JSON.stringify({ pid: process.ppid })}\n`);
      await assert.rejects(DiskCache.open({ dir, maxBytes: MB }), (err: Error) => {
        assert.ok(err.message.includes(`cache dir ${dir} is in use by process ${process.ppid}`), err.message);
        return true;
      });
      assert.equal(JSON.parse(readFileSync(lock, 'utf8')).pid, process.ppid, 'a live holder\'s lock is left alone');

      const exited = spawnSync(process.execPath, ['-e', '']).pid;
      writeFileSync(lock, `${JSON.stringify({ pid: exited })}\n`);
      await withCache({ dir, maxBytes: MB }, () => {
        assert.equal(JSON.parse(readFileSync(lock, 'utf8')).pid, process.pid, 'taken over');
      });
      writeFileSync(lock, '');
      await withCache({ dir, maxBytes: MB }, () => {});
      assert.equal(existsSync(lock), false);
    });
  });
});
