/**
 * The reflector against the fake API server, through the real @kubernetes/client-node: every
 * change arrives exactly once across cut watches, bookmarks move the resume point, 410 relists,
 * and an unreachable server is retried.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Reflector, type ReconnectReason } from '../../src/sources/kubernetes/reflector.js';
import { watchedResources, type WatchedResource } from '../../src/sources/kubernetes/resources.js';
import { ObjectStore } from '../../src/store/store.js';
import { startFakeApiServer, type FakeApiServer } from '../helpers/fake-apiserver.js';
import { waitFor } from '../helpers/wait.js';

const FAST = { initialBackoffMs: 20, maxBackoffMs: 200 };

function configMap(name: string, value: string, namespace = 'gatehouse') {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: { value } };
}

function secret(name: string, type = 'kubernetes.io/tls', namespace = 'shop') {
  return { apiVersion: 'v1', kind: 'Secret', type, metadata: { name, namespace }, data: { 'tls.crt': '', 'tls.key': '' } };
}

interface Harness {
  store: ObjectStore;
  reflector: Reflector;
  /** `TYPE name=value` for every watch event applied, in order. */
  events: string[];
  lists: number;
  listFailures: number;
  reconnects: ReconnectReason[];
}

function reflect(api: FakeApiServer, pick: (r: WatchedResource) => boolean, scope: { namespace?: string } = {}): Harness {
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  const resource = watchedResources(kc, { ...scope, configMap: { namespace: 'gatehouse', name: 'settings' } }).find(pick)!;
  const store = new ObjectStore();
  const h: Harness = { store, reflector: null as unknown as Reflector, events: [], lists: 0, listFailures: 0, reconnects: [] };
  h.reflector = new Reflector(
    kc,
    resource,
    { replace: (objects) => store.replaceKind(resource.kind, objects), upsert: (o) => store.upsert(o), remove: (o) => store.delete(o) },
    {
      onList: () => h.lists++,
      onListFailed: () => h.listFailures++,
      onReconnect: (r) => h.reconnects.push(r),
      onEvent: (type, o) => h.events.push(`${type} ${o.name}=${String((o.raw['data'] as Record<string, unknown> | undefined)?.['value'] ?? '')}`),
    },
    FAST,
  );
  h.reflector.start();
  return h;
}

const names = (s: ObjectStore) => s.list().map((o) => `${o.namespace}/${o.name}`);

