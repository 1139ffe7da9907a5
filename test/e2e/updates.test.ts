import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoBackend, type EchoBackend } from '../helpers/backends.js';
import { makeCert } from '../helpers/certs.js';
import { request } from '../helpers/client.js';
import { startGateway, type GatewayStatusDoc, type RunningGateway } from '../helpers/gateway.js';
import { ingress, service, serviceMultiPort, tlsSecret, yamlOf, type Obj } from '../helpers/manifests.js';
import { waitFor } from '../helpers/wait.js';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';

/** SHA-256 fingerprint of the certificate the gateway presents for `servername`. */
function presentedFingerprint(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

const reloads = (s: GatewayStatusDoc) => Object.values(s.reloads).reduce((a, b) => a + b, 0);

/** Sends requests in a loop until stopped; counts every answer that is not 200. */
function loadLoop(port: number, host: string, path: string) {
  let stop = false;
  const stats = { ok: 0, failed: 0, errors: [] as string[] };
  const loop = async () => {
    while (!stop) {
      try {
        const r = await request(port, { host, path });
        if (r.status === 200) stats.ok++;
        else {
          stats.failed++;
          stats.errors.push(`status ${r.status}`);
        }
      } catch (e) {
        stats.failed++;
        stats.errors.push(String(e));
      }
    }
  };
  const running = Promise.all([loop(), loop(), loop()]);
  return { stats, stop: async () => ((stop = true), await running, stats) };
}

describe('live updates', () => {
  let one: EchoBackend, two: EchoBackend, three: EchoBackend;
  let gw: RunningGateway;
  const certA = makeCert(['u.test']);
  const certB = makeCert(['u.test']);
  const certC = makeCert(['v.test']);

  type Rule = { host: string; paths: Array<{ path: string; service: string }> };
  const objects = (parts: { webTargets?: EchoBackend[]; cert?: typeof certA; extra?: Obj[]; rules?: Rule[]; tls?: Array<{ hosts: string[]; secretName: string }> } = {}) =>
    yamlOf(
      ...serviceMultiPort('web', (parts.webTargets ?? [one]).map((b) => ({ port: b.port }))),
      ...service('other', [{ port: three.port }]),
      tlsSecret('u-tls', (parts.cert ?? certA).cert, (parts.cert ?? certA).key),
      ingress('site', {
        annotations: { 'gatehouse.io/ssl-redirect': 'false' },
        tls: [{ hosts: ['u.test'], secretName: 'u-tls' }, ...(parts.tls ?? [])],
        rules: [{ host: 'u.test', paths: [{ path: '/', service: 'web' }] }, ...(parts.rules ?? [])],
      }),
      ...(parts.extra ?? []),
    );

  before(async () => {
    one = await startEchoBackend('one');
    two = await startEchoBackend('two');
    three = await startEchoBackend('three');
    gw = await startGateway(objects());
  });
  after(async () => {
    await gw?.stop();
    for (const b of [one, two, three]) await b?.close();
  });

  test('endpoint added and removed: traffic follows, no reload', async () => {
    const before = await gw.status();
    await gw.update(objects({ webTargets: [one, two] }));
    const seen = new Set<string>();
    await waitFor(async () => {
      seen.add((await request(gw.httpPort, { host: 'u.test' })).backend ?? '');
      return seen.has('one') && seen.has('two');
    }, 5000, 'both endpoints to answer');
    await gw.update(objects({ webTargets: [two] }));
    for (let i = 0; i < 6; i++) assert.equal((await request(gw.httpPort, { host: 'u.test' })).backend, 'two');
    const after = await gw.status();
    assert.equal(reloads(after), reloads(before));
    assert.equal(after.haproxy.workerPid, before.haproxy.workerPid);
  });

  test('a route added to an existing backend is served without a reload', async () => {
    const before = await gw.status();
    assert.equal((await request(gw.httpPort, { host: 'u.test', path: '/more' })).backend, 'two');
    assert.equal((await request(gw.httpPort, { host: 'v.test', path: '/v/1' })).status, 404);
    await gw.update(objects({ webTargets: [two], rules: [{ host: 'v.test', paths: [{ path: '/v', service: 'web' }] }] }));
    const reply = await request(gw.httpPort, { host: 'v.test', path: '/v/1' });
    assert.equal(reply.status, 200);
    assert.equal(reply.backend, 'two');
    assert.equal(reloads(await gw.status()), reloads(before));
  });

  test('a certificate rotated or added is served without a reload', async () => {
    const before = await gw.status();
    assert.equal(await presentedFingerprint(gw.httpsPort, 'u.test'), new X509Certificate(certA.cert).fingerprint256);
    await gw.update(objects({ webTargets: [two], cert: certB }));
    assert.equal(await presentedFingerprint(gw.httpsPort, 'u.test'), new X509Certificate(certB.cert).fingerprint256);
    await gw.update(
      objects({
        webTargets: [two],
        cert: certB,
        extra: [tlsSecret('v-tls', certC.cert, certC.key)],
        tls: [{ hosts: ['v.test'], secretName: 'v-tls' }],
        rules: [{ host: 'v.test', paths: [{ path: '/v', service: 'web' }] }],
      }),
    );
    assert.equal(await presentedFingerprint(gw.httpsPort, 'v.test'), new X509Certificate(certC.cert).fingerprint256);
    assert.equal(reloads(await gw.status()), reloads(before));
  });

  test('a new backend reloads once, and no request fails under load across 10 such reloads', async () => {
    const before = await gw.status();
    const load = loadLoop(gw.httpPort, 'u.test', '/');
    for (let i = 1; i <= 10; i++) {
      const paths = Array.from({ length: i }, (_, k) => ({ path: `/new${k}`, service: 'other' }));
      const extra = [ingress(`extra${i}`, { rules: [{ host: `n${i}.test`, paths }] })];
      await gw.update(objects({ webTargets: [two], cert: certB, extra }));
    }
    const stats = await load.stop();
    const after = await gw.status();
    assert.equal(reloads(after), reloads(before) + 10, JSON.stringify(after.reloads));
    assert.ok(stats.ok > 50, `only ${stats.ok} requests went through`);
    assert.deepEqual({ failed: stats.failed, errors: stats.errors.slice(0, 5) }, { failed: 0, errors: [] });
    const reply = await request(gw.httpPort, { host: 'n10.test', path: '/new9' });
    assert.equal(reply.backend, 'three');
  });

  test('HAProxy killed with SIGKILL serves again within a second', async () => {
    for (const which of ['masterPid', 'workerPid'] as const) {
      let before = await gw.status();
      // The supervisor knows the new worker once it answers; wait for that before killing it.
      await waitFor(async () => (before = await gw.status()).haproxy[which] !== undefined, 2000, `the ${which} to be known`);
      const pid = before.haproxy[which]!;
      assert.ok(pid > 0);
      process.kill(pid, 'SIGKILL');
      const killedAt = Date.now();
      // Serving again means a new HAProxy (not the old worker answering its last requests) serves.
      await waitFor(async () => {
        const now = await gw.status();
        if (now.haproxy.restarts !== before.haproxy.restarts + 1 || now.haproxy[which] === undefined || now.haproxy[which] === pid) return false;
        try {
          return (await request(gw.httpPort, { host: 'u.test', timeoutMs: 500 })).status === 200;
        } catch {
          return false;
        }
      }, 1000, `a new HAProxy serving after SIGKILL of the ${which}`);
      assert.ok(Date.now() - killedAt <= 1000);
    }
  });
});

describe('a bad object is rejected alone', () => {
  let web: EchoBackend;
  let gw: RunningGateway;
  const good = (extra: Obj[] = []) =>
    yamlOf(
      ...service('web', [{ port: web.port }]),
      ingress('good', { rules: [{ host: 'good.test', paths: [{ path: '/', service: 'web' }] }] }),
      ...extra,
    );
  before(async () => {
    web = await startEchoBackend('web');
    gw = await startGateway(good([ingress('bad', { rules: [{ host: 'bad host!', paths: [{ path: '/', service: 'web' }] }] })]));
  });
  after(async () => {
    await gw?.stop();
    await web?.close();
  });

  test('an invalid Ingress is rejected with a diagnostic; the others keep serving', async () => {
    const status = await gw.status();
    assert.deepEqual(status.rejected.map((r) => `${r.kind}/${r.name}`), ['Ingress/bad']);
    const d = status.diagnostics.find((x) => x.object.name === 'bad')!;
    assert.equal(d.field, 'spec.rules[0].host');
    assert.equal((await request(gw.httpPort, { host: 'good.test' })).status, 200);
    assert.match(await gw.metrics(), /gatehouse_rejected_objects\{kind="Ingress"\} 1/);
  });

  test('an Ingress updated into an invalid one keeps serving its last valid version', async () => {
    await gw.update(good([ingress('second', { rules: [{ host: 'second.test', paths: [{ path: '/', service: 'web' }] }] })]));
    assert.equal((await request(gw.httpPort, { host: 'second.test' })).status, 200);
    const status = await gw.update(
      good([ingress('second', { rules: [{ host: 'second.test', paths: [{ path: 'no-slash', service: 'web' }] }] })]),
      (s) => s.rejected.some((r) => r.name === 'second'),
    );
    assert.ok(status.diagnostics.some((d) => d.object.name === 'second' && d.severity === 'warning' && /last valid version/.test(d.message)));
    assert.equal((await request(gw.httpPort, { host: 'second.test' })).status, 200);
    assert.equal((await request(gw.httpPort, { host: 'good.test' })).status, 200);
  });
});
