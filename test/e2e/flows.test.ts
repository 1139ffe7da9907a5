import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startEchoBackend, type EchoBackend } from '../helpers/backends.js';
import { makeCert } from '../helpers/certs.js';
import { request } from '../helpers/client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { ingress, service, tlsSecret, yamlOf, type Obj } from '../helpers/manifests.js';
import { waitFor } from '../helpers/wait.js';
import type { Flow } from '../../src/observe/flow.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

/** An EndpointSlice of another Service naming the pod behind 127.0.0.1: the tests' client. */
const clientPod: Obj = {
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'client-1', namespace: 'tools', labels: { 'kubernetes.io/service-name': 'client' } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 9, protocol: 'TCP' }],
  endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', namespace: 'tools', name: 'client-7d9f' } }],
};

describe('flow log: every request and failed handshake is a flow', () => {
  const cert = makeCert(['web.example.com']);
  let web: EchoBackend;
  let gw: RunningGateway;

  const manifests = (extra: Obj[] = []): string =>
    yamlOf(
      ...service('web', [{ port: web.port }]),
      ...service('empty', []),
      clientPod,
      tlsSecret('web-tls', cert.cert, cert.key),
      ingress('web', {
        tls: [{ hosts: ['web.example.com'], secretName: 'web-tls' }],
        annotations: { 'gatehouse.io/ssl-redirect': 'false', 'gatehouse.io/max-body-size': '10' },
        rules: [{ host: 'web.example.com', paths: [{ path: '/api', service: 'web' }, { path: '/exact', pathType: 'Exact', service: 'web' }, { path: '/none', service: 'empty' }] }],
      }),
      ingress('closed', { annotations: { 'gatehouse.io/deny-source-ranges': '127.0.0.0/8' }, rules: [{ host: 'closed.example.com', paths: [{ path: '/', service: 'web' }] }] }),
      ...extra,
    );

  before(async () => {
    web = await startEchoBackend('web');
    gw = await startGateway(manifests());
  });
  after(async () => {
    await gw?.stop();
    await web?.close();
  });

  const flows = async (query = ''): Promise<Flow[]> => {
    const res = await fetch(`http://127.0.0.1:${gw.adminPort}/flows?last=1000${query}`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    return (await res.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Flow);
  };
  const flowFor = async (pred: (f: Flow) => boolean, what: string): Promise<Flow> => {
    let found: Flow | undefined;
    await waitFor(async () => (found = (await flows()).find(pred)) !== undefined, 5000, what);
    return found!;
  };

  test('a forwarded request: Ingress, rule, Service, endpoint, HTTP, timings and the client pod', async () => {
    const reply = await request(gw.httpPort, { host: 'web.example.com', path: '/api/items?page=2' });
    assert.equal(reply.status, 200);
    const f = await flowFor((x) => x.http?.path === '/api/items', 'the flow of GET /api/items');
    assert.equal(f.verdict, 'FORWARDED');
    assert.equal(f.reason, undefined);
    assert.deepEqual(f.ingress, { namespace: 'default', name: 'web' });
    assert.equal(f.host, 'web.example.com');
    assert.deepEqual(f.rule, { pathType: 'Prefix', path: '/api' });
    assert.deepEqual(f.service, { namespace: 'default', name: 'web', port: '80' });
    assert.deepEqual(f.endpoint, { address: '127.0.0.1', port: web.port });
    assert.equal(f.http?.method, 'GET');
    assert.equal(f.http?.status, 200);
    assert.ok(f.http!.bytesOut > 0 && f.http!.bytesIn > 0);
    assert.deepEqual({ ...f.source, port: 0 }, { ip: '127.0.0.1', port: 0, namespace: 'tools', pod: 'client-7d9f' });
    assert.ok(f.source.port > 0);
    assert.match(f.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(Math.abs(Date.parse(f.time) - Date.now()) < 60_000, `time ${f.time}`);
    assert.equal(f.tls, undefined);
    assert.ok(f.timings.connectMs !== null && f.timings.responseMs !== null && f.timings.totalMs !== null);
    assert.equal(f.timings.tlsHandshakeMs, null);
  });

  test('an Exact rule is named as such', async () => {
    await request(gw.httpPort, { host: 'web.example.com', path: '/exact' });
    const f = await flowFor((x) => x.http?.path === '/exact', 'the flow of /exact');
    assert.deepEqual(f.rule, { pathType: 'Exact', path: '/exact' });
  });

  test('denials name their rule: source range (403) and body size (413)', async () => {
    assert.equal((await request(gw.httpPort, { host: 'closed.example.com', path: '/denied' })).status, 403);
    const byRange = await flowFor((x) => x.http?.path === '/denied', 'the denied flow');
    assert.equal(byRange.verdict, 'DENIED');
    assert.equal(byRange.reason, 'source-range');
    assert.deepEqual(byRange.ingress, { namespace: 'default', name: 'closed' });
    assert.equal(byRange.endpoint, undefined);
    assert.equal((await request(gw.httpPort, { host: 'web.example.com', path: '/api/upload', method: 'POST', body: 'x'.repeat(100) })).status, 413);
    const bySize = await flowFor((x) => x.http?.path === '/api/upload', 'the too-large flow');
    assert.equal(bySize.verdict, 'DENIED');
    assert.equal(bySize.reason, 'body-size');
    assert.equal(bySize.http?.method, 'POST');
  });

  test('errors name their cause: no route (404), no endpoint (503)', async () => {
    assert.equal((await request(gw.httpPort, { host: 'nobody.example.com', path: '/lost' })).status, 404);
    const lost = await flowFor((x) => x.http?.path === '/lost', 'the unrouted flow');
    assert.equal(lost.verdict, 'ERROR');
    assert.equal(lost.reason, 'no-route');
    assert.equal(lost.ingress, undefined);
    assert.equal((await request(gw.httpPort, { host: 'web.example.com', path: '/none' })).status, 503);
    const empty = await flowFor((x) => x.http?.path === '/none', 'the flow without endpoints');
    assert.equal(empty.verdict, 'ERROR');
    assert.equal(empty.reason, 'no-endpoint');
    assert.deepEqual(empty.service, { namespace: 'default', name: 'empty', port: '80' });
  });

  test('HTTPS: TLS version, cipher, SNI, handshake time; a resumed session says so', async () => {
    const reply = await request(gw.httpsPort, { host: 'web.example.com', path: '/api/secure', tls: { servername: 'web.example.com' } });
    assert.equal(reply.status, 200);
    const f = await flowFor((x) => x.http?.path === '/api/secure', 'the HTTPS flow');
    assert.equal(f.verdict, 'FORWARDED');
    assert.equal(f.tls?.version, reply.tlsVersion);
    assert.match(f.tls!.cipher, /^TLS_AES_|^ECDHE-/);
    assert.equal(f.tls?.sni, 'web.example.com');
    assert.equal(f.tls?.resumed, false);
    assert.equal(f.tls?.offloaded, false, 'no accelerator here: software');
    assert.ok(f.timings.tlsHandshakeMs !== null && f.timings.tlsHandshakeMs >= 0);
  });

  test('a TLS handshake that fails before any request is a flow with OpenSSL\'s reason', async () => {
    await new Promise<void>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: gw.httpsPort, servername: 'old.example.com', maxVersion: 'TLSv1.1', minVersion: 'TLSv1', rejectUnauthorized: false });
      s.on('error', () => resolve());
      s.on('secureConnect', () => {
        s.destroy();
        resolve();
      });
    });
    // refused for its version before the server reads the SNI: the flow names the version offered
    const f = await flowFor((x) => x.reason === 'tls-handshake' && x.tls?.version === 'TLSv1.1', 'the failed handshake');
    assert.equal(f.verdict, 'ERROR');
    assert.equal(f.http, undefined);
    assert.match(f.detail ?? '', /^SSL handshake failure: .*unsupported protocol/);
    assert.equal(f.source.pod, 'client-7d9f');
  });

  test('/flows filters server-side, and follow streams flows as they come', async () => {
    const denied = await flows(`&filters=${encodeURIComponent(JSON.stringify([{ field: 'verdict', values: ['DENIED'], negate: false }]))}`);
    assert.ok(denied.length >= 2);
    assert.ok(denied.every((f) => f.verdict === 'DENIED'));
    const bad = await fetch(`http://127.0.0.1:${gw.adminPort}/flows?filters=${encodeURIComponent('[{"field":"colour","values":["x"],"negate":false}]')}`);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /colour/);

    const controller = new AbortController();
    const res = await fetch(`http://127.0.0.1:${gw.adminPort}/flows?follow=1&filters=${encodeURIComponent(JSON.stringify([{ field: 'http-path', values: ['^/followed$'], negate: false }]))}`, { signal: controller.signal });
    const reader = res.body!.getReader();
    await request(gw.httpPort, { host: 'web.example.com', path: '/followed' });
    let text = '';
    // a read waits for data: the deadline aborts the stream, so a flow that never comes fails the test
    const deadline = setTimeout(() => controller.abort(), 5000);
    try {
      while (!text.includes('\n')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
      }
    } finally {
      clearTimeout(deadline);
      controller.abort();
    }
    const f = JSON.parse(text.split('\n')[0]!) as Flow;
    assert.equal(f.http?.path, '/followed');
  });

  test('metrics from the flows: requests per Ingress and status class, denials by reason, handshakes by outcome', async () => {
    const m = await gw.metrics();
    assert.match(m, /gatehouse_http_requests_total\{namespace="default",ingress="web",service="web",code_class="2xx",verdict="FORWARDED"\} [1-9]/);
    assert.match(m, /gatehouse_denied_requests_total\{reason="source-range"\} 1\n/);
    assert.match(m, /gatehouse_denied_requests_total\{reason="body-size"\} 1\n/);
    assert.match(m, /gatehouse_tls_handshakes_total\{version="TLSv1\.3",outcome="success"\} [1-9]/);
    assert.match(m, /gatehouse_tls_handshakes_total\{version="[^"]*",outcome="failure"\} [1-9]/);
    assert.match(m, /gatehouse_http_request_duration_seconds_bucket\{le="\+Inf",namespace="default",ingress="web",service="web"\} [1-9]/);
  });

  test('gatehouse observe reads them from the running gateway: filters, --not, compact and json output', async () => {
    const observe = async (args: string[]): Promise<string> =>
      (await promisify(execFile)(process.execPath, [CLI, 'observe', '--server', `127.0.0.1:${gw.adminPort}`, '--last', '1000', ...args])).stdout;
    const denied = (await observe(['--verdict', 'DENIED', '-o', 'json'])).trim().split('\n').map((l) => JSON.parse(l) as Flow);
    assert.deepEqual(denied.map((f) => f.reason).sort(), ['body-size', 'source-range']);
    const compact = await observe(['--ingress', 'default/web', '--not', '--http-status', '2+', '--http-path', '^/(none|api/upload)$']);
    const lines = compact.trim().split('\n');
    assert.equal(lines.length, 2, compact);
    assert.match(lines.find((l) => l.includes('/none'))!, /503 ERROR.*no-endpoint/);
    assert.match(lines.find((l) => l.includes('/api/upload'))!, /POST .*413 DENIED.*body-size/);
  });

  test('flows keep coming after a reload (the new worker connects to the flow socket)', async () => {
    const before = (await gw.status()).haproxy.reloads;
    await gw.update(manifests([...service('other', [{ port: web.port }]), ingress('other', { rules: [{ host: 'other.example.com', paths: [{ path: '/', service: 'other' }] }] })]), (s) => s.haproxy.reloads > before);
    assert.equal((await request(gw.httpPort, { host: 'other.example.com', path: '/after-reload' })).status, 200);
    const f = await flowFor((x) => x.http?.path === '/after-reload', 'a flow after the reload');
    assert.deepEqual(f.ingress, { namespace: 'default', name: 'other' });
  });
});

describe('flow log off', () => {
  test('--flow-buffer 0: no /flows, and HAProxy gets no log lines', async (t) => {
    const web = await startEchoBackend('web');
    const gw = await startGateway(yamlOf(...service('web', [{ port: web.port }]), ingress('web', { rules: [{ paths: [{ path: '/', service: 'web' }] }] })), ['--flow-buffer', '0']);
    t.after(async () => {
      await gw.stop();
      await web.close();
    });
    assert.equal((await request(gw.httpPort, { path: '/' })).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${gw.adminPort}/flows`)).status, 404);
    const { readFileSync } = await import('node:fs');
    const cfg = readFileSync(`${gw.dir}/state/haproxy.cfg`, 'utf8');
    assert.doesNotMatch(cfg, /log-format|ring /);
  });
});