describe('Reflector', () => {
  let api: FakeApiServer;
  before(async () => {
    api = await startFakeApiServer();
  });
  after(async () => {
    await api.close();
  });

  it('lists, then applies each change exactly once, also across watches cut mid-stream', async () => {
    api.apply(configMap('settings', 'v0'));
    api.apply(configMap('other', 'ignored')); // the field selector keeps it out
    const h = reflect(api, (r) => r.kind === 'ConfigMap');
    try {
      await waitFor(() => h.reflector.watching, 5000, 'the watch to open');
      assert.deepEqual(names(h.store), ['gatehouse/settings']);
      assert.equal(h.lists, 1);
      const expected: string[] = [];
      for (let round = 1; round <= 3; round++) {
        api.update(configMap('settings', `v${round}a`));
        expected.push(`MODIFIED settings=v${round}a`);
        await waitFor(() => h.events.length === expected.length, 5000, `round ${round}: the change before the cut`);
        api.cutWatches();
        // Changes while no watch is open: the next watch must bring each of them, once.
        api.update(configMap('settings', `v${round}b`));
        api.update(configMap('settings', `v${round}c`));
        expected.push(`MODIFIED settings=v${round}b`, `MODIFIED settings=v${round}c`);
        await waitFor(() => h.events.length >= expected.length, 5000, `round ${round}: the changes made during the cut`);
      }
      api.remove('v1', 'ConfigMap', 'gatehouse', 'settings');
      expected.push('DELETED settings=v3c');
      await waitFor(() => h.events.length >= expected.length, 5000, 'the delete');
      assert.deepEqual(h.events, expected);
      assert.deepEqual(names(h.store), []);
      assert.equal(h.lists, 1, 'resumed from the last resourceVersion each time: no relist');
      assert.ok(h.reconnects.filter((r) => r !== 'expired').length >= 3, `reconnects: ${h.reconnects.join(',')}`);
    } finally {
      await h.reflector.stop();
    }
  });

  it('on 410 Gone (as an ERROR event or as HTTP 410) lists again, and objects deleted meanwhile go', async () => {
    for (const form of ['event', 'http'] as const) {
      api.apply(secret('a'));
      api.apply(secret('b'));
      api.apply(secret('opaque', 'Opaque')); // not TLS: never seen
      const h = reflect(api, (r) => r.kind === 'Secret');
      try {
        await waitFor(() => h.reflector.watching, 5000, 'the watch to open');
        assert.deepEqual(names(h.store), ['shop/a', 'shop/b']);
        api.cutWatches();
        api.remove('v1', 'Secret', 'shop', 'a');
        api.apply(secret('c'));
        api.compact({ as: form });
        await waitFor(() => h.lists === 2, 5000, `${form}: a relist after 410`);
        await waitFor(() => names(h.store).join() === 'shop/b,shop/c', 5000, `${form}: the store to match the cluster`);
        assert.ok(h.reconnects.includes('expired'), `${form}: reconnects ${h.reconnects.join(',')}`);
      } finally {
        await h.reflector.stop();
        for (const n of ['a', 'b', 'c', 'opaque']) if (api.get('v1', 'Secret', 'shop', n)) api.remove('v1', 'Secret', 'shop', n);
      }
    }
  });

  it('resumes from a bookmark, so history compacted behind it needs no relist', async () => {
    api.apply(configMap('settings', 'v0'));
    const h = reflect(api, (r) => r.kind === 'ConfigMap');
    try {
      await waitFor(() => h.reflector.watching, 5000, 'the watch to open');
      // Other objects move the global resourceVersion on; the bookmark tells the reflector.
      for (let i = 0; i < 5; i++) api.apply(configMap(`noise-${i}`, 'x'));
      const rv = String(api.resourceVersion);
      api.sendBookmarks();
      await waitFor(() => h.reflector.resourceVersion === rv, 5000, `the bookmark to move the resume point to ${rv}`);
      assert.deepEqual(h.events, [], 'a bookmark is no change');
      api.compact();
      api.cutWatches();
      await waitFor(() => api.requests.some((r) => r.path.endsWith('/configmaps') && r.query['watch'] === 'true' && r.query['resourceVersion'] === rv), 5000, `a watch resumed at the bookmark's resourceVersion ${rv}`);
      api.update(configMap('settings', 'v1'));
      await waitFor(() => h.events.join() === 'MODIFIED settings=v1', 5000, 'the change after the bookmark');
      assert.equal(h.lists, 1, 'no relist');
    } finally {
      await h.reflector.stop();
      for (let i = 0; i < 5; i++) api.remove('v1', 'ConfigMap', 'gatehouse', `noise-${i}`);
      api.remove('v1', 'ConfigMap', 'gatehouse', 'settings');
    }
  });

  it('keeps retrying while the API server is down, then lists', async () => {
    api.apply({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'gatehouse' }, spec: { controller: 'gatehouse.io/ingress-controller' } });
    await api.stop();
    const h = reflect(api, (r) => r.kind === 'IngressClass');
    try {
      const before = api.requests.length;
      await waitFor(() => h.listFailures >= 3, 5000, 'several failed attempts while down');
      assert.equal(h.reflector.synced, false);
      await api.start();
      await waitFor(() => h.reflector.synced, 5000, 'the list once the server is back');
      assert.ok(api.requests.length > before);
      assert.deepEqual(names(h.store), ['/gatehouse']);
    } finally {
      await h.reflector.stop();
    }
  });

  it('watches one namespace with --watch-namespace', async () => {
    api.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'in', namespace: 'shop' }, spec: { ports: [{ port: 80 }] } });
    api.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'out', namespace: 'other' }, spec: { ports: [{ port: 80 }] } });
    const h = reflect(api, (r) => r.kind === 'Service', { namespace: 'shop' });
    try {
      await waitFor(() => h.reflector.watching, 5000, 'the watch to open');
      api.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'out-2', namespace: 'other' }, spec: { ports: [{ port: 80 }] } });
      api.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'in-2', namespace: 'shop' }, spec: { ports: [{ port: 80 }] } });
      await waitFor(() => h.events.length === 1, 5000, 'the change in the watched namespace');
      assert.deepEqual(names(h.store), ['shop/in', 'shop/in-2']);
      assert.ok(api.requests.filter((r) => r.query['watch'] === 'true' && r.path.includes('services')).every((r) => r.path === '/api/v1/namespaces/shop/services'));
    } finally {
      await h.reflector.stop();
    }
  });
});
