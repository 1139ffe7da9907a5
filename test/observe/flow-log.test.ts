import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { startFlowReceiver } from '../../src/observe/receiver.js';
import { waitFor } from '../helpers/wait.js';
import { FlowLog } from '../../src/observe/flow-log.js';
import { parseFlowLog } from '../../src/observe/log-format.js';
import type { Backend } from '../../src/model/types.js';
import type { StoredObject } from '../../src/store/objects.js';

// Lines as HAProxy 2.6 writes them with render.ts's formats.
const REQUEST =
  'H 1764700000 042 "3f1c2a9e-8d7b-4c1e-9f00-0123456789ab" "10.0.3.7" 51234 "default_web_web_80" "s1" "127.0.0.1" 8081 "GET" 200 103 77 6 0 0 0 0 1 2 ---- 1 "TLSv1.3" "TLS_AES_256_GCM_SHA384" 0 1 "" "-:default_web_web_80:P/api" "web.example.com" "web.example.com" "/api/a\\"b"';
const KEEP_ALIVE = REQUEST.replace('042 "3f1c2a9e', '043 "4f1c2a9e').replace(' 6 0 0 0 0 1 2 ---- 1 ', ' 0 0 0 0 0 1 2 ---- 1 ').replace(' 0 1 "" "-:', ' 0 0 "" "-:');
const NO_ROUTE = 'H 1764700001 000 "id-2" "10.0.3.8" 40000 "gatehouse_not_found" "<NOSRV>" "-" 0 "GET" 404 0 50 0 0 0 -1 -1 -1 0 PR-- 0 "-" "-" 0 1 "" "" "nobody" "" "/x"';
const HANDSHAKE = 'E 1764700002 5 "10.0.0.9" 40000 "SSL handshake failure" "error:0A00010B:SSL routines::wrong version number" "TLSv1.3" "a.example.com"';

const web: Backend = {
  name: 'default_web_web_80',
  service: { namespace: 'default', name: 'web', port: '80' },
  source: { kind: 'Ingress', namespace: 'default', name: 'web' },
  endpoints: [],
  policy: { balance: { kind: 'roundrobin' }, affinityCookie: null, protocol: 'http', upstreamTls: null },
} as unknown as Backend;

const clientSlice = {
  kind: 'EndpointSlice',
  namespace: 'tools',
  name: 'client-1',
  raw: { endpoints: [{ addresses: ['10.0.3.7'], targetRef: { kind: 'Pod', namespace: 'tools', name: 'client-7d9f' } }] },
} as unknown as StoredObject;

function flowLog(capacity = 10): { flows: FlowLog; registry: Registry } {
  const registry = new Registry();
  const flows = new FlowLog(capacity, registry, () => undefined);
  flows.update([web], [clientSlice], true);
  return { flows, registry };
}

