import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlowLog, splitFields } from '../../src/observe/log-format.js';
import { octetCounted } from '../../src/observe/receiver.js';
import { judge } from '../../src/observe/enrich.js';
import { FlowRing } from '../../src/observe/ring.js';
import type { Flow } from '../../src/observe/flow.js';

// Lines as HAProxy 2.6 writes them with render.ts's formats (copied from a real run).
const REQUEST =
  'H 1764700000 042 "3f1c2a9e-8d7b-4c1e-9f00-0123456789ab" "127.0.0.1" 51234 "default_web_web_80" "s1" "127.0.0.1" 8081 "GET" 200 103 77 6 0 0 0 0 1 2 ---- 1 "TLSv1.3" "TLS_AES_256_GCM_SHA384" 0 1 "" "-:default_web_web_80:P/api" "web.example.com" "web.example.com" "/api/a\\"b\\\\c"';

describe('flow log lines', () => {
  it('splits quoted fields with their escapes, and bare ones', () => {
    assert.deepEqual(splitFields('a "b c" "d\\"e" "" 12 "f\\\\g\\]h"'), ['a', 'b c', 'd"e', '', '12', 'f\\g]h']);
    assert.deepEqual(splitFields('x "cut off'), ['x', 'cut off'], 'a line cut at maxlen keeps what it has');
  });

  it('reads a request line field by field', () => {
    const r = parseFlowLog(REQUEST);
    assert.ok(r && r.type === 'request');
    assert.equal(r.timeMs, 1764700000042);
    assert.equal(r.id, '3f1c2a9e-8d7b-4c1e-9f00-0123456789ab');
    assert.deepEqual([r.clientIp, r.clientPort, r.backend, r.server, r.serverIp, r.serverPort], ['127.0.0.1', 51234, 'default_web_web_80', 's1', '127.0.0.1', 8081]);
    assert.deepEqual([r.method, r.status, r.bytesOut, r.bytesIn], ['GET', 200, 103, 77]);
    assert.deepEqual(r.timings, { Th: 6, Ti: 0, TR: 0, Tw: 0, Tc: 0, Tr: 1, Ta: 2 });
    assert.deepEqual([r.termination, r.tls, r.tlsVersion, r.tlsCipher, r.resumed, r.firstOfConnection], ['----', true, 'TLSv1.3', 'TLS_AES_256_GCM_SHA384', false, true]);
    assert.deepEqual([r.deny, r.route, r.host, r.sni, r.path], [undefined, '-:default_web_web_80:P/api', 'web.example.com', 'web.example.com', '/api/a"b\\c']);
  });

  it('a request with no server: <NOSRV> and - are absent values', () => {
    const r = parseFlowLog('H 1 2 "id" "::1" 1 "gatehouse_not_found" "<NOSRV>" "-" 0 "GET" 404 0 50 0 0 0 -1 -1 -1 0 PR-- 0 "-" "-" 0 1 "" "" "nobody" "" "/x"');
    assert.ok(r && r.type === 'request');
    assert.deepEqual([r.server, r.serverIp, r.tls, r.tlsVersion, r.route, r.sni], [undefined, undefined, false, undefined, undefined, undefined]);
    assert.equal(r.timings.Tw, -1);
  });

  it('reads a connection error line (a failed TLS handshake)', () => {
    const e = parseFlowLog('E 1764700001 5 "10.0.0.9" 40000 "SSL handshake failure" "error:0A00010B:SSL routines::wrong version number" "TLSv1.3" "a.example.com"');
    assert.deepEqual(e, { type: 'connection-error', timeMs: 1764700001005, clientIp: '10.0.0.9', clientPort: 40000, error: 'SSL handshake failure', tlsError: 'error:0A00010B:SSL routines::wrong version number', tlsVersion: 'TLSv1.3', sni: 'a.example.com' });
  });

  it('anything else is not a flow', () => {
    for (const line of ['', 'Proxy gatehouse started.', 'H 1 2', 'H x y "id"', 'E nope']) assert.equal(parseFlowLog(line), undefined, line);
  });
});

