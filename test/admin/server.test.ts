import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { GatewayMetrics } from '../../src/admin/metrics.js';
import { startAdminServer } from '../../src/admin/server.js';

test('admin API: health, readiness, metrics and status, on loopback only', async (t) => {
  let ready = false;
  const metrics = new GatewayMetrics();
  metrics.reloads.inc({ reason: 'initial' });
  metrics.generation.set(3);
  const admin = await startAdminServer(0, { ready: () => ready, status: () => ({ generation: 3 }) }, metrics);
  t.after(() => admin.close());
  assert.equal((admin.server.address() as AddressInfo).address, '127.0.0.1');
  const base = `http://127.0.0.1:${admin.port}`;

  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  assert.equal((await fetch(`${base}/readyz`)).status, 503);
  ready = true;
  assert.equal((await fetch(`${base}/readyz`)).status, 200);

  const text = await (await fetch(`${base}/metrics`)).text();
  assert.match(text, /^gatehouse_haproxy_reloads_total\{reason="initial"\} 1$/m);
  assert.match(text, /^gatehouse_config_generation 3$/m);
  assert.match(text, /^gatehouse_process_resident_memory_bytes \d+/m);

  const status = await fetch(`${base}/status`);
  assert.equal(status.headers.get('content-type'), 'application/json');
  assert.deepEqual(await status.json(), { generation: 3 });

  assert.equal((await fetch(`${base}/nope`)).status, 404);
  assert.equal((await fetch(`${base}/status`, { method: 'POST' })).status, 405);
});
