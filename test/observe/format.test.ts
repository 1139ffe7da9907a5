import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Flow } from '../../src/observe/flow.js';
import { formatCompact, formatDuration, formatFlow, formatTable, formatTableHeader, formatTime, TABLE_COLUMNS } from '../../src/observe/format.js';

const utc = { utc: true };
const ok: Flow = {
  time: '2024-12-02T20:01:02.123Z',
  id: 'ok',
  verdict: 'FORWARDED',
  source: { ip: '10.0.0.5', port: 51234, namespace: 'default', pod: 'client-pod' },
  ingress: { namespace: 'default', name: 'web' },
  host: 'web.example.com',
  rule: { pathType: 'Prefix', path: '/api' },
  service: { namespace: 'default', name: 'web', port: '80' },
  endpoint: { address: '10.0.1.7', port: 8080 },
  http: { method: 'GET', path: '/api', status: 200, bytesIn: 100, bytesOut: 2000 },
  timings: { tlsHandshakeMs: null, queueMs: 0, connectMs: 1, responseMs: 2, totalMs: 3 },
};
const denied: Flow = {
  time: '2024-01-15T03:04:05.000Z',
  id: 'denied',
  verdict: 'DENIED',
  reason: 'source-range',
  source: { ip: 'fd00::17', port: 40000 },
  ingress: { namespace: 'admin', name: 'console' },
  host: 'admin.example.com',
  http: { method: 'POST', path: '/login', status: 403, bytesIn: 10, bytesOut: 20 },
  timings: { tlsHandshakeMs: null, queueMs: null, connectMs: null, responseMs: null, totalMs: 0 },
};
const handshake: Flow = {
  time: '2024-12-02T20:10:00.000Z',
  id: 'handshake',
  verdict: 'ERROR',
  reason: 'tls-handshake',
  detail: 'no shared cipher',
  source: { ip: '192.168.1.9', port: 1234 },
  timings: { tlsHandshakeMs: 5, queueMs: null, connectMs: null, responseMs: null, totalMs: null },
  tls: { version: '', cipher: '', sni: 'api.example.com', resumed: false, offloaded: false },
};

describe('formatFlow', () => {
  it('compact: one line like hubble', () => {
    assert.equal(
      formatFlow(ok, 'compact', utc),
      'Dec  2 20:01:02.123 10.0.0.5:51234 (default/client-pod) -> default/web (Service default/web:80, 10.0.1.7:8080) GET web.example.com/api 200 FORWARDED 3ms',
    );
    assert.equal(formatCompact(denied, utc), 'Jan 15 03:04:05.000 [fd00::17]:40000 -> admin/console POST admin.example.com/login 403 DENIED (source-range) 0ms');
    assert.equal(formatCompact(handshake, utc), 'Dec  2 20:10:00.000 192.168.1.9:1234 -> (no Ingress) TLS api.example.com ERROR (tls-handshake: no shared cipher)');
    const failed: Flow = { ...ok, verdict: 'ERROR', reason: 'connect-failed', detail: 'Connection refused', http: { ...ok.http!, status: 503 }, timings: { ...ok.timings, totalMs: 1500 } };
    assert.match(formatCompact(failed, utc), / GET web\.example\.com\/api 503 ERROR \(connect-failed: Connection refused\) 1\.5s$/);
    assert.doesNotMatch(formatCompact(ok), /\n/);
  });
  it('json: the flow, on one line', () => {
    const line = formatFlow(ok, 'json');
    assert.doesNotMatch(line, /\n/);
    assert.deepEqual(JSON.parse(line), ok);
  });
  it('times: local by default, UTC on request', () => {
    assert.equal(formatTime('2024-12-02T20:01:02.123Z', utc), 'Dec  2 20:01:02.123');
    const d = new Date('2024-12-02T20:01:02.123Z');
    assert.match(formatTime('2024-12-02T20:01:02.123Z'), new RegExp(`^\\w{3} [ \\d]\\d ${String(d.getHours()).padStart(2, '0')}:\\d\\d:02\\.123$`));
    assert.equal(formatTime('not a time'), 'not a time');
  });
  it('durations', () => {
    assert.deepEqual([0, 3, 999, 1000, 1250, 59_999, 125_000].map(formatDuration), ['0ms', '3ms', '999ms', '1s', '1.25s', '60s', '2m5s']);
  });
});

describe('formatTable', () => {
  it('aligns every column to its widest cell', () => {
    const lines = formatTable([ok, denied, handshake], utc).split('\n');
    assert.equal(lines.length, 4);
    assert.deepEqual(lines[0]!.split(/\s{2,}/), [...TABLE_COLUMNS]);
    // Every column starts where its header does.
    const starts = TABLE_COLUMNS.map((c) => lines[0]!.indexOf(c));
    const cells = [
      ['Dec  2 20:01:02.123', '10.0.0.5:51234 (default/client-pod)', 'default/web', 'web.example.com', 'GET', '/api', '200', 'FORWARDED', '-', 'default/web:80', '10.0.1.7:8080', '3ms'],
      ['Jan 15 03:04:05.000', '[fd00::17]:40000', 'admin/console', 'admin.example.com', 'POST', '/login', '403', 'DENIED', 'source-range', '-', '-', '0ms'],
      ['Dec  2 20:10:00.000', '192.168.1.9:1234', '-', 'api.example.com', 'TLS', '-', '-', 'ERROR', 'tls-handshake: no shared cipher', '-', '-', '-'],
    ];
    cells.forEach((row, r) => {
      const line = lines[r + 1]!;
      row.forEach((cell, i) => assert.equal(line.slice(starts[i], starts[i]! + cell.length), cell, `row ${r} column ${TABLE_COLUMNS[i]}`));
      assert.equal(line, line.trimEnd());
    });
  });
  it('an empty table is its header', () => {
    assert.equal(formatTable([]), TABLE_COLUMNS.join('  '));
  });
  it('rows for --follow line up with the fixed header when their cells fit', () => {
    const header = formatTableHeader();
    const row = formatFlow(denied, 'table', utc);
    const cells = ['Jan 15 03:04:05.000', '[fd00::17]:40000', 'admin/console', 'admin.example.com', 'POST', '/login', '403', 'DENIED', 'source-range', '-', '-', '0ms'];
    TABLE_COLUMNS.forEach((c, i) => {
      const at = header.indexOf(c);
      assert.equal(row.slice(at, at + cells[i]!.length), cells[i], `column ${c}`);
    });
    // A longer cell pushes the rest of its row along, keeping two spaces.
    assert.ok(formatFlow(ok, 'table', utc).startsWith('Dec  2 20:01:02.123  10.0.0.5:51234 (default/client-pod)  default/web'));
  });
});
