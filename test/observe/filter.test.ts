import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Flow } from '../../src/observe/flow.js';
import { compileFilters, FilterError, filtersFromArgs, parseFilterJson, parseTime, timeFilter, type FlowFilter } from '../../src/observe/filter.js';

const timings = { tlsHandshakeMs: null, queueMs: 0, connectMs: 1, responseMs: 2, totalMs: 3 };

/** A forwarded request from a known pod, over TLS. */
const ok: Flow = {
  time: '2024-12-02T20:01:02.123Z',
  id: 'ok',
  verdict: 'FORWARDED',
  source: { ip: '10.0.0.5', port: 51234, namespace: 'default', pod: 'client-pod' },
  ingress: { namespace: 'shop', name: 'web' },
  host: 'Web.Example.com',
  rule: { pathType: 'Prefix', path: '/api' },
  service: { namespace: 'shop', name: 'web-svc', port: '80' },
  endpoint: { address: '10.0.1.7', port: 8080 },
  http: { method: 'GET', path: '/api/items?x=1', status: 200, bytesIn: 100, bytesOut: 2000 },
  timings,
  tls: { version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', sni: 'web.example.com', resumed: false, offloaded: false },
  termination: '----',
};
/** Denied by a source range, from IPv6, plain http. */
const denied: Flow = {
  time: '2024-12-02T20:05:00.000Z',
  id: 'denied',
  verdict: 'DENIED',
  reason: 'source-range',
  source: { ip: 'fd00::17', port: 40000 },
  ingress: { namespace: 'admin', name: 'console' },
  host: 'a.b.example.com',
  http: { method: 'post', path: '/login', status: 403, bytesIn: 10, bytesOut: 20 },
  timings,
};
/** A failed TLS handshake: no HTTP, no Ingress. */
const handshake: Flow = {
  time: '2024-12-02T20:10:00.000Z',
  id: 'handshake',
  verdict: 'ERROR',
  reason: 'tls-handshake',
  detail: 'no shared cipher',
  source: { ip: '::ffff:192.168.1.9', port: 1234 },
  timings: { tlsHandshakeMs: 5, queueMs: null, connectMs: null, responseMs: null, totalMs: null },
  tls: { version: '', cipher: '', sni: 'API.example.com', resumed: false, offloaded: false },
};
/** A 502 from the backend. */
const failed: Flow = {
  ...ok,
  id: 'failed',
  verdict: 'ERROR',
  reason: 'bad-response',
  source: { ip: '10.20.0.1', port: 999, namespace: 'batch', pod: 'job-1' },
  host: 'api.example.com',
  http: { method: 'DELETE', path: '/v1/things/7', status: 502, bytesIn: 0, bytesOut: 0 },
};
const redirected: Flow = { ...ok, id: 'redirected', verdict: 'REDIRECTED', http: { ...ok.http!, status: 308 }, tls: undefined, service: undefined, endpoint: undefined };
const all = [ok, denied, handshake, failed, redirected];

const f = (field: FlowFilter['field'], values: string[], negate = false): FlowFilter => ({ field, values, negate });
const matching = (filters: FlowFilter[]): string[] => all.filter(compileFilters(filters)).map((x) => x.id);

const filterError = (fn: () => unknown, message: string | RegExp): void => {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FilterError, `expected a FilterError, got ${String(e)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
};

describe('compileFilters: each field', () => {
  it('no filters match everything', () => {
    assert.deepEqual(matching([]), ['ok', 'denied', 'handshake', 'failed', 'redirected']);
  });
  it('namespace: the Ingress, the Service or the source pod', () => {
    assert.deepEqual(matching([f('namespace', ['admin'])]), ['denied']);
    assert.deepEqual(matching([f('namespace', ['default'])]), ['ok', 'redirected']); // the source pod's
    assert.deepEqual(matching([f('namespace', ['batch'])]), ['failed']);
    assert.deepEqual(matching([f('namespace', ['shop'])]), ['ok', 'failed', 'redirected']);
  });
  it('ingress and service: ns/name or name', () => {
    assert.deepEqual(matching([f('ingress', ['shop/web'])]), ['ok', 'failed', 'redirected']);
    assert.deepEqual(matching([f('ingress', ['console'])]), ['denied']);
    assert.deepEqual(matching([f('ingress', ['default/web'])]), []);
    assert.deepEqual(matching([f('service', ['web-svc'])]), ['ok', 'failed']);
    assert.deepEqual(matching([f('service', ['shop/web-svc'])]), ['ok', 'failed']);
    assert.deepEqual(matching([f('service', ['shop/web'])]), []);
  });
  it('host: exact and case-insensitive, or *. for one label', () => {
    assert.deepEqual(matching([f('host', ['web.example.com'])]), ['ok', 'redirected']);
    assert.deepEqual(matching([f('host', ['API.EXAMPLE.COM'])]), ['failed']);
    assert.deepEqual(matching([f('host', ['*.example.com'])]), ['ok', 'failed', 'redirected']);
    assert.deepEqual(matching([f('host', ['*.b.example.com'])]), ['denied']);
    assert.deepEqual(matching([f('host', ['example.com'])]), []);
    const withPort: Flow = { ...ok, host: 'web.example.com:8443' };
    assert.equal(compileFilters([f('host', ['web.example.com'])])(withPort), true);
  });
  it('sni: exact and case-insensitive', () => {
    assert.deepEqual(matching([f('sni', ['api.example.com'])]), ['handshake']);
    assert.deepEqual(matching([f('sni', ['web.example.com'])]), ['ok', 'failed']);
    assert.deepEqual(matching([f('sni', ['*.example.com'])]), ['ok', 'handshake', 'failed']);
  });
  it('verdict: case-insensitive', () => {
    assert.deepEqual(matching([f('verdict', ['denied'])]), ['denied']);
    assert.deepEqual(matching([f('verdict', ['ERROR'])]), ['handshake', 'failed']);
    assert.deepEqual(matching([f('verdict', ['Redirected'])]), ['redirected']);
  });
  it('http-status: exact or a class', () => {
    assert.deepEqual(matching([f('http-status', ['403'])]), ['denied']);
    assert.deepEqual(matching([f('http-status', ['5+'])]), ['failed']);
    assert.deepEqual(matching([f('http-status', ['4+'])]), ['denied']);
    assert.deepEqual(matching([f('http-status', ['2+'])]), ['ok']);
    assert.deepEqual(matching([f('http-status', ['3xx'])]), ['redirected']);
  });
  it('http-method: case-insensitive', () => {
    assert.deepEqual(matching([f('http-method', ['POST'])]), ['denied']);
    assert.deepEqual(matching([f('http-method', ['get'])]), ['ok', 'redirected']);
  });
  it('http-path: a regular expression on the path', () => {
    assert.deepEqual(matching([f('http-path', ['^/api/'])]), ['ok', 'redirected']);
    assert.deepEqual(matching([f('http-path', ['/things/\\d+$'])]), ['failed']);
    assert.deepEqual(matching([f('http-path', ['x=1'])]), ['ok', 'redirected']);
  });
  it('from-ip: addresses and CIDR blocks, IPv4 and IPv6', () => {
    assert.deepEqual(matching([f('from-ip', ['10.0.0.0/16'])]), ['ok', 'redirected']);
    assert.deepEqual(matching([f('from-ip', ['10.0.0.0/8'])]), ['ok', 'failed', 'redirected']);
    assert.deepEqual(matching([f('from-ip', ['10.20.0.1'])]), ['failed']);
    assert.deepEqual(matching([f('from-ip', ['fd00::/8'])]), ['denied']);
    assert.deepEqual(matching([f('from-ip', ['fd00::17'])]), ['denied']);
    assert.deepEqual(matching([f('from-ip', ['192.168.0.0/16'])]), ['handshake']); // ::ffff:192.168.1.9
    assert.deepEqual(matching([f('from-ip', ['0.0.0.0/0'])]), ['ok', 'handshake', 'failed', 'redirected']);
  });
});

describe('compileFilters: OR, AND, negate', () => {
  it("ORs the values of one filter and ANDs filters", () => {
    assert.deepEqual(matching([f('verdict', ['DENIED', 'ERROR'])]), ['denied', 'handshake', 'failed']);
    assert.deepEqual(matching([f('verdict', ['DENIED', 'ERROR']), f('http-method', ['POST', 'DELETE'])]), ['denied', 'failed']);
    assert.deepEqual(matching([f('verdict', ['ERROR']), f('namespace', ['batch'])]), ['failed']);
    assert.deepEqual(matching([f('verdict', ['DENIED']), f('verdict', ['ERROR'])]), []);
  });
  it('negate inverts one filter; flows lacking the field match a negated filter', () => {
    assert.deepEqual(matching([f('verdict', ['FORWARDED'], true)]), ['denied', 'handshake', 'failed', 'redirected']);
    assert.deepEqual(matching([f('http-status', ['2+'], true)]), ['denied', 'handshake', 'failed', 'redirected']);
    assert.deepEqual(matching([f('http-status', ['2+'], true), f('verdict', ['ERROR'])]), ['handshake', 'failed']);
    assert.deepEqual(matching([f('ingress', ['shop/web', 'console'], true)]), ['handshake']);
    // A positive filter on a field the flow lacks does not match.
    assert.deepEqual(matching([f('http-method', ['GET', 'POST', 'DELETE'])]), ['ok', 'denied', 'failed', 'redirected']);
    assert.deepEqual(matching([f('sni', ['web.example.com'], true)]), ['denied', 'handshake', 'redirected']);
  });
});

describe('compileFilters: errors name the flag, the value and what to write', () => {
  it('rejects bad values up front', () => {
    filterError(() => compileFilters([f('http-status', ['6x'])]), '--http-status 6x: not a status: write 404 or a class such as 5+');
    filterError(() => compileFilters([f('http-status', ['200', '99'])]), /^--http-status 99: not a status/);
    filterError(() => compileFilters([f('verdict', ['DROPPED'])]), '--verdict DROPPED: not a verdict: write one of FORWARDED, DENIED, ERROR, REDIRECTED');
    filterError(() => compileFilters([f('http-path', ['(unclosed'])]), /^--http-path \(unclosed: not a regular expression \(.*\): write a JavaScript regular expression/);
    filterError(() => compileFilters([f('from-ip', ['10.0.0.0/33'])]), /^--from-ip 10\.0\.0\.0\/33: not a CIDR block: the prefix length must be a number from 0 to 32/);
    filterError(() => compileFilters([f('from-ip', ['fd00::/129'])]), /from 0 to 128/);
    filterError(() => compileFilters([f('from-ip', ['10.0.0'])]), /^--from-ip 10\.0\.0: not an IP address: write an address or a CIDR block, such as 10\.0\.0\.5/);
    filterError(() => compileFilters([f('namespace', ['Default'])]), /^--namespace Default: not a namespace: write a lowercase name/);
    filterError(() => compileFilters([f('ingress', ['a/b/c'])]), /^--ingress a\/b\/c: not an Ingress: write NAMESPACE\/NAME or NAME/);
    filterError(() => compileFilters([f('service', ['/x'])]), /^--service \/x: not a Service/);
    filterError(() => compileFilters([f('host', ['a.*.com'])]), /^--host a\.\*\.com: not a host name/);
    filterError(() => compileFilters([f('sni', ['has space'])]), /^--sni has space: not a host name/);
    filterError(() => compileFilters([f('http-method', ['GET /'])]), /^--http-method GET \/: not an HTTP method/);
    filterError(() => compileFilters([f('verdict', [])]), '--verdict: give at least one value');
  });
});

describe('parseFilterJson', () => {
  it('reads what the CLI sends', () => {
    const filters: FlowFilter[] = [f('verdict', ['DENIED', 'ERROR']), f('http-path', ['^/a,b'], true)];
    assert.deepEqual(parseFilterJson(JSON.stringify(filters)), filters);
    assert.deepEqual(parseFilterJson('[]'), []);
    assert.deepEqual(parseFilterJson('[{"field":"sni","values":["x.io"]}]'), [f('sni', ['x.io'])]);
  });
  it('is strict about the shape', () => {
    filterError(() => parseFilterJson('{'), /^filters: not JSON/);
    filterError(() => parseFilterJson('{"field":"verdict"}'), /^filters: not an array/);
    filterError(() => parseFilterJson('[1]'), /^filters\[0\]: not an object/);
    filterError(() => parseFilterJson('[{"field":"verdict","values":["DENIED"],"negate":false,"x":1}]'), /^filters\[0\]: unknown key "x"/);
    filterError(() => parseFilterJson('[{"field":"colour","values":["red"]}]'), /^filters\[0\]\.field: "colour" is not a filter field: use one of namespace, ingress/);
    filterError(() => parseFilterJson('[{"values":["red"]}]'), /^filters\[0\]\.field: null is not a filter field/);
    filterError(() => parseFilterJson('[{"field":"verdict","values":"DENIED"}]'), /^filters\[0\]\.values: must be a non-empty array of strings/);
    filterError(() => parseFilterJson('[{"field":"verdict","values":[]}]'), /values: must be a non-empty array/);
    filterError(() => parseFilterJson('[{"field":"verdict","values":[1]}]'), /values: must be a non-empty array/);
    filterError(() => parseFilterJson('[{"field":"verdict","values":["DENIED"],"negate":"yes"}]'), /^filters\[0\]\.negate: must be true or false/);
  });
  it('checks the values too', () => {
    filterError(() => parseFilterJson('[{"field":"http-status","values":["6x"],"negate":false}]'), '--http-status 6x: not a status: write 404 or a class such as 5+');
  });
});

describe('filtersFromArgs', () => {
  it('keeps order for --not, merges repeats, splits commas but not http-path', () => {
    const { filters, rest } = filtersFromArgs([
      '--server', '127.0.0.1:1', '--verdict', 'DENIED', '--not', '--http-status', '2+', '--verdict=ERROR,REDIRECTED',
      '-o', 'json', '--http-path', '^/a{1,2}$', '--not', '--namespace', 'kube-system', '--follow',
    ]);
    assert.deepEqual(filters, [
      f('verdict', ['DENIED', 'ERROR', 'REDIRECTED']),
      f('http-status', ['2+'], true),
      f('http-path', ['^/a{1,2}$']),
      f('namespace', ['kube-system'], true),
    ]);
    assert.deepEqual(rest, ['--server', '127.0.0.1:1', '-o', 'json', '--follow']);
  });
  it('a repeated --http-path keeps each expression whole, spaces included; other repeats are trimmed', () => {
    assert.deepEqual(filtersFromArgs(['--http-path', '^/a$', '--http-path', ' b ', '--verdict', 'DENIED', '--verdict', ' ERROR ']).filters, [
      f('http-path', ['^/a$', ' b ']),
      f('verdict', ['DENIED', 'ERROR']),
    ]);
  });
  it('stops at --', () => {
    assert.deepEqual(filtersFromArgs(['--', '--verdict', 'x']), { filters: [], rest: ['--', '--verdict', 'x'] });
  });
  it('says what is wrong', () => {
    filterError(() => filtersFromArgs(['--verdict']), /^--verdict needs a value: --verdict VALUE$/);
    filterError(() => filtersFromArgs(['--verdict', '--follow']), /^--verdict needs a value: --verdict VALUE \(got the flag --follow/);
    filterError(() => filtersFromArgs(['--verdict', 'DENIED,']), /^--verdict "DENIED,": an empty value/);
    filterError(() => filtersFromArgs(['--verdict', 'DENIED', '--not']), /^--not at the end/);
    filterError(() => filtersFromArgs(['--not', '--follow']), /^--not must come right before a filter flag .*; got --follow$/);
    filterError(() => filtersFromArgs(['--not', '--not', '--verdict', 'DENIED']), /^--not given twice/);
    filterError(() => filtersFromArgs(['--not=1', '--verdict', 'DENIED']), /^--not takes no value/);
  });
});

describe('time window', () => {
  const now = new Date('2024-12-02T20:10:00.000Z');
  it('parseTime: RFC 3339', () => {
    assert.equal(parseTime('--since', '2024-12-02T20:01:02Z', now).toISOString(), '2024-12-02T20:01:02.000Z');
    assert.equal(parseTime('--since', '2024-12-02T21:01:02.5+01:00', now).toISOString(), '2024-12-02T20:01:02.500Z');
    assert.equal(parseTime('--since', '2024-12-02t20:01:02.123456789z', now).toISOString(), '2024-12-02T20:01:02.123Z');
  });
  it('parseTime: how long ago', () => {
    assert.equal(parseTime('--since', '30s', now).toISOString(), '2024-12-02T20:09:30.000Z');
    assert.equal(parseTime('--since', '5m', now).toISOString(), '2024-12-02T20:05:00.000Z');
    assert.equal(parseTime('--since', '2h', now).toISOString(), '2024-12-02T18:10:00.000Z');
    assert.equal(parseTime('--since', '1h30m', now).toISOString(), '2024-12-02T18:40:00.000Z');
    assert.equal(parseTime('--until', '500ms', now).toISOString(), '2024-12-02T20:09:59.500Z');
  });
  it('parseTime: errors', () => {
    const help = 'write an RFC 3339 time such as 2024-12-02T20:01:02Z, or how long ago such as 30s, 5m or 2h';
    filterError(() => parseTime('--since', 'yesterday', now), `--since yesterday: not a time: ${help}`);
    filterError(() => parseTime('until', '5', now), `--until 5: not a time: ${help}`);
    filterError(() => parseTime('--since', '2024-12-02', now), /^--since 2024-12-02: not a time/);
    filterError(() => parseTime('--since', '2024-13-40T25:00:00Z', now), /^--since 2024-13-40T25:00:00Z: not a valid date/);
  });
  it('timeFilter: both ends inclusive, either optional', () => {
    const ids = (since?: Date, until?: Date) => all.filter(timeFilter(since, until)).map((x) => x.id);
    assert.deepEqual(ids(), ['ok', 'denied', 'handshake', 'failed', 'redirected']);
    assert.deepEqual(ids(new Date('2024-12-02T20:05:00.000Z')), ['denied', 'handshake']);
    assert.deepEqual(ids(undefined, new Date('2024-12-02T20:05:00.000Z')), ['ok', 'denied', 'failed', 'redirected']);
    assert.deepEqual(ids(new Date('2024-12-02T20:02:00Z'), new Date('2024-12-02T20:06:00Z')), ['denied']);
    assert.equal(timeFilter(new Date(0))({ ...ok, time: 'garbage' }), false);
  });
});