describe('octet-counted framing', () => {
  it('gives whole messages whatever the chunks, and stops at a broken length', () => {
    const frames: string[] = [];
    const errors: string[] = [];
    const read = octetCounted((t) => frames.push(t), (e) => errors.push(e));
    const wire = Buffer.from('5 hello11 hello world3 é\n');
    for (let i = 0; i < wire.length; i++) read(wire.subarray(i, i + 1));
    assert.deepEqual(frames, ['hello', 'hello world', 'é']);
    read(Buffer.from('abc def'));
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /bad message length "abc"/);
    read(Buffer.from('5 later'));
    assert.equal(frames.length, 3, 'nothing more is read from a broken connection');
  });
});

describe('verdicts', () => {
  const base = { termination: '----', status: 200, deny: undefined, backend: 'b', server: 's1' };
  it('from the termination state, the denial rule and the backend', () => {
    assert.deepEqual(judge(base), { verdict: 'FORWARDED' });
    assert.deepEqual(judge({ ...base, status: 500 }), { verdict: 'FORWARDED' }, 'a 5xx the backend sent was forwarded');
    assert.deepEqual(judge({ ...base, termination: 'PR--', status: 429, deny: 'rate-limit', server: undefined }), { verdict: 'DENIED', reason: 'rate-limit' });
    assert.deepEqual(judge({ ...base, termination: 'PR--', status: 404, backend: 'gatehouse_not_found', server: undefined }), { verdict: 'ERROR', reason: 'no-route' });
    assert.deepEqual(judge({ ...base, termination: 'LR--', status: 308, server: undefined }), { verdict: 'REDIRECTED' });
    assert.deepEqual(judge({ ...base, termination: 'SC--', status: 503, server: undefined }), { verdict: 'ERROR', reason: 'no-endpoint' });
    assert.deepEqual(judge({ ...base, termination: 'SC--', status: 503 }), { verdict: 'ERROR', reason: 'connect-failed' });
    assert.deepEqual(judge({ ...base, termination: 'sH--', status: 504 }), { verdict: 'ERROR', reason: 'backend-timeout' });
    assert.deepEqual(judge({ ...base, termination: 'SH--', status: 502 }), { verdict: 'ERROR', reason: 'bad-response' });
    assert.deepEqual(judge({ ...base, termination: 'CD--' }), { verdict: 'ERROR', reason: 'client-aborted' });
    assert.deepEqual(judge({ ...base, termination: 'cR--', status: 408 }), { verdict: 'ERROR', reason: 'client-timeout' });
  });
});

describe('FlowRing', () => {
  const flow = (n: number): Flow => ({ time: new Date(n).toISOString(), id: String(n), verdict: 'FORWARDED', source: { ip: '127.0.0.1', port: n }, timings: { tlsHandshakeMs: null, queueMs: null, connectMs: null, responseMs: null, totalMs: null } });
  it('keeps the newest, oldest first; last() filters; followers see each new flow', () => {
    const ring = new FlowRing(3);
    const seen: string[] = [];
    const stop = ring.follow((f) => seen.push(f.id));
    for (let i = 1; i <= 5; i++) ring.push(flow(i));
    assert.deepEqual(ring.last(10).map((f) => f.id), ['3', '4', '5']);
    assert.deepEqual(ring.last(2).map((f) => f.id), ['4', '5']);
    assert.deepEqual(ring.last(10, (f) => f.source.port % 2 === 1).map((f) => f.id), ['3', '5']);
    stop();
    ring.push(flow(6));
    assert.deepEqual(seen, ['1', '2', '3', '4', '5']);
    assert.equal(ring.size, 3);
    assert.equal(ring.total, 6);
  });
});