describe('FlowLog: lines in, flows and metrics out', () => {
  it('a request line becomes the flow of docs/observe.md, with what the model adds', () => {
    const { flows } = flowLog();
    flows.line(REQUEST);
    assert.equal(
      JSON.stringify(flows.ring.last(1)[0]),
      JSON.stringify({
        time: '2025-12-02T18:26:40.042Z',
        id: '3f1c2a9e-8d7b-4c1e-9f00-0123456789ab',
        verdict: 'FORWARDED',
        source: { ip: '10.0.3.7', port: 51234, namespace: 'tools', pod: 'client-7d9f' },
        ingress: { namespace: 'default', name: 'web' },
        host: 'web.example.com',
        rule: { pathType: 'Prefix', path: '/api' },
        service: { namespace: 'default', name: 'web', port: '80' },
        endpoint: { address: '127.0.0.1', port: 8081 },
        http: { method: 'GET', path: '/api/a"b', status: 200, bytesIn: 77, bytesOut: 103 },
        timings: { tlsHandshakeMs: 6, queueMs: 0, connectMs: 0, responseMs: 1, totalMs: 2 },
        termination: '----',
        tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', sni: 'web.example.com', resumed: false, offloaded: true },
      }),
    );
  });

  it('a flow keeps what was added when its line came, after the model changes', () => {
    const { flows } = flowLog();
    flows.line(REQUEST);
    flows.line(HANDSHAKE);
    const before = flows.ring.last(2).map((f) => JSON.stringify(f));
    flows.update([], [], false);
    assert.deepEqual(flows.ring.last(2).map((f) => JSON.stringify(f)), before, 'the same flows, ids included, read again');
    flows.line(REQUEST);
    const now = flows.ring.last(1)[0]!;
    assert.deepEqual([now.ingress, now.service, now.source.pod, now.tls?.offloaded], [undefined, undefined, undefined, false]);
  });

  it('followers get each flow as it comes, as last() reads it later', () => {
    const { flows } = flowLog();
    const seen: string[] = [];
    const stop = flows.ring.follow((f) => seen.push(JSON.stringify(f)));
    for (const line of [REQUEST, KEEP_ALIVE, NO_ROUTE, HANDSHAKE]) flows.line(line);
    stop();
    assert.deepEqual(seen, flows.ring.last(10).map((f) => JSON.stringify(f)));
    assert.deepEqual(flows.ring.last(10).map((f) => [f.verdict, f.reason]), [['FORWARDED', undefined], ['FORWARDED', undefined], ['ERROR', 'no-route'], ['ERROR', 'tls-handshake']]);
    assert.match(flows.ring.last(1)[0]!.id, /^[0-9a-f-]{36}$/, 'a failed handshake gets an id of its own');
  });

  it('metrics count every line, the ring only the newest', async () => {
    const { flows, registry } = flowLog(2);
    for (const line of [REQUEST, KEEP_ALIVE, KEEP_ALIVE, NO_ROUTE, HANDSHAKE]) flows.line(line);
    assert.equal(flows.ring.size, 2);
    const m = await registry.metrics();
    assert.match(m, /gatehouse_http_requests_total\{namespace="default",ingress="web",service="web",code_class="2xx",verdict="FORWARDED"\} 3\n/);
    assert.match(m, /gatehouse_http_requests_total\{namespace="",ingress="",service="",code_class="4xx",verdict="ERROR"\} 1\n/);
    assert.match(m, /gatehouse_http_request_bytes_total\{namespace="default",ingress="web",service="web"\} 231\n/);
    assert.match(m, /gatehouse_http_response_bytes_total\{namespace="default",ingress="web",service="web"\} 309\n/);
    assert.match(m, /gatehouse_http_request_duration_seconds_count\{namespace="default",ingress="web",service="web"\} 3\n/);
    assert.match(m, /gatehouse_tls_handshakes_total\{version="TLSv1\.3",outcome="success"\} 1\n/, 'one handshake: the first request of the connection');
    assert.match(m, /gatehouse_tls_handshakes_total\{version="TLSv1\.3",outcome="failure"\} 1\n/);
    assert.match(m, /gatehouse_tls_offloaded_handshakes_total 1\n/);
    flows.line(KEEP_ALIVE);
    assert.match(await registry.metrics(), /code_class="2xx",verdict="FORWARDED"\} 4\n/, 'what comes between two scrapes is added to what was counted');
  });

  it('a line whose time no date can hold is not a flow', () => {
    assert.equal(parseFlowLog(REQUEST.replace('H 1764700000 ', 'H 99999999999999 ')), undefined);
    const { flows } = flowLog();
    flows.line(REQUEST.replace('H 1764700000 ', 'H 99999999999999 '));
    assert.equal(flows.unreadable, 1);
    assert.equal(flows.ring.size, 0);
  });

  it('numbers may come quoted, as before', () => {
    const r = parseFlowLog(REQUEST.replace(' 51234 ', ' "51234" '));
    assert.ok(r && r.type === 'request');
    assert.equal(r.clientPort, 51234);
  });
});

describe('the flow socket', () => {
  it('gives every line, sent a few at a time or all at once, and closes while resting between reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-flow-sock-'));
    const lines: string[] = [];
    const problems: string[] = [];
    const receiver = await startFlowReceiver(join(dir, 'flows.sock'), (l) => lines.push(l), (p) => problems.push(p));
    try {
      const frame = (i: number): string => {
        const text = `line ${i} ${'x'.repeat(i % 300)}\n`;
        return `${Buffer.byteLength(text)} ${text}`;
      };
      const socket = connect(join(dir, 'flows.sock'));
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      for (let i = 0; i < 20; i++) {
        socket.write(frame(i));
        await new Promise((r) => setTimeout(r, 1));
      }
      socket.write(Array.from({ length: 2000 }, (_, i) => frame(20 + i)).join(''));
      await waitFor(() => lines.length === 2020, 5000, 'every line');
      assert.deepEqual(lines.map((l) => Number(l.split(' ')[1])), Array.from({ length: 2020 }, (_, i) => i));
      assert.deepEqual(problems, []);
      socket.write(frame(0));
      socket.end();
    } finally {
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
