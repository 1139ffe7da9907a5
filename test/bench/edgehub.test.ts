import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EdgeHubData } from '../../bench/edgehub.js';
import type { Cell } from '../../bench/lib/result.js';
import type { Stat } from '../../bench/lib/stats.js';
import { smokeRun } from './run-bench.js';

const isStat = (c: Cell | undefined): c is Stat => typeof c === 'object' && c !== null && 'median' in c;
const positive = (values: number[], what: string) => {
  assert.ok(values.length > 0, `${what}: no values`);
  for (const v of values) assert.ok(Number.isFinite(v) && v > 0, `${what}: ${v} is not a positive figure`);
};

test('bench edgehub --smoke: get, list, offline and watch through the hub and directly, every answer right', { timeout: 120_000 }, async () => {
  const r = await smokeRun('edgehub', 110_000);
  assert.equal(r.name, 'edgehub');
  assert.equal(r.smoke, true);
  assert.ok(r.method.length > 0, 'the method is described');
  const data = (r as unknown as { data: EdgeHubData }).data;
  assert.equal(data.objects, 50);
  assert.equal(data.runs, 1);
  assert.deepEqual(data.errorSamples, [], 'no wrong answer or failed request');
  assert.equal(data.errors, 0);
  positive([data.objectBytes], 'bytes per object');

  // Every request and path, offline included, with one run of answered requests and no error.
  const seen = data.requests.map((x) => `${x.request}/${x.path}`);
  assert.deepEqual(seen.sort(), ['get/direct', 'get/hub', 'get/offline', 'list/direct', 'list/hub', 'list/offline']);
  for (const x of data.requests) {
    const at = `${x.request} ${x.path}`;
    assert.equal(x.runs.length, 1, at);
    for (const p of x.runs) {
      assert.equal(p.errors, 0, `${at}: errors`);
      positive([p.requests, p.requestsPerSecond, p.p50Ms, p.p99Ms, p.seconds], at);
      assert.ok(p.p99Ms >= p.p50Ms, `${at}: p99 ${p.p99Ms} below p50 ${p.p50Ms}`);
      if (x.path === 'offline') assert.equal(p.fromCache, p.requests, `${at}: every offline answer came from the hub's cache`);
      else assert.equal(p.fromCache, 0, `${at}: online answers are the API server's`);
      if (x.path === 'direct') assert.equal(p.hubCpuMsPerRequest, undefined, `${at}: no hub CPU for direct`);
      else assert.ok(p.hubCpuMsPerRequest !== undefined && p.hubCpuMsPerRequest >= 0, `${at}: hub CPU per request`);
    }
  }

  assert.deepEqual(data.watch.map((w) => w.path), ['direct', 'hub']);
  for (const w of data.watch) {
    for (const run of w.runs) {
      assert.equal(run.errors, 0, `watch ${w.path}: errors`);
      assert.equal(run.latenciesMs.length, 10, `watch ${w.path}: every update seen`);
      positive([...run.latenciesMs, run.p50Ms, run.p99Ms], `watch ${w.path}`);
    }
  }

  for (const when of ['idle', 'list', 'end'] as const) {
    assert.equal(data.memory[when].length, 1, `memory ${when}`);
    // A Node process is not smaller than a few MiB.
    for (const m of data.memory[when]) {
      assert.ok(m.rssBytes > 10 * 2 ** 20, `memory ${when}: RSS ${m.rssBytes}`);
      assert.ok(m.heapUsedBytes > 0 && m.heapUsedBytes < m.rssBytes, `memory ${when}: heap used ${m.heapUsedBytes}`);
    }
  }
  assert.equal(data.memory.idle[0]!.cacheEntries, 0, 'nothing cached at start');
  assert.equal(data.memory.list[0]!.cacheEntries, 1, 'the list alone cached after it');
  // The list's entry holds every object's JSON.
  assert.ok(data.memory.list[0]!.cacheBytes > data.objects * data.objectBytes, `cache bytes ${data.memory.list[0]!.cacheBytes} after the list`);
  assert.ok(data.memory.end[0]!.cacheEntries >= data.objects + 1, 'the list and every object got singly cached at the end');

  const [requests, watch, memory] = r.tables;
  assert.equal(r.tables.length, 3);
  for (const t of r.tables) for (const row of t.rows) assert.equal(row.length, t.columns.length, `${t.title}: row ${String(row[0])} has a cell per column`);
  assert.equal(requests!.rows.length, 6);
  const offline = requests!.rows.filter((row) => /offline/.test(String(row[1])));
  assert.equal(offline.length, 2, 'an offline row for get and for list');
  for (const row of requests!.rows) {
    const what = `${String(row[0])}, ${String(row[1])}`;
    for (const i of [2, 4, 6]) assert.ok(isStat(row[i]) && row[i].median > 0, `${what}: column ${requests!.columns[i]}`);
    for (const i of [3, 5, 7]) assert.match(String(row[i]), /^×\d+(\.\d+)?$/, `${what}: column ${requests!.columns[i]}`);
    assert.equal(row[9], 0, `${what}: wrong answers`);
  }
  assert.equal(watch!.rows.length, 2);
  for (const row of watch!.rows) assert.ok(isStat(row[1]) && row[1].median > 0 && isStat(row[3]), `watch ${String(row[0])}`);
  assert.equal(memory!.rows.length, 3);
  assert.ok(isStat(memory!.rows[1]![4]), 'RSS per object after the list');
});
