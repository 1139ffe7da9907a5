/**
 * A process that hammers a DiskCache, for the crash tests: `node cache-writer.js DIR [SEED]`.
 * Opens the cache at DIR (maxBytes CRASH_MAX_BYTES), then puts self-validating values (tiny to ~1 MB)
 * under 40 keys with overwrites, deletes and gets, yielding to the event loop after each operation so
 * the background writer runs between them, and now and then a flush(). Prints `open PID` once the cache
 * is open and `progress N` every 5 operations, for the test to kill it mid-stream. Stops by itself
 * after 100,000 operations or 60 s (a test that died must not leave it running for ever).
 */
import { DiskCache } from '../../src/edgehub/disk-cache.js';
import { rng } from '../helpers/random.js';
import { CRASH_MAX_BYTES, crashKey, makeValue } from './values.js';

function valueSize(r: number, rand: () => number): number {
  if (r < 0.4) return 200 + Math.floor(rand() * 64);
  if (r < 0.7) return 1024 + Math.floor(rand() * 8 * 1024);
  if (r < 0.9) return 16 * 1024 + Math.floor(rand() * 112 * 1024);
  return 256 * 1024 + Math.floor(rand() * 768 * 1024);
}

async function main(dir: string, seed: number): Promise<void> {
  const cache = await DiskCache.open({ dir, maxBytes: CRASH_MAX_BYTES });
  process.stdout.write(`open ${process.pid}\n`);
  const rand = rng(seed);
  const deadline = Date.now() + 60_000;
  for (let n = 1; n <= 100_000 && Date.now() < deadline; n++) {
    const key = crashKey(Math.floor(rand() * 40));
    const op = rand();
    if (op < 0.7) cache.put(key, makeValue(key, n, valueSize(rand(), rand)));
    else if (op < 0.85) cache.delete(key);
    else cache.get(key);
    if (n % 97 === 0) await cache.flush();
    if (n % 5 === 0) process.stdout.write(`progress ${n}\n`);
    await new Promise((r) => setImmediate(r));
  }
  await cache.close();
  process.stdout.write('done\n');
}

const [dir, seed] = process.argv.slice(2);
if (dir === undefined) {
  process.stderr.write('usage: node cache-writer.js DIR [SEED]\n');
  process.exitCode = 2;
} else {
  main(dir, Number(seed ?? 1)).catch((err: unknown) => {
    process.stderr.write(`cache-writer: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
