import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoBackend, type EchoBackend } from '../helpers/backends.js';
import { makeCert } from '../helpers/certs.js';
import { request } from '../helpers/client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { ingress, serviceMultiPort, tlsSecret, yamlOf } from '../helpers/manifests.js';

/** Each setting through a real HAProxy: what a client and a backend actually see. */
describe('settings and annotations', () => {
  const upstreamCert = makeCert(['backend.internal']);
  const b: Record<string, EchoBackend> = {};
  let gw: RunningGateway;
  const site = (name: string, service: string, annotations: Record<string, string>) =>
    ingress(name, { annotations, rules: [{ host: `${name}.test`, paths: [{ path: '/', service }] }] });

  before(async () => {
    for (const n of ['a1', 'a2', 'plain']) b[n] = await startEchoBackend(n);
    b.h2c = await startEchoBackend('h2c', { kind: 'h2c' });
    b.tls = await startEchoBackend('tls', { kind: 'https', cert: upstreamCert.cert, key: upstreamCert.key });
    gw = await startGateway(
      yamlOf(
        ...serviceMultiPort('pair', [{ port: b.a1!.port }, { port: b.a2!.port }]),
        ...serviceMultiPort('plain', [{ port: b.plain!.port }]),
        ...serviceMultiPort('h2c', [{ port: b.h2c!.port }]),
        ...serviceMultiPort('tls', [{ port: b.tls!.port }]),
        tlsSecret('upstream-ca', upstreamCert.cert, upstreamCert.key, 'default', upstreamCert.cert),
        site('denied', 'plain', { 'gatehouse.io/deny-source-ranges': '127.0.0.0/8' }),
        site('allowed', 'plain', { 'gatehouse.io/allow-source-ranges': '10.0.0.0/8, 192.168.0.0/16' }),
        site('limited', 'plain', { 'gatehouse.io/rate-limit-rps': '3' }),
        site('small', 'plain', { 'gatehouse.io/max-body-size': '1k' }),
        site('sticky', 'pair', { 'gatehouse.io/session-affinity': 'cookie', 'gatehouse.io/session-cookie-name': 'STICK' }),
        site('hashed', 'pair', { 'gatehouse.io/load-balance': 'header:X-User' }),
        site('grpc', 'h2c', { 'gatehouse.io/backend-protocol': 'GRPC' }),
        site('secure', 'tls', { 'gatehouse.io/backend-protocol': 'HTTPS' }),
        site('verified', 'tls', {
          'gatehouse.io/backend-protocol': 'HTTPS',
          'gatehouse.io/backend-tls-verify': 'true',
          'gatehouse.io/backend-ca-secret': 'upstream-ca',
          'gatehouse.io/backend-tls-server-name': 'backend.internal',
        }),
        site('misnamed', 'tls', {
          'gatehouse.io/backend-protocol': 'HTTPS',
          'gatehouse.io/backend-tls-verify': 'true',
          'gatehouse.io/backend-ca-secret': 'upstream-ca',
          'gatehouse.io/backend-tls-server-name': 'other.internal',
        }),
      ),
    );
  });
  after(async () => {
    await gw?.stop();
    for (const x of Object.values(b)) await x.close();
  });

  const get = (host: string, opts: Parameters<typeof request>[1] = {}) => request(gw.httpPort, { host, ...opts });

  test('deny-source-ranges and allow-source-ranges answer 403', async () => {
    assert.equal((await get('denied.test')).status, 403);
    assert.equal((await get('allowed.test')).status, 403);
  });

  test('rate-limit-rps answers 429 above the rate', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await get('limited.test')).status);
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    assert.ok(statuses.includes(429), statuses.join(' '));
  });

  test('max-body-size answers 413 to a larger body', async () => {
    assert.equal((await get('small.test', { method: 'POST', body: 'x'.repeat(1000) })).status, 200);
    assert.equal((await get('small.test', { method: 'POST', body: 'x'.repeat(2000) })).status, 413);
  });

  test('session-affinity cookie keeps a client on one endpoint', async () => {
    const first = await get('sticky.test');
    const cookie = String(first.headers['set-cookie'] ?? '');
    assert.match(cookie, /^STICK=[^;]+;.*HttpOnly/i);
    const pinned = cookie.split(';')[0]!;
    for (let i = 0; i < 8; i++) assert.equal((await get('sticky.test', { headers: { cookie: pinned } })).backend, first.backend);
    const seen = new Set<string | undefined>();
    for (let i = 0; i < 8; i++) seen.add((await get('sticky.test')).backend);
    assert.equal(seen.size, 2, 'without the cookie, requests are spread');
  });

  test('load-balance header:X-User sends one user to one endpoint', async () => {
    for (const user of ['alice', 'bob', 'carol']) {
      const first = (await get('hashed.test', { headers: { 'x-user': user } })).backend;
      for (let i = 0; i < 5; i++) assert.equal((await get('hashed.test', { headers: { 'x-user': user } })).backend, first);
    }
  });

  test('backend-protocol GRPC speaks HTTP/2 cleartext to the endpoint', async () => {
    const reply = await get('grpc.test');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['x-backend-http-version'], '2.0');
  });

  test('backend-protocol HTTPS, with and without verification', async () => {
    assert.equal((await get('secure.test')).backend, 'tls');
    assert.equal((await get('verified.test')).backend, 'tls');
    assert.equal((await get('misnamed.test')).status, 503, 'a certificate without the expected name is refused');
  });
});
