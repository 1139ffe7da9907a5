import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, it, type TestContext } from 'node:test';
import { loadManifests } from '../../src/sources/files/load.js';
import { watchManifests } from '../../src/sources/files/watch.js';
import { waitFor } from '../helpers/wait.js';
import { SERVICE, tempDir } from './fixtures.js';

/** Well under a second, as the file source promises, with margin for a loaded CI machine. */
const DEADLINE_MS = 900;

function watched(t: TestContext, paths: string[]): { calls: () => number; next: (what: string) => Promise<void> } {
  let calls = 0;
  const w = watchManifests(paths, () => calls++, { debounceMs: 50 });
  t.after(() => w.close());
  let seen = 0;
  return {
    calls: () => calls,
    /** Waits for a call after the last one waited for. */
    async next(what: string) {
      await waitFor(() => calls > seen, DEADLINE_MS, `onChange after ${what}`);
      seen = calls;
    },
  };
}

describe('watchManifests', () => {
  it('fires after a file in a watched directory is written', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'a.yaml'), SERVICE('a'));
    const w = watched(t, [dir]);
    writeFileSync(join(dir, 'a.yaml'), SERVICE('a2'));
    await w.next('a write');
    writeFileSync(join(dir, 'a.yaml'), SERVICE('a3'));
    await w.next('a second write');
  });

  it('fires after a new manifest file appears in a watched directory, and then after it changes', async (t) => {
    const dir = tempDir(t);
    const w = watched(t, [dir]);
    writeFileSync(join(dir, 'new.yml'), SERVICE('n'));
    await w.next('a new file');
    writeFileSync(join(dir, 'new.yml'), SERVICE('n2'));
    await w.next('a write to the new file');
    unlinkSync(join(dir, 'new.yml'));
    await w.next('the file removed');
  });

  it('fires after a watched file is replaced by rename, again and again (editor saves)', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'app.yaml');
    writeFileSync(file, SERVICE('v0'));
    const w = watched(t, [file]);
    for (let i = 1; i <= 3; i++) {
      writeFileSync(join(dir, `.app.yaml.tmp${i}`), SERVICE(`v${i}`));
      renameSync(join(dir, `.app.yaml.tmp${i}`), file);
      await w.next(`rename-replace ${i}`);
      assert.equal((await loadManifests([file])).objects[0]!.name, `v${i}`);
    }
    // And a plain write to the file that replaced the original.
    writeFileSync(file, SERVICE('v4'));
    await w.next('a write after the renames');
  });

  it('fires after a watched file is deleted and created again', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'app.yaml');
    writeFileSync(file, SERVICE('v0'));
    const w = watched(t, [file]);
    rmSync(file);
    await w.next('the delete');
    writeFileSync(file, SERVICE('v1'));
    await w.next('the file created again');
  });

  it('fires when a mounted ConfigMap swaps its ..data symlink', async (t) => {
    // The kubelet's atomic writer: name.yaml -> ..data/name.yaml, ..data -> ..<timestamp>/.
    const dir = tempDir(t);
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'app.yaml'), SERVICE('v1'));
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync(join('..data', 'app.yaml'), join(dir, 'app.yaml'));
    assert.equal((await loadManifests([dir])).objects[0]!.name, 'v1');
    const w = watched(t, [dir]);
    mkdirSync(join(dir, '..v2'));
    writeFileSync(join(dir, '..v2', 'app.yaml'), SERVICE('v2'));
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await w.next('the ..data swap');
    assert.equal((await loadManifests([dir])).objects[0]!.name, 'v2');
  });

  it('follows a symlinked manifest to its target, also after the target is replaced', async (t) => {
    const dir = tempDir(t);
    const elsewhere = tempDir(t, 'gatehouse-target-');
    const target = join(elsewhere, 'real.yaml');
    writeFileSync(target, SERVICE('t0'));
    symlinkSync(target, join(dir, 'link.yaml'));
    const w = watched(t, [dir]);
    // Only the watch on the file itself can see this: nothing changes in the watched directory.
    writeFileSync(target, SERVICE('t1'));
    await w.next('a write to the target');
    writeFileSync(join(elsewhere, 'tmp'), SERVICE('t2'));
    renameSync(join(elsewhere, 'tmp'), target);
    await w.next('the target replaced by rename');
    // The watch was armed again on the new target.
    writeFileSync(target, SERVICE('t3'));
    await w.next('a write to the new target');
    assert.equal((await loadManifests([dir])).objects[0]!.name, 't3');
  });

  describe('the quiet time depends on how the file was written', () => {
    // A long debounce and a short one for whole files put in place, so that which one applied shows
    // in when onChange runs: a timer never fires early (the lower bounds are exact), and the short one
    // has all of LONG_MS as margin.
    const LONG_MS = 600;
    const callTimes = (t: TestContext, paths: string[]) => {
      const times: number[] = [];
      const w = watchManifests(paths, () => times.push(performance.now()), { debounceMs: LONG_MS, replacedDebounceMs: 5 });
      t.after(() => w.close());
      return {
        async after(what: string, change: () => void): Promise<number> {
          const n = times.length;
          const t0 = performance.now();
          change();
          await waitFor(() => times.length > n, LONG_MS + DEADLINE_MS, `onChange after ${what}`);
          return times[n]! - t0;
        },
      };
    };

    it('a file renamed over a watched file: at once, not after the long quiet', async (t) => {
      const dir = tempDir(t);
      const file = join(dir, 'app.yaml');
      writeFileSync(file, SERVICE('v0'));
      for (const paths of [[file], [dir]]) {
        const w = callTimes(t, paths);
        for (let i = 1; i <= 3; i++) {
          writeFileSync(join(dir, '.app.yaml.tmp'), SERVICE(`v${i}`));
          const ms = await w.after(`rename ${i} (watching ${paths[0] === dir ? 'the directory' : 'the file'})`, () => renameSync(join(dir, '.app.yaml.tmp'), file));
          assert.ok(ms < LONG_MS, `onChange ${Math.round(ms)} ms after the rename`);
        }
      }
    });

    it('the kubelet swapping ..data: at once', async (t) => {
      const dir = tempDir(t);
      mkdirSync(join(dir, '..v1'));
      writeFileSync(join(dir, '..v1', 'app.yaml'), SERVICE('v1'));
      symlinkSync('..v1', join(dir, '..data'));
      symlinkSync(join('..data', 'app.yaml'), join(dir, 'app.yaml'));
      const w = callTimes(t, [dir]);
      mkdirSync(join(dir, '..v2'));
      writeFileSync(join(dir, '..v2', 'app.yaml'), SERVICE('v2'));
      symlinkSync('..v2', join(dir, '..data_tmp'));
      const ms = await w.after('the ..data swap', () => {
        renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
        rmSync(join(dir, '..v1'), { recursive: true });
      });
      assert.ok(ms < LONG_MS, `onChange ${Math.round(ms)} ms after the swap`);
    });

    it('a file written in place, deleted, or created empty: after the long quiet', async (t) => {
      const dir = tempDir(t);
      const file = join(dir, 'app.yaml');
      writeFileSync(file, SERVICE('v0'));
      const w = callTimes(t, [dir]);
      assert.ok((await w.after('a write in place', () => writeFileSync(file, SERVICE('v1')))) >= LONG_MS - 1);
      assert.ok((await w.after('the delete', () => rmSync(file))) >= LONG_MS - 1);
      // created and not written yet: what comes next may be the content
      assert.ok((await w.after('an empty file created', () => writeFileSync(file, ''))) >= LONG_MS - 1);
      // a rename onto the name after a write in place: the file there is whole
      const ms = await w.after('a write, then a rename', () => {
        writeFileSync(file, SERVICE('half'));
        writeFileSync(join(dir, '.tmp'), SERVICE('v2'));
        renameSync(join(dir, '.tmp'), file);
      });
      assert.ok(ms < LONG_MS, `onChange ${Math.round(ms)} ms after the rename`);
    });
  });

  it('does not call onChange after close', async (t) => {
    const dir = tempDir(t);
    let calls = 0;
    const w = watchManifests([dir], () => calls++, { debounceMs: 10 });
    writeFileSync(join(dir, 'a.yaml'), SERVICE('a'));
    w.close(); // the event may already be queued: closing drops the pending call
    // A slower second watch on the same directory sees the next write; the first (10 ms) would
    // have fired well before it (200 ms) if it were still open.
    let other = 0;
    const w2 = watchManifests([dir], () => other++, { debounceMs: 200 });
    t.after(() => w2.close());
    writeFileSync(join(dir, 'b.yaml'), SERVICE('b'));
    await waitFor(() => other > 0, DEADLINE_MS, 'the second watch to fire');
    assert.equal(calls, 0);
  });

  it('throws for a path that does not exist', (t) => {
    const dir = tempDir(t);
    assert.throws(() => watchManifests([join(dir, 'missing')], () => {}), /does not exist/);
  });
});
