import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cell } from '../../bench/lib/result.js';
import type { Stat } from '../../bench/lib/stats.js';
import type { ScaleData } from '../../bench/scale.js';
import { smokeRun } from './run-bench.js';

const isStat = (c: Cell | undefined): c is Stat => typeof c === 'object' && c !== null && 'median' in c;
const positive = (values: number[], what: string) => {
  assert.ok(values.length > 0, `${what}: no runs`);
  for (const v of values) assert.ok(Number.isFinite(v) && v > 0, `${what}: ${v} is not a positive figure`);
};

test('bench scale --smoke: start, render, memory and one endpoint change at three sizes, without a reload', { timeout: 150_000 }, async () => {
  const r = await smokeRun('scale', 140_000);
  assert.equal(r.name, 'scale');
  assert.equal(r.smoke, true);
  const data = (r as unknown as { data: ScaleData }).data;
  assert.deepEqual(data.sizes.map((s) => s.ingresses), [20, 50, 100]);
  for (const s of data.sizes) {
    const at = `${s.ingresses} Ingresses`;
    assert.equal(s.runs, 1, at);
    assert.equal(s.changesPerRun, 2, at);
    positive(s.startSeconds, `${at}: start to serving`);
    positive(s.gatewayRssMiB, `${at}: gateway memory`);
    positive(s.haproxyPssMiB, `${at}: HAProxy memory`);
    // A Node process and an HAProxy with its maps and servers are not smaller than a few MiB.
    for (const m of [...s.gatewayRssMiB, ...s.haproxyPssMiB]) assert.ok(m > 2, `${at}: ${m} MiB is not a process's memory`);
    positive(s.changeTrafficMs, `${at}: endpoint change to traffic`);
    assert.equal(s.changeTrafficMs.length, 2, `${at}: both changes were timed`);
    assert.equal(s.changeAppliedMs.length, 2, `${at}: both changes were applied`);
    assert.deepEqual(s.changeReloaded, [false, false], `${at}: an endpoint change reloaded HAProxy`);
    for (const ops of s.changeOperations) assert.ok(ops >= 1, `${at}: the change was applied with ${ops} Runtime API operations`);
    for (const step of ['readMs', 'translateMs', 'renderMs', 'checkMs', 'changeReadMs', 'changeTranslateMs', 'changeRenderMs', 'changePlanMs']) {
      positive(s.pipelineMs[step] ?? [], `${at}: pipeline ${step}`);
    }
  }

  const [main, pipeline] = r.tables;
  // One row per size, then the growth from the smallest size for each larger one.
  assert.equal(main!.rows.length, 3 + 2);
  for (const row of main!.rows) assert.equal(row.length, main!.columns.length, `row ${String(row[0])} has a cell per column`);
  for (const row of main!.rows.slice(0, 3)) {
    for (const cell of row.slice(1, 7)) assert.ok(isStat(cell) && cell.median > 0, `${String(row[0])}: ${JSON.stringify(cell)}`);
    assert.equal(row[7], 'no', `${String(row[0])}: reloaded`);
  }
  for (const row of main!.rows.slice(3)) {
    assert.match(String(row[0]), /^(50 \/ 20 \(linear: ×2\.5\)|100 \/ 20 \(linear: ×5\))$/);
    for (const cell of row.slice(1, 7)) assert.match(String(cell), /^×\d+(\.\d)?$/);
  }
  assert.ok(pipeline!.rows.length >= 10);
  for (const row of pipeline!.rows) assert.equal(row.length, pipeline!.columns.length);
});
