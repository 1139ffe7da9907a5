/**
 * `gatehouse controller` as a real process, with a real HAProxy and echo backends, against the fake
 * API server (driven through @kubernetes/client-node by the controller itself).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync, statSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, afterEach, before, describe, it } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../helpers/backends.js';
import { makeCert } from '../helpers/certs.js';
import { answer, metricValue, startController, until } from '../helpers/controller.js';
import { startFakeApiServer, type FakeApiServer } from '../helpers/fake-apiserver.js';
import { ingress, service, tlsSecret, type Obj } from '../helpers/manifests.js';
import { waitFor } from '../helpers/wait.js';

const ingressClass = (name = 'gatehouse'): Obj => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name }, spec: { controller: 'gatehouse.io/ingress-controller' },
});
const settings = (data: Record<string, string>): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gatehouse', namespace: 'gatehouse' }, data });
const shopIngress = (extra: Partial<Parameters<typeof ingress>[1]> = {}): Obj =>
  ingress('shop', { namespace: 'shop', rules: [{ host: 'shop.example', paths: [{ path: '/', service: 'web' }] }], ...extra });

function certFingerprint(port: number, servername: string): Promise<{ cn: string; fp: string }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const c = s.getPeerCertificate();
      resolve({ cn: String(c.subject?.CN), fp: c.fingerprint256 });
      s.end();
    });
    s.on('error', reject);
  });
}

function seed(api: FakeApiServer, ...objects: Obj[]): void {
  for (const o of objects) api.apply(o);
}

describe('gatehouse controller', () => {
  let one: EchoBackend;
  let two: EchoBackend;
  /** Closed after each test even when it fails before its own `finally` (close() is idempotent). */
  const clusters: FakeApiServer[] = [];
  /** A fake API server holding our IngressClass and the Ingress shop/shop → Service web → backend one. */
  async function shopCluster(): Promise<FakeApiServer> {
    const api = await startFakeApiServer();
    clusters.push(api);
    seed(api, ingressClass(), ...service('web', [{ port: one.port }], 'shop'), shopIngress());
    return api;
  }
  afterEach(async () => {
    for (const api of clusters.splice(0)) await api.close();
  });

  before(async () => {
    one = await startEchoBackend('one');
    two = await startEchoBackend('two');
  });
  after(async () => {
    await one.close();
    await two.close();
  });

  it('serves what the cluster holds: create, update and delete of every kind reach HAProxy', async () => {
    const api = await shopCluster();
    const ctl = await startController(api.kubeconfigPath);
    try {
      await until(ctl, 'one', 'initial list');
      // EndpointSlice update, Service delete and re-create.
      seed(api, service('web', [{ port: two.port }], 'shop')[1]!);
      await until(ctl, 'two', 'EndpointSlice updated');
      api.remove('v1', 'Service', 'shop', 'web');
      await until(ctl, '503', 'Service deleted');
      seed(api, service('web', [{ port: two.port }], 'shop')[0]!);
      await until(ctl, 'two', 'Service created again');
      // The settings ConfigMap: create, update, delete.
      seed(api, settings({ 'deny-source-ranges': '127.0.0.0/8' }));
      await until(ctl, '403', 'ConfigMap created');
      seed(api, settings({ 'deny-source-ranges': '' }));
      await until(ctl, 'two', 'ConfigMap updated');
      seed(api, settings({ 'deny-source-ranges': '127.0.0.1/32' }));
      await until(ctl, '403', 'ConfigMap updated again');
      api.remove('v1', 'ConfigMap', 'gatehouse', 'gatehouse');
      await until(ctl, 'two', 'ConfigMap deleted');
      // A ConfigMap of the same name in another namespace is not the settings.
      seed(api, { ...settings({ 'deny-source-ranges': '127.0.0.0/8' }), metadata: { name: 'gatehouse', namespace: 'shop' } });
      // Secret: create, rotate, delete.
      const first = makeCert(['shop.example']);
      const second = makeCert(['shop.example']);
      seed(api, tlsSecret('shop-tls', first.cert, first.key, 'shop'), shopIngress({ tls: [{ hosts: ['shop.example'], secretName: 'shop-tls' }] }));
      const fpOf = (pem: string) => new X509Certificate(pem).fingerprint256;
      await waitFor(async () => (await certFingerprint(ctl.httpsPort, 'shop.example')).fp === fpOf(first.cert), 10_000, 'the Secret served');
      seed(api, tlsSecret('shop-tls', second.cert, second.key, 'shop'));
      await waitFor(async () => (await certFingerprint(ctl.httpsPort, 'shop.example')).fp === fpOf(second.cert), 10_000, 'the rotated Secret served');
      api.remove('v1', 'Secret', 'shop', 'shop-tls');
      await waitFor(async () => (await certFingerprint(ctl.httpsPort, 'shop.example')).cn === 'gatehouse-default', 10_000, 'the default certificate once the Secret is gone');
      // IngressClass: an Ingress of class "edge" is ours while an IngressClass "edge" with our controller exists.
      seed(api, ingressClass('edge'), ingress('edge', { namespace: 'shop', className: 'edge', rules: [{ host: 'edge.example', paths: [{ path: '/', service: 'web' }] }] }));
      await until(ctl, 'two', 'IngressClass created', 'edge.example');
      api.remove('networking.k8s.io/v1', 'IngressClass', '', 'edge');
      await until(ctl, '404', 'IngressClass deleted', 'edge.example');
      // Ingress update and delete.
      seed(api, shopIngress({ rules: [{ host: 'shop.example', paths: [{ path: '/only', service: 'web' }] }] }));
      await until(ctl, '404', 'Ingress updated (/ no longer routed)');
      await until(ctl, 'two', 'Ingress updated (/only routed)', 'shop.example', '/only');
      api.remove('networking.k8s.io/v1', 'Ingress', 'shop', 'shop');
      await until(ctl, '404', 'Ingress deleted', 'shop.example', '/only');
      const metrics = await ctl.metrics();
      for (const kind of ['Ingress', 'IngressClass', 'Service', 'EndpointSlice', 'Secret', 'ConfigMap']) {
        assert.equal(metricValue(metrics, 'gatehouse_kubernetes_lists_total', { kind }), 1, `${kind} listed once, then watched`);
      }
      assert.equal(metricValue(metrics, 'gatehouse_kubernetes_sync_lag_seconds'), 0);
      // Secrets are listed and watched with the type field selector.
      assert.ok(api.requests.filter((r) => r.path.endsWith('/secrets')).every((r) => r.query['fieldSelector'] === 'type=kubernetes.io/tls'));
      // The snapshot of the last good state is on disk, owner-only.
      const snap = join(ctl.stateDir, 'snapshot.json');
      await waitFor(() => existsSync(snap) && !readFileSync(snap, 'utf8').includes('"name":"shop","namespace":"shop"'), 5000, 'the snapshot to follow the cluster');
      assert.equal(statSync(snap).mode & 0o777, 0o600);
      assert.equal(await ctl.stop(), 0);
    } finally {
      await ctl.stop();
      await api.close();
    }
  });

  it('writes Ingress status as leader, removes it when the Ingress is no longer ours, and records Events for rejected objects', async () => {
    const api = await shopCluster();
    const ctl = await startController(api.kubeconfigPath, { args: ['--publish-address', '203.0.113.10', '--publish-address', 'gw.example.net', '--identity', 'replica-a'] });
    try {
      const lb = () => (api.get('networking.k8s.io/v1', 'Ingress', 'shop', 'shop')?.['status'] as { loadBalancer?: { ingress?: unknown[] } } | undefined)?.loadBalancer?.ingress;
      await waitFor(() => JSON.stringify(lb()) === JSON.stringify([{ ip: '203.0.113.10' }, { hostname: 'gw.example.net' }]), 10_000, `status written (now ${JSON.stringify(lb())})`);
      assert.equal((api.get('coordination.k8s.io/v1', 'Lease', 'gatehouse', 'gatehouse-leader')?.['spec'] as { holderIdentity?: string }).holderIdentity, 'replica-a');
      // Moved to a class that is not ours: the status goes.
      seed(api, shopIngress({ className: 'nginx' }));
      await waitFor(() => lb() === undefined, 10_000, `status removed (now ${JSON.stringify(lb())})`);
      // A rejected Ingress gets an Event with the diagnostic text, once.
      seed(api, ingress('broken', { namespace: 'shop', rules: [{ host: 'Bad_Host', paths: [{ path: '/', service: 'web' }] }] }));
      const rejected = () => api.events().filter((e) => (e['involvedObject'] as { name?: string }).name === 'broken');
      await waitFor(() => rejected().length === 1, 10_000, 'an Event for the rejected Ingress');
      const e = rejected()[0]!;
      assert.equal(e['reason'], 'Rejected');
      assert.equal(e['type'], 'Warning');
      assert.match(String(e['message']), /Ingress shop\/broken\s+spec\.rules\[0\]\.host: error: /);
      assert.equal((e['involvedObject'] as { uid?: string }).uid, (api.get('networking.k8s.io/v1', 'Ingress', 'shop', 'broken')!['metadata'] as { uid: string }).uid);
      // Another change does not repeat the Event for the same standing problem.
      seed(api, shopIngress());
      await waitFor(() => lb() !== undefined, 10_000, 'status back on the Ingress');
      assert.equal(rejected().length, 1);
    } finally {
      await ctl.stop();
      await api.close();
    }
  });

  it('publishes the load-balancer addresses of --publish-service and follows them', async () => {
    const api = await shopCluster();
    const lbService = (ingress: unknown[]): Obj => ({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'gatehouse', namespace: 'gatehouse' },
      spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      status: { loadBalancer: { ingress } },
    });
    api.create(lbService([]));
    api.update(lbService([{ ip: '192.0.2.50' }]));
    const ctl = await startController(api.kubeconfigPath, { args: ['--publish-service', 'gatehouse/gatehouse'] });
    try {
      const lb = () => JSON.stringify((api.get('networking.k8s.io/v1', 'Ingress', 'shop', 'shop')?.['status'] as { loadBalancer?: unknown })?.loadBalancer);
      await waitFor(() => lb() === JSON.stringify({ ingress: [{ ip: '192.0.2.50' }] }), 10_000, `the Service's address in the status (now ${lb()})`);
      api.update(lbService([{ hostname: 'lb-123.example.net' }]));
      await waitFor(() => lb() === JSON.stringify({ ingress: [{ hostname: 'lb-123.example.net' }] }), 10_000, `the new address (now ${lb()})`);
    } finally {
      await ctl.stop();
      await api.close();
    }
  });

  it('resumes after a watch is cut mid-stream and relists after 410 Gone, with the counters to show it', async () => {
    const api = await shopCluster();
    const ctl = await startController(api.kubeconfigPath);
    try {
      await until(ctl, 'one', 'initial list');
      await waitFor(() => api.openWatches === 6, 5000, 'six watches open');
      api.cutWatches();
      seed(api, service('web', [{ port: two.port }], 'shop')[1]!);
      await until(ctl, 'two', 'the change made while the watches were cut');
      let metrics = await ctl.metrics();
      assert.ok(metricValue(metrics, 'gatehouse_kubernetes_watch_reconnects_total', { kind: 'EndpointSlice' }) >= 1);
      assert.equal(metricValue(metrics, 'gatehouse_kubernetes_lists_total', { kind: 'EndpointSlice' }), 1, 'resumed, not relisted');
      // History compacted while the watches are down: 410 Gone, then a relist.
      await waitFor(() => api.openWatches === 6, 5000, 'six watches open again');
      api.cutWatches();
      seed(api, service('web', [{ port: one.port }], 'shop')[1]!);
      api.compact();
      await until(ctl, 'one', 'the change made before the compaction');
      await waitFor(async () => metricValue(await ctl.metrics(), 'gatehouse_kubernetes_lists_total', { kind: 'EndpointSlice' }) === 2, 5000, 'a relist of EndpointSlices');
      metrics = await ctl.metrics();
      assert.ok(metricValue(metrics, 'gatehouse_kubernetes_watch_reconnects_total', { kind: 'EndpointSlice', reason: 'expired' }) >= 1);
    } finally {
      await ctl.stop();
      await api.close();
    }
  });

  it('keeps serving when the API server is lost, and catches up when it is back', async () => {
    const api = await shopCluster();
    const ctl = await startController(api.kubeconfigPath);
    try {
      await until(ctl, 'one', 'initial list');
      await api.stop();
      await ctl.waitStatus((s) => s.kubernetes.syncLagSeconds > 0, 'the sync lag to grow');
      for (let i = 0; i < 50; i++) assert.equal(await answer(ctl), 'one', `request ${i} while the API server is down`);
      assert.equal(await ctl.readyz(), 200, 'still ready: the last state is served');
      assert.ok(metricValue(await ctl.metrics(), 'gatehouse_kubernetes_sync_lag_seconds') > 0);
      seed(api, service('web', [{ port: two.port }], 'shop')[1]!);
      await api.start();
      await until(ctl, 'two', 'the change made while the API server was down');
      await ctl.waitStatus((s) => s.kubernetes.syncLagSeconds === 0, 'the sync lag back to 0');
    } finally {
      await ctl.stop();
      await api.close();
    }
  });

  it('at start without an API server: serves the snapshot if there is one; without one (or a corrupt one) it is not ready until the server answers', async () => {
    const api = await shopCluster();
    const first = await startController(api.kubeconfigPath);
    const stateDir = first.stateDir;
    try {
      await until(first, 'one', 'initial list');
      await waitFor(() => existsSync(join(stateDir, 'snapshot.json')), 5000, 'the snapshot');
      assert.equal(await first.stop(), 0);
      await api.stop();

      // With the snapshot: ready, and serving what was served.
      const fromSnapshot = await startController(api.kubeconfigPath, { stateDir });
      try {
        assert.equal(await answer(fromSnapshot), 'one');
        assert.deepEqual((await fromSnapshot.status()).kubernetes.servingSnapshot, true);
        assert.match(fromSnapshot.logs(), /serving the snapshot of/);
        seed(api, service('web', [{ port: two.port }], 'shop')[1]!);
        await api.start();
        await until(fromSnapshot, 'two', 'live state once the API server answers');
        await fromSnapshot.waitStatus((s) => s.kubernetes.synced && !s.kubernetes.servingSnapshot, 'synced, no longer on the snapshot');
      } finally {
        await fromSnapshot.stop();
      }

      // Without a snapshot: up, but not ready, and nothing routed, until the API server answers.
      await api.stop();
      const empty = await startController(api.kubeconfigPath, { waitReady: false });
      try {
        await empty.waitStatus((s) => !s.ready && s.kubernetes.synced === false, 'up but not ready');
        await waitFor(() => /no usable snapshot/.test(empty.logs()), 5000, 'the log saying why');
        assert.equal(await empty.readyz(), 503);
        await api.start();
        await empty.waitStatus((s) => s.ready && s.kubernetes.synced, 'ready once the API server answers', 15_000);
        await until(empty, 'two', 'served once synced');
      } finally {
        await empty.stop();
      }

      // A corrupt snapshot is reported and ignored.
      await api.stop();
      writeFileSync(join(stateDir, 'snapshot.json'), '{"format":"gatehouse.io/snapshot/v1","objects":[{"kind":');
      const corrupt = await startController(api.kubeconfigPath, { stateDir, waitReady: false });
      try {
        await waitFor(() => /snapshot .* is ignored because it is not valid JSON/.test(corrupt.logs()), 5000, 'the corrupt snapshot reported');
        await corrupt.waitStatus((s) => !s.ready, 'not ready on a corrupt snapshot');
        assert.equal(await corrupt.readyz(), 503);
        await api.start();
        await corrupt.waitStatus((s) => s.ready, 'ready once the API server answers', 15_000);
        await waitFor(() => readFileSync(join(stateDir, 'snapshot.json'), 'utf8').startsWith('{"format":"gatehouse.io/snapshot/v1","writtenAt"'), 5000, 'the snapshot rewritten');
      } finally {
        await corrupt.stop();
      }
    } finally {
      await first.stop();
      await api.close();
    }
  });

  it('two replicas: both serve, one leader writes status, and the other takes over when it stops', async () => {
    const api = await shopCluster();
    const args = (id: string) => ['--identity', id, '--lease-duration', '2', '--publish-address', '198.51.100.1'];
    const a = await startController(api.kubeconfigPath, { args: args('replica-a') });
    const b = await startController(api.kubeconfigPath, { args: args('replica-b') });
    try {
      await until(a, 'one', 'replica a serves');
      await until(b, 'one', 'replica b serves');
      const leaders = async () => [(await a.status()).kubernetes.leader, (await b.status()).kubernetes.leader];
      await waitFor(async () => (await leaders()).filter(Boolean).length === 1, 10_000, 'exactly one leader');
      const [aLeads] = await leaders();
      const [leader, follower] = aLeads ? [a, b] : [b, a];
      const holder = () => (api.get('coordination.k8s.io/v1', 'Lease', 'gatehouse', 'gatehouse-leader')?.['spec'] as { holderIdentity?: string }).holderIdentity;
      assert.equal(holder(), aLeads ? 'replica-a' : 'replica-b');
      // Only the leader patches status.
      await waitFor(() => api.get('networking.k8s.io/v1', 'Ingress', 'shop', 'shop')?.['status'] !== undefined && JSON.stringify(api.get('networking.k8s.io/v1', 'Ingress', 'shop', 'shop')!['status']).includes('198.51.100.1'), 10_000, 'status written');
      const statusWrites = () => api.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/status')).length;
      assert.equal(statusWrites(), 1, 'one status write, by the leader');
      // Stop the leader: the follower takes over and writes the status of a new Ingress.
      assert.equal(await leader.stop(), 0);
      await follower.waitStatus((s) => s.kubernetes.leader, 'the follower to lead', 10_000);
      assert.equal(holder(), aLeads ? 'replica-b' : 'replica-a');
      seed(api, ingress('new', { namespace: 'shop', rules: [{ host: 'new.example', paths: [{ path: '/', service: 'web' }] }] }));
      await waitFor(() => JSON.stringify(api.get('networking.k8s.io/v1', 'Ingress', 'shop', 'new')?.['status'] ?? {}).includes('198.51.100.1'), 10_000, 'the new leader writes status');
      await until(follower, 'one', 'the new leader serves the new Ingress', 'new.example');
    } finally {
      await a.stop();
      await b.stop();
      await api.close();
    }
  });
});
