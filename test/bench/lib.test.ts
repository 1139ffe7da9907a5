import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSummary } from '../../bench/lib/h2load.js';
import { parseSpeed } from '../../bench/lib/openssl-speed.js';
import { formatStat, percentile, ratio, stat } from '../../bench/lib/stats.js';

test('stat: the median of odd and even counts, the range, and the spread as shown', () => {
  const s = stat([10, 30, 20], 'req/s');
  assert.deepEqual([s.median, s.min, s.max], [20, 10, 30]);
  assert.equal(stat([1, 2, 3, 4], '').median, 2.5);
  assert.equal(formatStat(s), '20 req/s ±50%');
  assert.equal(formatStat(stat([1234.4], 'ms')), '1,234 ms');
  assert.throws(() => stat([], ''), /no runs/);
});

test('percentile: nearest rank', () => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.equal(percentile(values, 50), 50);
  assert.equal(percentile(values, 99), 99);
  assert.equal(percentile([7], 99), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('ratio: a whole percentage of the medians, n/a without a reference', () => {
  assert.equal(ratio(stat([45], ''), stat([60], '')), '75%');
  assert.equal(ratio(3, 0), 'n/a');
});

test("parseSpeed: openssl speed's sign/s for RSA-2048 and ECDSA P-256", () => {
  const out = [
    '                  sign    verify    sign/s verify/s',
    'rsa 2048 bits 0.000857s 0.000022s   1167.5  45091.5',
    '                              sign    verify    sign/s verify/s',
    ' 256 bits ecdsa (nistp256)   0.0000s   0.0001s  40583.2  11664.0',
  ].join('\n');
  assert.deepEqual(parseSpeed(out), { rsa2048: 1167.5, ecdsap256: 40583.2 });
  assert.throws(() => parseSpeed('nothing'), /no rsa2048/);
});

test("parseSummary: h2load's totals, rate and TLS protocol", () => {
  const out = [
    'TLS Protocol: TLSv1.3',
    'finished in 5.00s, 12345.60 req/s, 1.2MB/s',
    'requests: 61728 total, 61728 started, 61728 done, 61700 succeeded, 28 failed, 3 errored, 1 timeout',
    'status codes: 61700 2xx, 0 3xx, 28 4xx, 0 5xx',
  ].join('\n');
  const s = parseSummary(out);
  assert.equal(s.requestsPerSecond, 12345.6);
  assert.deepEqual([s.requests, s.succeeded, s.failed, s.errored, s.timeouts, s.ok], [61728, 61700, 28, 3, 1, 61700]);
  assert.equal(s.seconds, 5);
  assert.equal(s.tlsProtocol, 'TLSv1.3');
  assert.equal(parseSummary('finished in 250.5ms, 4.00 req/s, 0B/s\nrequests: 1 total, 1 started, 1 done, 1 succeeded, 0 failed, 0 errored, 0 timeout').seconds, 0.2505);
  assert.throws(() => parseSummary('h2load: connection refused'), /no summary/);
});
