import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startEchoBackend, type EchoBackend } from '../helpers/backends.js';
import { request } from '../helpers/client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { ingress, service, yamlOf } from '../helpers/manifests.js';

/**
 * The host and path matching table of the Kubernetes Ingress API, through real HAProxy, real
 * backends on 127.0.0.1 and real clients (Node's http and curl).
 */
describe('routing follows the Ingress spec', () => {
  const names = ['prefix-foo', 'exact-foo', 'prefix-foobar', 'root', 'wildcard', 'nohost', 'default', 'exact-slash', 'impl'] as const;
  const backends = new Map<string, EchoBackend>();
  let gw: RunningGateway;

  before(async () => {
    for (const n of names) backends.set(n, await startEchoBackend(n));
    const svc = (n: string) => service(n, [{ port: backends.get(n)!.port }]);
    gw = await startGateway(
      yamlOf(
        ...names.flatMap(svc),
        ingress('site', {
          rules: [
            {
              host: 'a.example.com',
              paths: [
                { path: '/foo', pathType: 'Prefix', service: 'prefix-foo' },
                { path: '/foo', pathType: 'Exact', service: 'exact-foo' },
                { path: '/foo/bar/', pathType: 'Prefix', service: 'prefix-foobar' },
                { path: '/', pathType: 'Prefix', service: 'root' },
                { path: '/exact/', pathType: 'Exact', service: 'exact-slash' },
                { path: '/impl', pathType: 'ImplementationSpecific', service: 'impl' },
              ],
            },
          ],
        }),
        ingress('wild', { rules: [{ host: '*.example.com', paths: [{ path: '/', service: 'wildcard' }] }] }),
        ingress('catchall', { rules: [{ paths: [{ path: '/any', service: 'nohost' }] }], defaultBackend: { service: 'default' } }),
        ingress('other-class', { className: 'nginx', rules: [{ host: 'other.example.com', paths: [{ path: '/', service: 'root' }] }] }),
      ),
    );
  });
  after(async () => {
    await gw?.stop();
    for (const b of backends.values()) await b.close();
  });

  const table: Array<[host: string, path: string, expected: string | 404]> = [
    ['a.example.com', '/foo', 'exact-foo'], // Exact beats Prefix of equal length
    ['a.example.com', '/foo/', 'prefix-foo'], // trailing slash: Prefix /foo matches, Exact /foo does not
    ['a.example.com', '/foo/x', 'prefix-foo'],
    ['a.example.com', '/foobar', 'root'], // element-wise: /foo does not match /foobar
    ['a.example.com', '/foo/bar', 'prefix-foobar'], // longest prefix; trailing slash of /foo/bar/ ignored
    ['a.example.com', '/foo/bar/', 'prefix-foobar'],
    ['a.example.com', '/foo/bar/baz', 'prefix-foobar'],
    ['a.example.com', '/foo/barbaz', 'prefix-foo'],
    ['a.example.com', '/FOO', 'root'], // paths are case-sensitive
    ['a.example.com', '/exact/', 'exact-slash'],
    ['a.example.com', '/exact', 'root'], // Exact /exact/ is not /exact
    ['a.example.com', '/impl/x', 'impl'], // ImplementationSpecific = Prefix
    ['a.example.com', '/implx', 'root'],
    ['a.example.com', '/foo?x=1', 'exact-foo'], // the query is not part of the path
    ['A.Example.COM:8080', '/foo', 'exact-foo'], // hosts: case-insensitive, port stripped
    ['b.example.com', '/foo', 'wildcard'], // *.example.com matches one label
    ['x.b.example.com', '/any', 'nohost'], // ... not two: falls to the rules without host
    ['example.com', '/any', 'nohost'], // ... nor none
    ['example.com', '/any/thing', 'nohost'],
    ['example.com', '/anything', 'default'], // unmatched: the defaultBackend of the catch-all Ingress
    ['other.example.com', '/', 'wildcard'], // another class's Ingress is ignored
  ];

  for (const [host, path, expected] of table) {
    test(`${host}${path} → ${expected}`, async () => {
      const reply = await request(gw.httpPort, { host, path });
      if (expected === 404) assert.equal(reply.status, 404);
      else {
        assert.equal(reply.status, 200, reply.body);
        assert.equal(reply.backend, expected);
      }
    });
  }

  // The backends live in this process: curl runs asynchronously so they can answer.
  test('the same table through curl over HTTP/2 with TLS', async () => {
    for (const [host, path, expected] of table.filter(([h]) => !h.includes(':'))) {
      const { stdout: out } = await promisify(execFile)('curl', ['-sk', '--http2', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code} %{http_version} %header{x-backend}', '--connect-to', `${host}:443:127.0.0.1:${gw.httpsPort}`, `https://${host}${path}`], { encoding: 'utf8' });
      assert.equal(out, `200 2 ${expected}`, `${host}${path}`);
    }
  });

  test('the backend sees X-Forwarded-For and X-Forwarded-Proto', async () => {
    const reply = await request(gw.httpPort, { host: 'a.example.com', path: '/foo' });
    const echo = JSON.parse(reply.body) as { forwardedFor: string; forwardedProto: string; host: string };
    assert.equal(echo.forwardedFor, '127.0.0.1');
    assert.equal(echo.forwardedProto, 'http');
    assert.equal(echo.host, 'a.example.com');
  });
});

describe('no route, no endpoints', () => {
  let gw: RunningGateway;
  let web: EchoBackend;
  before(async () => {
    web = await startEchoBackend('web');
    gw = await startGateway(
      yamlOf(
        ...service('web', [{ port: web.port }]),
        ...service('down', [{ port: web.port, ready: false }]),
        ingress('site', {
          rules: [{ host: 'a.example.com', paths: [{ path: '/web', service: 'web' }, { path: '/down', service: 'down' }, { path: '/missing', service: 'nosuch' }] }],
        }),
      ),
    );
  });
  after(async () => {
    await gw?.stop();
    await web?.close();
  });

  test('an unknown host or an unmatched path is a plain 404 from the gateway', async () => {
    assert.equal((await request(gw.httpPort, { host: 'nowhere.example.com', path: '/web' })).status, 404);
    assert.equal((await request(gw.httpPort, { host: 'a.example.com', path: '/other' })).status, 404);
  });

  test('a Service without ready endpoints, or missing, answers 503 and only that backend is affected', async () => {
    assert.equal((await request(gw.httpPort, { host: 'a.example.com', path: '/down' })).status, 503);
    assert.equal((await request(gw.httpPort, { host: 'a.example.com', path: '/missing' })).status, 503);
    const ok = await request(gw.httpPort, { host: 'a.example.com', path: '/web' });
    assert.equal(ok.status, 200);
    assert.equal(ok.backend, 'web');
    const status = await gw.status();
    assert.ok(status.diagnostics.some((d) => d.severity === 'warning' && /nosuch/.test(d.message)), JSON.stringify(status.diagnostics));
  });
});
