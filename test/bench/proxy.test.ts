import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flowsCounted, type FlowLogData } from '../../bench/proxy-flowlog.js';
import { parseWrkLatency } from '../../bench/lib/wrk.js';
import type { Cell, Table } from '../../bench/lib/result.js';
import type { Stat } from '../../bench/lib/stats.js';
import { smokeRun } from './run-bench.js';

const isStat = (c: Cell | undefined): c is Stat => typeof c === 'object' && c !== null && 'median' in c;

const PATHS = ['direct to the backend', 'gateway', 'nginx (ingress-nginx defaults)', 'nginx + access log'];
const PROTOCOLS = ['HTTP/1.1', 'HTTP/2'];
const SIZES = ['2 B', '16 KiB'];

const FLOW_LOG_PATHS = ['direct to the backend', 'gateway, flow log on (default)', 'gateway, --flow-buffer 0'];
const FLOW_LOG_RATIOS = ['flow log on / direct', '--flow-buffer 0 / direct', 'flow log on / --flow-buffer 0'];

const column = (table: Table, name: string): number => {
  const i = table.columns.indexOf(name);
  assert.ok(i >= 0, `a column "${name}" in ${table.columns.join(', ')}`);
  return i;
};

test('bench proxy --smoke: req/s, latency and CPU per request for every path, protocol and response size; the flow log on, off and direct', { timeout: 120_000 }, async () => {
  const r = await smokeRun('proxy', 110_000);
  assert.equal(r.name, 'proxy');
  assert.equal(r.smoke, true);
  assert.ok(r.method.length > 0, 'the method is described');
  assert.equal(r.tables.length, 3);
  const table = r.tables[0]!;
  const col = (name: string): number => column(table, name);
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

  // The flow log's cost: three paths with figures, three ratios, and flows that were really recorded (or not).
  const [flowTable, ratioTable] = [r.tables[1]!, r.tables[2]!];
  const fcol = (name: string) => column(flowTable, name);
  assert.deepEqual(flowTable.rows.map((row) => row[fcol('path')]), FLOW_LOG_PATHS);
  for (const row of flowTable.rows) {
    const what = String(row[fcol('path')]);
    for (const name of ['req/s', 'p50', 'p99', 'HAProxy CPU/req']) {
      const cell = row[fcol(name)];
      assert.ok(isStat(cell) && cell.runs.length === 1 && cell.median > 0, `${name} measured once for ${what}`);
    }
  }
  const [, on, off] = flowTable.rows as [Cell[], Cell[], Cell[]];
  const onGatewayCpu = on[fcol('gateway process CPU/req')];
  assert.ok(isStat(onGatewayCpu) && onGatewayCpu.median > 0, 'the gateway process spent CPU on the flow log');
  assert.match(String(on[fcol('flows recorded')]), /^\d+%$/);
  assert.equal(off[fcol('flows recorded')], 'off');
  assert.deepEqual(ratioTable.rows.map((row) => row[0]), FLOW_LOG_RATIOS);
  for (const row of ratioTable.rows) assert.match(String(row[1]), /^\d+%$/, `a ratio for ${String(row[0])}`);

  const data = r.data?.['flowLog'] as FlowLogData | undefined;
  assert.ok(data, 'the flow log figures are in the results');
  const [onRun] = data.runs['flows-on'];
  assert.ok(onRun && onRun.requests > 0 && onRun.flows !== null && onRun.flows > 0, 'requests with the flow log on became flows');
  assert.ok(data.runs['flows-off'].every((x) => x.flows === null), 'no flows are counted with --flow-buffer 0');
  for (const label of FLOW_LOG_RATIOS) assert.ok(data.ratios[label]!.length === 1 && data.ratios[label]![0]! > 0, `one ratio > 0 for ${label}`);
  assert.equal(data.lastFlow.verdict, 'FORWARDED', '/flows was not empty after the runs');
  assert.deepEqual([data.lastFlow.ingress?.name, data.lastFlow.service?.name, data.lastFlow.http?.status], ['bench', 'backend', 200]);
  assert.deepEqual(data.flowsOff, { flowsStatus: 404, configHasFlowLog: false }, 'with --flow-buffer 0 there is no flow log at all');
});

test('wrk latency and the flows counted are read from what wrk and /metrics print', () => {
  const wrk = '  Latency Distribution\n     50%  312.00us\n     75%  1.10ms\n     90%    2.50ms\n     99%    1.20s\n  1000 requests in 1.00s, 1.00KB read\n';
  assert.deepEqual(parseWrkLatency(wrk), { p50Ms: 0.312, p99Ms: 1200 });
  assert.ok(Number.isNaN(parseWrkLatency('no histogram').p50Ms));
  const metrics = [
    '# TYPE gatehouse_http_requests_total counter',
    'gatehouse_http_requests_total{namespace="default",ingress="bench",service="backend",code_class="2xx",verdict="FORWARDED"} 1200',
    'gatehouse_http_requests_total{namespace="",ingress="",service="",code_class="4xx",verdict="ERROR"} 3',
    'gatehouse_http_request_bytes_total{namespace="default",ingress="bench",service="backend"} 99999',
  ].join('\n');
  assert.equal(flowsCounted(metrics), 1203);
  assert.equal(flowsCounted(''), 0);
});
