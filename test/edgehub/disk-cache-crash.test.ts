/**
 * The edge-hub disk cache across process deaths. A child process (cache-writer.ts) puts self-validating
 * values (tiny to ~1 MB) as fast as it can, with overwrites, deletes, gets and now and then a flush(),
 * and is SIGKILLed once it reports it is mid-stream: 25 rounds on the same dir, so every open recovers
 * on top of the previous recovery. After each kill the cache must open with no corrupt entry and no
 * temporary file left, every value whole and under its own key, and the size limit held, in memory
 * and on disk.
 *
 * SIGKILL proves atomicity against a process crash: whatever the kernel had accepted survives, and the
 * rename is what publishes a value. A power loss also drops what the kernel had not yet written; the
 * order that covers it (fsync the file, then rename, then fsync the directory) cannot be tested here:
 * that takes cutting the power of a VM, or a block device that drops unsynced writes.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DiskCache } from '../../src/edgehub/disk-cache.js';
import { killAll, pidsWithArgument } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { entryBytes, tempRoot, tmpFiles } from './cache-fixtures.js';
import { CRASH_MAX_BYTES, crashKey, valueProblem } from './values.js';

const WRITER = join(dirname(fileURLToPath(import.meta.url)), 'cache-writer.js');

interface Writer {
  child: ChildProcess;
  /** Operations done, from the last `progress N` line (0 before the first). */
  progress(): number;
  opened(): boolean;
  exited: Promise<void>;
  exitCode(): number | null;
  output(): string;
}

function startWriter(dir: string, seed: number): Writer {
  const child = spawn(process.execPath, [WRITER, dir, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let progress = 0;
  let opened = false;
  let code: number | null = null;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    const lines = out.split('\n');
    out = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('open ')) opened = true;
      const m = /^progress (\d+)$/.exec(line);
      if (m) progress = Number(m[1]);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((resolve) => child.on('exit', (c) => {
    code = c ?? -1;
    resolve();
  }));
  return { child, progress: () => progress, opened: () => opened, exited, exitCode: () => code, output: () => err.slice(-4000) };
}

async function kill(w: Writer): Promise<void> {
  w.child.kill('SIGKILL');
  await w.exited;
}

describe('DiskCache across process crashes', () => {
  const roots: string[] = [];
  after(() => {
    for (const root of roots) {
      killAll(pidsWithArgument(root));
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('SIGKILL mid-stream, 25 rounds on one dir: no corrupt entry, no leftover, every value whole, the limit held', async (t) => {
    const root = tempRoot();
    roots.push(root);
    const dir = join(root, 'cache');
    const keys = new Set(Array.from({ length: 40 }, (_, i) => crashKey(i)));
    let leftovers = 0;
    let entries = 0;
    let ops = 0;
    for (let round = 0; round < 25; round++) {
      const target = 5 + ((round * 37) % 150);
      const w = startWriter(dir, round + 1);
      try {
        await waitFor(() => w.progress() >= target || w.exitCode() !== null, 30_000, `round ${round}: the writer past operation ${target}`);
        assert.equal(w.exitCode(), null, `round ${round}: the writer ended by itself:\n${w.output()}`);
        ops += w.progress();
        await kill(w);
      } finally {
        killAll([w.child.pid]);
      }
      const cache = await DiskCache.open({ dir, maxBytes: CRASH_MAX_BYTES });
      try {
        const what = `round ${round} (killed after operation ${target}+)`;
        assert.deepEqual(cache.recovery.corrupt, [], what);
        assert.deepEqual(tmpFiles(dir), [], `${what}: leftovers removed`);
        for (const key of cache.keys()) {
          assert.ok(keys.has(key), `${what}: unknown key ${JSON.stringify(key)}`);
          assert.equal(valueProblem(key, cache.get(key)!), null, `${what}: ${JSON.stringify(key)}`);
        }
        assert.ok(cache.stats().bytes <= CRASH_MAX_BYTES, `${what}: ${cache.stats().bytes} bytes in memory`);
        assert.equal(entryBytes(dir), cache.stats().bytes, `${what}: the files are what was loaded`);
        leftovers += cache.recovery.leftoversRemoved;
        entries += cache.recovery.entries;
      } finally {
        await cache.close();
      }
    }
    t.diagnostic(`25 kills after ${ops} operations in all; ${leftovers} interrupted writes cleaned up, ${entries} entries recovered whole`);
  });

  it('a live writer process holds the dir: open() names the dir and its pid; once it is killed, its lock is taken over', async () => {
    const root = tempRoot();
    roots.push(root);
    const dir = join(root, 'cache');
    const w = startWriter(dir, 99);
    try {
      await waitFor(() => w.opened() || w.exitCode() !== null, 30_000, 'the writer opened the cache');
      assert.equal(w.exitCode(), null, w.output());
      await assert.rejects(DiskCache.open({ dir, maxBytes: CRASH_MAX_BYTES }), (err: Error) => {
        assert.ok(err.message.includes(`cache dir ${dir} is in use by process ${w.child.pid}`), err.message);
        return true;
      });
      await kill(w);
    } finally {
      killAll([w.child.pid]);
    }
    const cache = await DiskCache.open({ dir, maxBytes: CRASH_MAX_BYTES });
    await cache.close();
  });
});
