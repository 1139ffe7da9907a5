import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UpdatesData } from '../../bench/updates.js';
import { smokeRun } from './run-bench.js';

/** Reloads each kind of change must cause: the Runtime API for all but a new backend. */
const RELOADS: Record<string, { reloads: number; reasons: string[] }> = {
  'endpoint-added': { reloads: 0, reasons: [] },
  'endpoint-removed': { reloads: 0, reasons: [] },
  'endpoint-added-in-place': { reloads: 0, reasons: [] },
  'route-added': { reloads: 0, reasons: [] },
  'certificate-rotated': { reloads: 0, reasons: [] },
  'backend-added': { reloads: 1, reasons: ['backends'] },
};

test('bench updates --smoke: every change followed, reloads as expected, none failing a request or a long-lived connection', { timeout: 120_000 }, async () => {
  const r = await smokeRun('updates', 110_000);
  assert.equal(r.name, 'updates');
  assert.equal(r.smoke, true);
  assert.ok(r.method.length > 0, 'the method is described');
  assert.equal(r.tables.length, 3);
  const d = r.data as unknown as UpdatesData;
  assert.ok(d?.changes && d.underLoad && d.longLived, 'the result carries its figures as data');

  // change → traffic follows: every kind, three times, a finite latency, the reloads it should cause
  assert.deepEqual(Object.keys(d.changes).sort(), Object.keys(RELOADS).sort());
  assert.equal(r.tables[0]!.rows.length, Object.keys(RELOADS).length);
  for (const [kind, want] of Object.entries(RELOADS)) {
    const c = d.changes[kind]!;
    assert.equal(c.repetitions, 3, kind);
    assert.equal(c.followMs.length, 3, kind);
    for (const ms of [...c.followMs, c.followP50Ms, c.followP99Ms, c.appliedP50Ms]) {
      assert.ok(Number.isFinite(ms) && ms > 0 && ms < 10_000, `${kind}: ${ms} ms is a latency`);
    }
    assert.ok(c.followP99Ms >= c.followP50Ms, `${kind}: p99 ≥ p50`);
    assert.equal(c.reloadsPerChange, want.reloads, `${kind}: reloads per change`);
    assert.deepEqual(c.reloadReasons, want.reasons, `${kind}: reload reasons`);
    if (want.reloads === 0) assert.ok(c.runtimeOpsPerChange >= 1, `${kind}: applied through the Runtime API`);
    else assert.equal(c.runtimeOpsPerChange, 0, `${kind}: no Runtime API operation when it reloads`);
  }

  // reloads under continuous load: each one counted, every load generator busy, none failing
  const u = d.underLoad;
  assert.equal(u.reloadsForced, 10);
  assert.equal(u.reloadsCounted, u.reloadsForced, 'reloads counted by /status');
  assert.equal(u.haproxyReloadsCounted, u.reloadsForced, 'reloads counted by the supervisor');
  for (const [load, f] of Object.entries(u.byLoad)) assert.ok(f.requests > 100, `${load}: ${f.requests} requests`);
  assert.equal(u.byLoad.newConnections.failed, 0, `a new connection per request: ${JSON.stringify(u.byLoad.newConnections)}`);
  assert.equal(u.byLoad.h2.failed, 0, `HTTP/2: ${JSON.stringify(u.byLoad.h2)}`);
  assert.equal(u.byLoad.keepAlive.failed, 0, `HTTP/1.1 keep-alive: ${JSON.stringify(u.byLoad.keepAlive)}`);

  // long-lived connections: held by the old worker across the reload, to their end, every byte
  assert.equal(d.longLived.length, 2);
  for (const l of d.longLived) {
    assert.ok(l.reloadsDuring >= 1, `${l.label}: a reload while it was open`);
    assert.ok(l.oldWorkerKept, `${l.label}: the old worker kept running after the reload`);
    assert.ok(l.expected > 0, `${l.label}: something was sent`);
    assert.equal(l.received, l.expected, `${l.label}: ${l.detail}`);
    assert.ok(l.survived, `${l.label}: ${l.detail}`);
  }
});
