import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cell } from '../../bench/lib/result.js';
import type { Stat } from '../../bench/lib/stats.js';
import { smokeRun } from './run-bench.js';

const isStat = (c: Cell | undefined): c is Stat => typeof c === 'object' && c !== null && 'median' in c;

const PATHS = ['direct to the backend', 'gateway', 'nginx (ingress-nginx defaults)', 'nginx + access log'];
const PROTOCOLS = ['HTTP/1.1', 'HTTP/2'];
const SIZES = ['2 B', '16 KiB'];

test('bench proxy --smoke: req/s, latency and CPU per request for every path, protocol and response size', { timeout: 90_000 }, async () => {
  const r = await smokeRun('proxy', 80_000);
  assert.equal(r.name, 'proxy');
  assert.equal(r.smoke, true);
  assert.ok(r.method.length > 0, 'the method is described');
  assert.equal(r.tables.length, 1);
  const table = r.tables[0]!;
  const col = (name: string): number => {
    const i = table.columns.indexOf(name);
    assert.ok(i >= 0, `a column "${name}" in ${table.columns.join(', ')}`);
    return i;
  };
  const [path, protocol, response, rps, ofDirect, p50, p99, cpu] = ['path', 'protocol', 'response', 'req/s', '% of direct', 'p50', 'p99', 'CPU/req'].map(col) as [number, number, number, number, number, number, number, number];

  // every combination exactly once
  const expected = PROTOCOLS.flatMap((pr) => SIZES.flatMap((s) => PATHS.map((p) => `${p} | ${pr} | ${s}`)));
  const seen = table.rows.map((row) => `${String(row[path])} | ${String(row[protocol])} | ${String(row[response])}`);
  assert.deepEqual([...seen].sort(), [...expected].sort());

  for (const row of table.rows) {
    const what = `${String(row[path])}, ${String(row[protocol])}, ${String(row[response])}`;
    const [reqs, lat50, lat99, cpuPerReq] = [row[rps], row[p50], row[p99], row[cpu]];
    assert.ok(isStat(reqs) && reqs.median > 0 && reqs.runs.length === 1, `one run with req/s > 0 for ${what}`);
    assert.ok(isStat(lat50) && lat50.median > 0 && lat50.unit === 'ms', `a p50 in ms for ${what}`);
    assert.ok(isStat(lat99) && lat99.median >= lat50.median, `a p99 no lower than the p50 for ${what}`);
    assert.ok(isStat(cpuPerReq) && cpuPerReq.median > 0, `server CPU per request for ${what}`);
    if (row[path] === 'direct to the backend') assert.equal(row[ofDirect], '100%');
    else assert.match(String(row[ofDirect]), /^\d+%$/, `a percentage of direct for ${what}`);
  }
});
