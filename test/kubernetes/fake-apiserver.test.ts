/**
 * The fake kube-apiserver, driven through the real @kubernetes/client-node 1.4.0: typed clients,
 * Watch, the informer (ListWatch) and KubernetesObjectApi, over HTTPS with a bearer token.
 *
 * What the client library does on each fault (asserted below):
 * - cutWatches() (connection dropped mid-stream): Watch's done gets an Error with
 *   code 'ERR_STREAM_PREMATURE_CLOSE' (node-fetch's "Premature close"); an informer reports it on
 *   'error' and does NOT restart by itself: the caller must call start() again.
 * - 410 as an ERROR event (the real server's way): the callback gets ('ERROR', Status{code:410,
 *   reason:'Expired'}), then done(null) when the stream ends. An informer clears its resourceVersion
 *   and relists.
 * - 410 as HTTP status (`compact({as:'http'})`): done gets an Error('Gone') with statusCode 410. An
 *   informer relists as well.
 * - server down: typed calls reject with a FetchError, code 'ECONNREFUSED'; Watch's done gets the
 *   same; an open watch ends with 'ERR_STREAM_PREMATURE_CLOSE'.
 * - Typed calls that get an error Status reject with ApiException: `code` is the HTTP status and
 *   `body` the Status as a JSON string.
 * - Aborting the controller Watch.watch returns calls done with an AbortError (type 'aborted').
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { startFakeApiServer, type FakeApiServer, type FakeApiServerOptions } from '../helpers/fake-apiserver.js';
import { waitFor } from '../helpers/wait.js';

type Obj = Record<string, unknown>;

/** A started server and a KubeConfig loaded from its kubeconfig file; closed after the test. */
async function setup(t: TestContext, opts?: FakeApiServerOptions): Promise<{ server: FakeApiServer; kc: k8s.KubeConfig }> {
  const server = await startFakeApiServer(opts);
  t.after(() => server.close());
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  return { server, kc };
}

interface WatchLog {
  events: { type: string; object: Obj }[];
  done: { called: boolean; err: unknown };
  controller: AbortController;
}

/** Start a Watch and record its events and its done call; aborted after the test. */
async function watch(t: TestContext, kc: k8s.KubeConfig, path: string, query: Record<string, string | number | boolean> = {}): Promise<WatchLog> {
  const log: Omit<WatchLog, 'controller'> = { events: [], done: { called: false, err: undefined } };
  const controller = await new k8s.Watch(kc).watch(path, query, (type, object: Obj) => log.events.push({ type, object }), (err) => {
    log.done.called = true;
    log.done.err = err;
  });
  t.after(() => controller.abort());
  return { ...log, controller };
}

/** A raw HTTPS request (no client library), trusting the server's certificate. */
function raw(server: FakeApiServer, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Obj }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { method, headers, ca: server.ca, servername: server.serverName }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Obj }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The Status inside an ApiException (its body is the JSON text). */
function statusOf(err: unknown): Obj {
  assert.ok(err instanceof k8s.ApiException, `expected an ApiException, got ${String(err)}`);
  return JSON.parse(String(err.body)) as Obj;
}

const ingress = (namespace: string, name: string, extra: Obj = {}): Obj => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { namespace, name },
  spec: { ingressClassName: 'gatehouse', rules: [{ host: `${name}.example` }] }, ...extra,
});
const names = (items: { metadata?: { name?: string } }[]): string[] => items.map((i) => i.metadata?.name ?? '');

test('HTTPS with a bearer token; no token or a wrong one gets a 401 Status', async (t) => {
  const { server, kc } = await setup(t);
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const version = await kc.makeApiClient(k8s.VersionApi).getCode();
  assert.equal(version.gitVersion, 'v1.31.0');

  const anonymous = await raw(server, 'GET', '/api/v1/namespaces/default/secrets');
  assert.equal(anonymous.status, 401);
  assert.deepEqual(anonymous.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });

  const wrong = new k8s.KubeConfig();
  wrong.loadFromString(readFileSync(server.kubeconfigPath, 'utf8').replace(server.token, 'not-the-token'));
  await assert.rejects(wrong.makeApiClient(k8s.CoreV1Api).listNamespacedSecret({ namespace: 'default' }), (e: unknown) => (e as k8s.ApiException<unknown>).code === 401);

  // The certificate is really checked: without its CA the handshake fails.
  await assert.rejects(new Promise((resolve, reject) => request(`${server.url}/version`, { servername: server.serverName }, resolve).on('error', reject).end()), /self-signed/);
});

