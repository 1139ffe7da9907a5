import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cell } from '../../bench/lib/result.js';
import type { Stat } from '../../bench/lib/stats.js';
import { smokeRun } from './run-bench.js';

const isStat = (c: Cell | undefined): c is Stat => typeof c === 'object' && c !== null && 'median' in c;

test('bench tls --smoke: full and resumed handshakes through the gateway, minimal HAProxy and nginx, with the openssl speed bound', { timeout: 120_000 }, async () => {
  const r = await smokeRun('tls', 110_000);
  assert.equal(r.name, 'tls');
  assert.equal(r.smoke, true);
  const [speed, full, resumed] = r.tables;
  assert.deepEqual(speed!.rows.map((row) => row[0]), ['RSA-2048', 'ECDSA P-256']);
  for (const row of speed!.rows) assert.ok(typeof row[1] === 'number' && row[1] > 0, `a sign rate for ${row[0]}`);

  // 2 keys × 2 versions × 3 servers, and the minimal HAProxy with http-reuse always for ECDSA; each with
  // a handshake rate and the server's CPU per 1,000.
  assert.equal(full!.rows.length, 14);
  for (const row of full!.rows) {
    assert.ok(isStat(row[3]) && row[3].median > 0, `handshakes/s for ${row.slice(0, 3).join(' ')}`);
    assert.ok(isStat(row[6]) && row[6].median > 0, `server CPU for ${row.slice(0, 3).join(' ')}`);
  }
  assert.deepEqual(new Set(full!.rows.map((row) => row[2])), new Set(['gateway', 'minimal HAProxy', 'nginx', 'minimal HAProxy, http-reuse always']));
  assert.equal(resumed!.rows.length, 6);
  for (const row of resumed!.rows) assert.ok(isStat(row[2]) && row[2].median > 0, `resumed handshakes/s for ${row.slice(0, 2).join(' ')}`);
});