test('lists: items without kind/apiVersion, the current resourceVersion, typed dates; namespaced and cluster-scoped', async (t) => {
  const { server, kc } = await setup(t);
  server.create(ingress('b', 'two'));
  server.create(ingress('a', 'one'));
  server.create({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'gatehouse' }, spec: { controller: 'gatehouse.io/controller' } });
  const net = kc.makeApiClient(k8s.NetworkingV1Api);

  const all = await net.listIngressForAllNamespaces();
  assert.deepEqual(names(all.items), ['one', 'two']);
  assert.equal(all.metadata?.resourceVersion, String(server.resourceVersion));
  assert.equal(all.items[0]!.kind, undefined);
  assert.ok(all.items[0]!.metadata?.creationTimestamp instanceof Date);
  assert.equal(all.items[0]!.metadata?.generation, 1);

  const rawList = await raw(server, 'GET', '/apis/networking.k8s.io/v1/namespaces/a/ingresses', { Authorization: `Bearer ${server.token}` });
  assert.equal(rawList.body.kind, 'IngressList');
  assert.deepEqual(Object.keys((rawList.body.items as Obj[])[0]!).sort(), ['metadata', 'spec']);
  assert.match(String(((rawList.body.items as Obj[])[0]!.metadata as Obj).creationTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  const one = await net.readNamespacedIngress({ namespace: 'a', name: 'one' });
  assert.equal(one.kind, 'Ingress');
  assert.deepEqual(names((await net.listIngressClass()).items), ['gatehouse']);
  await assert.rejects(net.readNamespacedIngress({ namespace: 'a', name: 'nope' }), (e: unknown) =>
    statusOf(e).reason === 'NotFound' && statusOf(e).message === 'ingresses.networking.k8s.io "nope" not found');
});

test('label and field selectors filter lists; an unsupported field is a 400 BadRequest', async (t) => {
  const { server, kc } = await setup(t);
  const secret = (name: string, type: string, labels: Record<string, string>, namespace = 'default') =>
    server.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels }, type });
  secret('web-tls', 'kubernetes.io/tls', { app: 'web' });
  secret('api-token', 'Opaque', { app: 'api', canary: 'true' });
  secret('db-tls', 'kubernetes.io/tls', { app: 'db', tier: 'data' });
  secret('other-tls', 'kubernetes.io/tls', { app: 'web' }, 'other');
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const list = async (q: { fieldSelector?: string; labelSelector?: string }) => names((await core.listNamespacedSecret({ namespace: 'default', ...q })).items);

  assert.deepEqual(await list({ fieldSelector: 'type=kubernetes.io/tls' }), ['db-tls', 'web-tls']);
  assert.deepEqual(await list({ fieldSelector: 'type!=kubernetes.io/tls' }), ['api-token']);
  assert.deepEqual(await list({ fieldSelector: 'metadata.name==web-tls,type=kubernetes.io/tls' }), ['web-tls']);
  assert.deepEqual(await list({ labelSelector: 'app in (web,api),!canary' }), ['web-tls']);
  assert.deepEqual(await list({ labelSelector: 'app notin (web),tier' }), ['db-tls']);
  assert.deepEqual(await list({ labelSelector: 'app!=web' }), ['api-token', 'db-tls']);
  const everywhere = await core.listSecretForAllNamespaces({ fieldSelector: 'type=kubernetes.io/tls', labelSelector: 'app=web' });
  assert.deepEqual(everywhere.items.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`), ['default/web-tls', 'other/other-tls']);

  await assert.rejects(list({ fieldSelector: 'spec.foo=bar' }), (e: unknown) => {
    const status = statusOf(e);
    return (e as k8s.ApiException<unknown>).code === 400 && status.reason === 'BadRequest' && /field label not supported: spec\.foo/.test(String(status.message));
  });
});

test('a watch from a resourceVersion replays exactly the missed events, then live ones', async (t) => {
  const { server, kc } = await setup(t);
  server.create(ingress('default', 'first'));
  const from = server.resourceVersion;
  server.create(ingress('default', 'second'));
  server.update(ingress('default', 'first', { spec: { ingressClassName: 'changed' } }));
  server.remove('networking.k8s.io/v1', 'Ingress', 'default', 'second');
  const deletedAt = server.resourceVersion;

  const w = await watch(t, kc, '/apis/networking.k8s.io/v1/namespaces/default/ingresses', { resourceVersion: String(from) });
  await waitFor(() => w.events.length === 3, 5000, 'three replayed events');
  assert.deepEqual(w.events.map((e) => `${e.type} ${names([e.object as never])[0]}`), ['ADDED second', 'MODIFIED first', 'DELETED second']);
  const rvs = w.events.map((e) => Number((e.object.metadata as Obj).resourceVersion));
  assert.deepEqual(rvs, [from + 1, from + 2, deletedAt]);
  assert.ok(w.events.every((e) => e.object.kind === 'Ingress' && e.object.apiVersion === 'networking.k8s.io/v1'));
  assert.equal(((w.events[1]!.object.metadata as Obj).generation), 2);

  server.create(ingress('default', 'third'));
  server.create(ingress('elsewhere', 'not-here'));
  await waitFor(() => w.events.length >= 4, 5000, 'the live event');
  assert.deepEqual(w.events.slice(3).map((e) => e.type), ['ADDED']);

  // Without a resourceVersion: synthetic ADDED for what exists now.
  const fresh = await watch(t, kc, '/apis/networking.k8s.io/v1/ingresses');
  await waitFor(() => fresh.events.length === 3, 5000, 'the initial ADDED events');
  assert.deepEqual(fresh.events.map((e) => `${e.type} ${names([e.object as never])[0]}`), ['ADDED first', 'ADDED third', 'ADDED not-here']);
});

test('watch selectors: an object leaving the selector arrives as DELETED, one entering as ADDED', async (t) => {
  const { server, kc } = await setup(t);
  const cm = (name: string, app: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', labels: { app } }, data: {} });
  const w = await watch(t, kc, '/api/v1/namespaces/default/configmaps', { labelSelector: 'app=web' });
  await waitFor(() => server.openWatches === 1, 5000, 'the watch to open');
  server.create(cm('x', 'web'));
  server.update(cm('x', 'api'));
  server.create(cm('y', 'api'));
  server.update(cm('x', 'web'));
  server.create(cm('z', 'web'));
  await waitFor(() => w.events.length === 4, 5000, 'four events');
  assert.deepEqual(w.events.map((e) => `${e.type} ${names([e.object as never])[0]}`), ['ADDED x', 'DELETED x', 'ADDED x', 'ADDED z']);
  // The DELETED carries the last matching content at the new resourceVersion.
  assert.deepEqual((w.events[1]!.object.metadata as Obj).labels, { app: 'web' });
  assert.equal((w.events[1]!.object.metadata as Obj).resourceVersion, '2');
});

test('bookmarks go only to watches that asked for them', async (t) => {
  const { server, kc } = await setup(t);
  const withBookmarks = await watch(t, kc, '/api/v1/secrets', { allowWatchBookmarks: true });
  const without = await watch(t, kc, '/api/v1/secrets');
  await waitFor(() => server.openWatches === 2, 5000, 'both watches to open');
  server.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'before', namespace: 'default' } });
  server.sendBookmarks();
  server.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'after', namespace: 'default' } });
  await waitFor(() => withBookmarks.events.length === 3 && without.events.length === 2, 5000, 'the events after the bookmark');
  assert.deepEqual(withBookmarks.events.map((e) => e.type), ['ADDED', 'BOOKMARK', 'ADDED']);
  assert.deepEqual(withBookmarks.events[1]!.object, { kind: 'Secret', apiVersion: 'v1', metadata: { resourceVersion: '1' } });
  assert.deepEqual(without.events.map((e) => e.type), ['ADDED', 'ADDED']);
});

test('cutWatches drops the stream: done gets a premature-close error', async (t) => {
  const { server, kc } = await setup(t);
  const w = await watch(t, kc, '/api/v1/configmaps');
  await waitFor(() => server.openWatches === 1, 5000, 'the watch to open');
  server.cutWatches();
  await waitFor(() => w.done.called, 5000, 'done after the cut');
  assert.equal((w.done.err as { code?: string }).code, 'ERR_STREAM_PREMATURE_CLOSE');
  assert.equal(server.openWatches, 0);
});

test('compact: a watch from an older resourceVersion gets 410, as an ERROR event or as HTTP 410', async (t) => {
  const { server, kc } = await setup(t);
  server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' } });
  server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'default' } });
  server.compact();
  const current = await watch(t, kc, '/api/v1/configmaps', { resourceVersion: String(server.resourceVersion) });
  const asEvent = await watch(t, kc, '/api/v1/configmaps', { resourceVersion: '1' });
  await waitFor(() => asEvent.done.called, 5000, 'the expired watch to end');
  assert.equal(asEvent.done.err, null);
  assert.deepEqual(asEvent.events, [{ type: 'ERROR', object: {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version: 1 (2)', reason: 'Expired', code: 410 } }]);
  assert.equal(current.done.called, false, 'a watch from the compaction point itself is fine');

  server.compact({ as: 'http' });
  const asHttp = await watch(t, kc, '/api/v1/configmaps', { resourceVersion: '1' });
  await waitFor(() => asHttp.done.called, 5000, 'the expired watch to fail');
  assert.equal((asHttp.done.err as { statusCode?: number }).statusCode, 410);
  assert.equal(asHttp.events.length, 0);
});

for (const as of ['event', 'http'] as const) {
  test(`informer: stops on a cut; restarted after compaction it gets 410 (${as}) and relists`, async (t) => {
    const { server, kc } = await setup(t);
    server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'old', namespace: 'default' } });
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () => core.listNamespacedConfigMap({ namespace: 'default' }));
    t.after(() => informer.stop());
    const errors: unknown[] = [];
    const added: string[] = [];
    informer.on('error', (e) => errors.push(e));
    informer.on('add', (o) => added.push(o.metadata?.name ?? ''));
    await informer.start();
    await waitFor(() => server.openWatches === 1, 5000, 'the informer watch');

    server.cutWatches();
    await waitFor(() => errors.length === 1, 5000, 'the informer error');
    assert.equal((errors[0] as { code?: string }).code, 'ERR_STREAM_PREMATURE_CLOSE');
    assert.equal(server.openWatches, 0, 'the informer did not restart by itself');

    server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'missed', namespace: 'default' } });
    server.compact({ as });
    const listsBefore = server.requests.filter((r) => r.method === 'GET' && r.query.watch === undefined).length;
    await informer.start();
    await waitFor(() => added.includes('missed') && server.openWatches === 1, 5000, 'the relist and a new watch');
    assert.equal(server.requests.filter((r) => r.method === 'GET' && r.query.watch === undefined).length, listsBefore + 1);
    assert.deepEqual(informer.list().map((o) => o.metadata?.name).sort(), ['missed', 'old']);
    assert.equal(errors.length, 1);
  });
}

test('status subresource: /status changes only .status; the main resource keeps the stored status', async (t) => {
  const { server, kc } = await setup(t);
  const net = kc.makeApiClient(k8s.NetworkingV1Api);
  const w = await watch(t, kc, '/apis/networking.k8s.io/v1/ingresses');
  await waitFor(() => server.openWatches === 1, 5000, 'the watch to open');
  const created = await net.createNamespacedIngress({ namespace: 'default', body: ingress('default', 'web', {
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.9' }] } } }) as k8s.V1Ingress });
  assert.equal(created.status?.loadBalancer?.ingress, undefined, 'POST resets status, as upstream');
  const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

  const patched = await net.patchNamespacedIngressStatus({ namespace: 'default', name: 'web', body: {
    spec: { ingressClassName: 'ignored' }, status: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] } } } }, merge);
  assert.equal(patched.status?.loadBalancer?.ingress?.[0]?.ip, '10.0.0.1');
  assert.equal(patched.spec?.ingressClassName, 'gatehouse');
  assert.equal(patched.metadata?.generation, 1);
  assert.ok(Number(patched.metadata?.resourceVersion) > Number(created.metadata?.resourceVersion));

  const again = await net.patchNamespacedIngressStatus({ namespace: 'default', name: 'web', body: {
    status: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] } } } }, merge);
  assert.equal(again.metadata?.resourceVersion, patched.metadata?.resourceVersion, 'a write that changes nothing is a no-op');

  const replaced = await net.replaceNamespacedIngress({ namespace: 'default', name: 'web', body: {
    ...patched, spec: { ...patched.spec, ingressClassName: 'other' }, status: { loadBalancer: {} } } });
  assert.equal(replaced.spec?.ingressClassName, 'other');
  assert.equal(replaced.status?.loadBalancer?.ingress?.[0]?.ip, '10.0.0.1');
  assert.equal(replaced.metadata?.generation, 2);
  assert.equal((await net.readNamespacedIngressStatus({ namespace: 'default', name: 'web' })).status?.loadBalancer?.ingress?.[0]?.ip, '10.0.0.1');

  await assert.rejects(net.replaceNamespacedIngressStatus({ namespace: 'default', name: 'web', body: patched }), (e: unknown) => statusOf(e).reason === 'Conflict');
  await waitFor(() => w.events.length === 3, 5000, 'ADDED and two MODIFIED');
  assert.deepEqual(w.events.map((e) => e.type), ['ADDED', 'MODIFIED', 'MODIFIED']);
});

test('patch: JSON patch (the client default), merge patch removing a key, failed test = 422, apply = 415', async (t) => {
  const { kc } = await setup(t);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cfg' }, data: { a: '1', b: '2' } } });
  const patched = await core.patchNamespacedConfigMap({ namespace: 'default', name: 'cfg', body: [
    { op: 'test', path: '/data/a', value: '1' }, { op: 'replace', path: '/data/a', value: 'one' }, { op: 'add', path: '/metadata/labels', value: { x: 'y' } }] });
  assert.deepEqual(patched.data, { a: 'one', b: '2' });
  assert.deepEqual(patched.metadata?.labels, { x: 'y' });

  const merged = await core.patchNamespacedConfigMap({ namespace: 'default', name: 'cfg', body: { data: { b: null, c: '3' } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch));
  assert.deepEqual(merged.data, { a: 'one', c: '3' });

  await assert.rejects(core.patchNamespacedConfigMap({ namespace: 'default', name: 'cfg', body: [{ op: 'test', path: '/data/a', value: '1' }] }),
    (e: unknown) => (e as k8s.ApiException<unknown>).code === 422);
  await assert.rejects(core.patchNamespacedConfigMap({ namespace: 'default', name: 'cfg', body: { data: {} } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply)), (e: unknown) => statusOf(e).reason === 'UnsupportedMediaType');
  await assert.rejects(core.patchNamespacedConfigMap({ namespace: 'default', name: 'cfg', body: { metadata: { resourceVersion: '1' } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)), (e: unknown) => statusOf(e).reason === 'Conflict');
});

test('leases: MicroTime needs V1MicroTime; renew with the current resourceVersion; a stale PUT gets 409 Conflict', async (t) => {
  const { server, kc } = await setup(t);
  const coord = kc.makeApiClient(k8s.CoordinationV1Api);
  const now = new Date();
  const spec = (holderIdentity: string, renewTime: Date) => ({ holderIdentity, leaseDurationSeconds: 15, acquireTime: renewTime, renewTime, leaseTransitions: 0 });

  // A plain Date serializes with milliseconds; the apiserver parses MicroTime with exactly six digits.
  await assert.rejects(coord.createNamespacedLease({ namespace: 'gatehouse', body: { metadata: { name: 'leader' }, spec: spec('pod-a', now) } }), (e: unknown) =>
    statusOf(e).reason === 'BadRequest' && /parsing time ".*" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "\.\d{3}Z" as "\.000000"/.test(String(statusOf(e).message)));

  const lease = await coord.createNamespacedLease({ namespace: 'gatehouse', body: { metadata: { name: 'leader' }, spec: spec('pod-a', new k8s.V1MicroTime(now)) } });
  assert.equal(lease.spec?.holderIdentity, 'pod-a');
  assert.match(String(lease.spec?.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'the client leaves MicroTime a string');

  const renewed = await coord.replaceNamespacedLease({ namespace: 'gatehouse', name: 'leader', body: { ...lease, spec: { ...lease.spec, renewTime: new k8s.V1MicroTime(now.getTime() + 1000) } } });
  assert.ok(Number(renewed.metadata?.resourceVersion) > Number(lease.metadata?.resourceVersion));

  await assert.rejects(coord.replaceNamespacedLease({ namespace: 'gatehouse', name: 'leader', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'pod-b' } } }), (e: unknown) => {
    const status = statusOf(e);
    return (e as k8s.ApiException<unknown>).code === 409 && status.reason === 'Conflict' && /leases\.coordination\.k8s\.io "leader": the object has been modified/.test(String(status.message));
  });
  assert.equal((server.get('coordination.k8s.io/v1', 'Lease', 'gatehouse', 'leader')!.spec as Obj).holderIdentity, 'pod-a');
  await assert.rejects(coord.createNamespacedLease({ namespace: 'gatehouse', body: { metadata: { name: 'leader' } } }), (e: unknown) => statusOf(e).reason === 'AlreadyExists');
  await assert.rejects(coord.replaceNamespacedLease({ namespace: 'gatehouse', name: 'absent', body: { metadata: { name: 'absent' } } }), (e: unknown) => statusOf(e).reason === 'NotFound');
});

test('events: core v1 and events.k8s.io/v1 creates are stored and listed by events()', async (t) => {
  const { server, kc } = await setup(t);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const involvedObject = { kind: 'Ingress', namespace: 'default', name: 'web', apiVersion: 'networking.k8s.io/v1' };
  const ev = await core.createNamespacedEvent({ namespace: 'default', body: { metadata: { generateName: 'web.' }, involvedObject, reason: 'Rejected',
    message: 'bad host', type: 'Warning', count: 1, firstTimestamp: new Date('2026-01-02T03:04:05.678Z'), lastTimestamp: new Date('2026-01-02T03:04:05.678Z') } });
  assert.match(ev.metadata?.name ?? '', /^web\.\w+$/);
  assert.equal(server.events()[0]!.firstTimestamp, '2026-01-02T03:04:05Z', 'metav1.Time is kept at second precision');
  // Writing back what was read (its Dates now serialize as .000Z) changes nothing: no new resourceVersion.
  const unchanged = await core.replaceNamespacedEvent({ namespace: 'default', name: ev.metadata!.name!, body: ev });
  assert.equal(unchanged.metadata?.resourceVersion, ev.metadata?.resourceVersion);
  await core.patchNamespacedEvent({ namespace: 'default', name: ev.metadata!.name!, body: { count: 2 } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  await kc.makeApiClient(k8s.EventsV1Api).createNamespacedEvent({ namespace: 'default', body: {
    metadata: { name: 'web.2' }, eventTime: new k8s.V1MicroTime(), regarding: involvedObject, reason: 'Synced', note: 'ok', type: 'Normal', action: 'Sync', reportingController: 'gatehouse', reportingInstance: 'pod-a' } });

  const events = server.events();
  assert.deepEqual(events.map((e) => `${e.apiVersion} ${e.reason}`), ['v1 Rejected', 'events.k8s.io/v1 Synced']);
  assert.equal(events[0]!.count, 2);
  const byReason = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=web,reason=Rejected' });
  assert.equal(byReason.items.length, 1);
});

test('KubernetesObjectApi finds resources through discovery and does create/read/patch/delete', async (t) => {
  const { server, kc } = await setup(t);
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  await client.create(ingress('default', 'generic') as k8s.KubernetesObject);
  const read = await client.read({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'generic', namespace: 'default' } });
  assert.equal(read.metadata?.name, 'generic');
  await client.patch({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'generic', namespace: 'default', labels: { a: 'b' } } } as k8s.KubernetesObject,
    undefined, undefined, undefined, undefined, k8s.PatchStrategy.MergePatch);
  assert.deepEqual((server.get('networking.k8s.io/v1', 'Ingress', 'default', 'generic')!.metadata as Obj).labels, { a: 'b' });
  const status = await client.delete({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'none' } }).catch((e: unknown) => statusOf(e));
  assert.equal(status.reason, 'NotFound');
  await client.delete({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'generic', namespace: 'default' } });
  assert.equal(server.get('networking.k8s.io/v1', 'Ingress', 'default', 'generic'), undefined);
  assert.ok(server.requests.some((r) => r.path === '/apis/networking.k8s.io/v1' && r.method === 'GET'));
});

test('delete: a Success Status, a DELETED event at a new resourceVersion, then 404', async (t) => {
  const { server, kc } = await setup(t);
  server.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, type: 'Opaque' });
  const w = await watch(t, kc, '/api/v1/namespaces/default/secrets', { resourceVersion: String(server.resourceVersion) });
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const status = await core.deleteNamespacedSecret({ namespace: 'default', name: 's' });
  assert.equal(status.status, 'Success');
  await waitFor(() => w.events.length === 1, 5000, 'the DELETED event');
  assert.equal(w.events[0]!.type, 'DELETED');
  assert.equal((w.events[0]!.object.metadata as Obj).resourceVersion, String(server.resourceVersion));
  await assert.rejects(core.deleteNamespacedSecret({ namespace: 'default', name: 's' }), (e: unknown) => (e as k8s.ApiException<unknown>).code === 404);
});

test('stop(): calls are refused and watches end; start(): same URL, same state', async (t) => {
  const { server, kc } = await setup(t);
  server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept', namespace: 'default' } });
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const open = await watch(t, kc, '/api/v1/configmaps', { resourceVersion: String(server.resourceVersion) });
  await waitFor(() => server.openWatches === 1, 5000, 'the watch to open');
  const url = server.url;

  await server.stop();
  await waitFor(() => open.done.called, 5000, 'the open watch to end');
  assert.equal((open.done.err as { code?: string }).code, 'ERR_STREAM_PREMATURE_CLOSE');
  await assert.rejects(core.listNamespacedConfigMap({ namespace: 'default' }), (e: unknown) => (e as { code?: string }).code === 'ECONNREFUSED');
  const refused = await watch(t, kc, '/api/v1/configmaps');
  await waitFor(() => refused.done.called, 5000, 'the refused watch');
  assert.equal((refused.done.err as { code?: string }).code, 'ECONNREFUSED');

  await server.start();
  assert.equal(server.url, url);
  assert.deepEqual(names((await core.listNamespacedConfigMap({ namespace: 'default' })).items), ['kept']);
});

test('timeoutSeconds ends a watch cleanly: done(null)', async (t) => {
  const { server, kc } = await setup(t);
  const w = await watch(t, kc, '/api/v1/services', { timeoutSeconds: 1 });
  await waitFor(() => w.done.called, 5000, 'the watch to time out');
  assert.equal(w.done.err, null);
  assert.equal(server.openWatches, 0);
});

test('plain HTTP mode: the kubeconfig skips TLS verification so the client accepts http://', async (t) => {
  const { server, kc } = await setup(t, { tls: false, token: 'fixed' });
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  server.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'default' }, spec: { type: 'ClusterIP', ports: [{ port: 80 }] } });
  const services = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedService({ namespace: 'default', fieldSelector: 'spec.type=ClusterIP' });
  assert.deepEqual(names(services.items), ['svc']);
  assert.equal(server.requests.at(-1)?.query.fieldSelector, 'spec.type=ClusterIP');
});
