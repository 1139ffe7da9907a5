/**
 * `gatehouse edge-hub` as a real process between the real @kubernetes/client-node (and kubectl)
 * and the fake API server: online forwarding and caching, the API server stopped (reads from the
 * cache, watches held, writes refused with 503), restarted (held watches end, clients relist), the
 * hub restarted while offline, SIGKILLed while writing its cache, two identities, the size limit.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { metricValue } from '../helpers/controller.js';
import { startEdgeHub, type RunningEdgeHub } from '../helpers/edge-hub.js';
import { startFakeApiServer, type FakeApiServer } from '../helpers/fake-apiserver.js';
import { waitFor } from '../helpers/wait.js';

type Obj = Record<string, unknown>;

const cm = (name: string, labels: Record<string, string> = {}, data: Record<string, string> = { v: '1' }, namespace = 'default'): Obj =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels }, data });

function coreApi(kubeconfig: string): k8s.CoreV1Api {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc.makeApiClient(k8s.CoreV1Api);
}

/** The error Status of a rejected call. */
async function failure(p: Promise<unknown>): Promise<{ code: number; status: Obj }> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof k8s.ApiException, `expected an ApiException, got ${String(e)}`);
    const err = e as k8s.ApiException<unknown>;
    const body: unknown = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    return { code: err.code, status: (body ?? {}) as Obj };
  }
  assert.fail('the call succeeded');
}

const namesOf = (list: { items: { metadata?: { name?: string } }[] }) => list.items.map((i) => i.metadata?.name).sort();

/** A raw GET through the hub: the response once its headers arrive, and a promise of its end. */
function rawGet(port: number, path: string, token: string): Promise<{ res: IncomingMessage; body: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      const body = new Promise<string>((done, fail) => {
        res.on('end', () => done(text));
        res.on('error', fail);
      });
      resolve({ res, body });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('gatehouse edge-hub', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function setup(args: string[] = []): Promise<{ api: FakeApiServer; hub: RunningEdgeHub; client: k8s.CoreV1Api }> {
    const api = await startFakeApiServer();
    cleanup.push(() => api.close());
    const hub = await startEdgeHub(api.kubeconfigPath, { args });
    cleanup.push(() => hub.stop());
    await hub.waitState('online');
    return { api, hub, client: coreApi(hub.kubeconfig(api.token)) };
  }

  it('online: forwards with the client\'s credentials; offline: answers get and list from the cache, keyed by namespace, name and selectors', async () => {
    const { api, hub, client } = await setup();
    api.create(cm('a', { app: 'web' }));
    api.create(cm('b', { app: 'db' }));
    api.create(cm('c', { app: 'web' }, { v: '1' }, 'other'));
    const web = await client.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app=web' });
    assert.deepEqual(namesOf(web), ['a']);
    const all = await client.listNamespacedConfigMap({ namespace: 'default' });
    assert.deepEqual(namesOf(all), ['a', 'b']);
    assert.equal((await client.readNamespacedConfigMap({ namespace: 'default', name: 'b' })).data?.['v'], '1');
    // The client's own credentials go through: a wrong token is the API server's 401.
    assert.equal((await failure(coreApi(hub.kubeconfig('wrong-token')).listNamespacedConfigMap({ namespace: 'default' }))).code, 401);

    await api.stop();
    await hub.waitState('offline');
    const cachedWeb = await client.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app=web' });
    assert.deepEqual(namesOf(cachedWeb), ['a'], 'the selector is part of the key: b is not in app=web');
    assert.equal(cachedWeb.metadata?.resourceVersion, web.metadata?.resourceVersion);
    const cachedAll = await client.listNamespacedConfigMap({ namespace: 'default' });
    assert.deepEqual(namesOf(cachedAll), ['a', 'b']);
    assert.equal(cachedAll.metadata?.resourceVersion, all.metadata?.resourceVersion);
    assert.equal((await client.readNamespacedConfigMap({ namespace: 'default', name: 'b' })).data?.['v'], '1');
    const fromList = await client.readNamespacedConfigMap({ namespace: 'default', name: 'a' });
    assert.equal(fromList.metadata?.name, 'a', 'an object never read with get is found in a cached list');
    assert.equal(fromList.kind, 'ConfigMap');
    const gone = await failure(client.readNamespacedConfigMap({ namespace: 'default', name: 'zzz' }));
    assert.equal(gone.code, 404, 'the complete list of the namespace says it does not exist');
    const unknownSelector = await failure(client.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app=db' }));
    assert.equal(unknownSelector.code, 503);
    assert.equal(unknownSelector.status.reason, 'ServiceUnavailable');
    assert.match(String(unknownSelector.status.message), /offline.*not in its cache/);
    assert.equal((await failure(client.listNamespacedConfigMap({ namespace: 'other' }))).code, 503);
    const status = await hub.status();
    assert.equal(status.state, 'offline');
    assert.ok(status.hits >= 5 && status.misses >= 2, JSON.stringify(status));
    const metrics = await hub.metrics();
    assert.equal(metricValue(metrics, 'gatehouse_edgehub_online'), 0);
    assert.ok(metricValue(metrics, 'gatehouse_edgehub_cache_entries') >= 3);
  });

  it('offline: writes are refused with a 503 Status and never applied', async () => {
    const { api, hub, client } = await setup();
    await client.listNamespacedConfigMap({ namespace: 'default' });
    await api.stop();
    await hub.waitState('offline');
    const refused = await failure(client.createNamespacedConfigMap({ namespace: 'default', body: cm('new') as k8s.V1ConfigMap }));
    assert.equal(refused.code, 503);
    assert.equal(refused.status.kind, 'Status');
    assert.equal(refused.status.reason, 'ServiceUnavailable');
    assert.match(String(refused.status.message), /offline from the API server .*nothing was applied/);
    assert.equal((await failure(client.deleteNamespacedConfigMap({ namespace: 'default', name: 'x' }))).code, 503);
    assert.equal((await hub.status()).refusedWrites, 2);
    assert.equal(metricValue(await hub.metrics(), 'gatehouse_edgehub_refused_writes_total'), 2);
    await api.start();
    await hub.waitState('online');
    assert.equal((await failure(client.readNamespacedConfigMap({ namespace: 'default', name: 'new' }))).code, 404, 'the refused create was not applied');
    assert.ok(!api.requests.some((r) => r.method !== 'GET'), 'no write ever reached the API server');
  });

  it('watch events keep the cached list current; offline watches are held and end when the link returns', async () => {
    const { api, hub, client } = await setup();
    api.create(cm('a', { app: 'web' }));
    api.create(cm('b', { app: 'web' }));
    const list = await client.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app=web' });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(hub.kubeconfig(api.token));
    const seen: string[] = [];
    let ended = false;
    await new k8s.Watch(kc).watch('/api/v1/namespaces/default/configmaps', { labelSelector: 'app=web', resourceVersion: list.metadata!.resourceVersion!, allowWatchBookmarks: true },
      (type, obj: k8s.V1ConfigMap) => seen.push(`${type} ${obj.metadata?.name}`), () => (ended = true));
    await waitFor(() => api.openWatches === 1, 5000, 'the watch forwarded');
    api.create(cm('d', { app: 'web' }));
    api.update(cm('a', { app: 'web' }, { v: '2' }));
    api.remove('v1', 'ConfigMap', 'default', 'b');
    api.create(cm('e', { app: 'db' }));
    await waitFor(() => seen.length === 3, 5000, `three events through the hub (seen ${seen.join(', ')})`);
    assert.deepEqual(seen, ['ADDED d', 'MODIFIED a', 'DELETED b']);
    const lastRv = String(api.resourceVersion - 1); // e (not app=web) came after
    // A list read while the watch runs is answered by the API server, so compare after going offline.
    await api.stop();
    await hub.waitState('offline');
    await waitFor(() => ended, 5000, 'the forwarded watch ended when the link went down');
    const cached = await client.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app=web' });
    assert.deepEqual(namesOf(cached), ['a', 'd']);
    assert.equal(cached.items.find((i) => i.metadata?.name === 'a')?.data?.['v'], '2');
    assert.equal(cached.metadata?.resourceVersion, lastRv, 'the list carries the newest resourceVersion it holds');

    // Held: headers at once, no events, open until the link is back.
    const held = await rawGet(hub.httpPort, `/api/v1/namespaces/default/configmaps?watch=true&labelSelector=app%3Dweb&resourceVersion=${lastRv}`, api.token);
    assert.equal(held.res.statusCode, 200);
    // With timeoutSeconds, the hub ends it cleanly itself.
    const short = await rawGet(hub.httpPort, `/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&resourceVersion=${lastRv}`, api.token);
    assert.equal(await short.body, '');
    assert.equal((await hub.status()).heldWatches, 1);
    // sendInitialEvents waits for a bookmark the cache cannot honestly give: an error client-go falls back from.
    const initial = await rawGet(hub.httpPort, '/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true', api.token);
    assert.equal(initial.res.statusCode, 503);
    assert.equal(initial.res.headers['retry-after'], undefined, 'no Retry-After: client-go would retry instead of falling back to list');
    assert.equal((JSON.parse(await initial.body) as Obj).kind, 'Status');

    const listsBefore = api.requests.filter((r) => r.method === 'GET' && r.query.watch === undefined && r.path.endsWith('/configmaps')).length;
    await api.start();
    assert.equal(await held.body, '', 'the held watch ended cleanly, with no event');
    await hub.waitState('online');
    assert.equal((await hub.status()).heldWatches, 0);
    // The client relists: from the API server now.
    const fresh = await client.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app=web' });
    assert.deepEqual(namesOf(fresh), ['a', 'd']);
    const listsAfter = api.requests.filter((r) => r.method === 'GET' && r.query.watch === undefined && r.path.endsWith('/configmaps')).length;
    assert.equal(listsAfter, listsBefore + 1);
  });

  it('restarted while offline, it serves from its disk cache', async () => {
    const { api, hub, client } = await setup();
    api.create(cm('a'));
    await client.listNamespacedConfigMap({ namespace: 'default' });
    await client.readNamespacedConfigMap({ namespace: 'default', name: 'a' });
    assert.equal(await hub.stop(), 0);
    await api.stop();
    const again = await startEdgeHub(api.kubeconfigPath, { dir: hub.dir });
    cleanup.push(() => again.stop());
    await again.waitState('offline');
    const status = await again.status();
    assert.ok(status.cache.recovered.entries >= 2, JSON.stringify(status.cache));
    assert.deepEqual(status.cache.recovered.corrupt, []);
    const c2 = coreApi(again.kubeconfig(api.token));
    assert.deepEqual(namesOf(await c2.listNamespacedConfigMap({ namespace: 'default' })), ['a']);
    assert.equal((await c2.readNamespacedConfigMap({ namespace: 'default', name: 'a' })).metadata?.name, 'a');
  });

  it('SIGKILLed again and again while watch events rewrite its cache, it never recovers a corrupt entry', async () => {
    const api = await startFakeApiServer();
    cleanup.push(() => api.close());
    const big = 'x'.repeat(200_000);
    for (let i = 0; i < 5; i++) api.create(cm(`c${i}`, { app: 'web' }, { v: '0', big }));
    let dir: string | undefined;
    for (let round = 0; round < 6; round++) {
      const hub = await startEdgeHub(api.kubeconfigPath, dir ? { dir } : {});
      dir = hub.dir;
      try {
        const status = await (async () => {
          await hub.waitState('online');
          return hub.status();
        })();
        assert.deepEqual(status.cache.recovered.corrupt, [], `round ${round}: corrupt entries recovered`);
        const client = coreApi(hub.kubeconfig(api.token));
        const list = await client.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app=web' });
        const kc = new k8s.KubeConfig();
        kc.loadFromFile(hub.kubeconfig(api.token));
        let events = 0;
        const watch = await new k8s.Watch(kc).watch('/api/v1/namespaces/default/configmaps', { labelSelector: 'app=web', resourceVersion: list.metadata!.resourceVersion! },
          () => events++, () => undefined);
        // Keep the list changing until enough events have passed through the hub and into its cache.
        for (let n = 1; events < 40; n++) {
          api.update(cm(`c${n % 5}`, { app: 'web' }, { v: String(n), big }));
          await waitFor(() => events >= n, 5000, 'the event through the hub');
        }
        watch.abort();
      } finally {
        await hub.kill();
      }
    }
    const last = await startEdgeHub(api.kubeconfigPath, { dir: dir! });
    cleanup.push(() => last.stop());
    await last.waitState('online');
    const status = await last.status();
    assert.deepEqual(status.cache.recovered.corrupt, []);
    assert.ok(status.cache.recovered.entries >= 1);
  });

  it('two identities never read each other\'s entries', async () => {
    const { api, hub, client } = await setup();
    api.addToken('second-identity-token');
    const other = coreApi(hub.kubeconfig('second-identity-token'));
    api.create(cm('a'));
    await client.listNamespacedConfigMap({ namespace: 'default' });
    await client.readNamespacedConfigMap({ namespace: 'default', name: 'a' });
    await other.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'x=y' });
    await api.stop();
    await hub.waitState('offline');
    assert.equal((await failure(other.listNamespacedConfigMap({ namespace: 'default' }))).code, 503);
    assert.equal((await failure(other.readNamespacedConfigMap({ namespace: 'default', name: 'a' }))).code, 503);
    assert.deepEqual(namesOf(await other.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'x=y' })), []);
    assert.equal((await failure(client.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'x=y' }))).code, 503);
    assert.deepEqual(namesOf(await client.listNamespacedConfigMap({ namespace: 'default' })), ['a']);
  });

  it('the cache stays under --cache-size, evicting the least recently used', async () => {
    const { api, hub, client } = await setup(['--cache-size', '1m']);
    const big = 'y'.repeat(60 * 1024);
    for (let i = 0; i < 40; i++) api.create(cm(`big${i}`, {}, { big }));
    for (let i = 0; i < 40; i++) await client.readNamespacedConfigMap({ namespace: 'default', name: `big${i}` });
    await waitFor(async () => (await hub.status()).cache.evictions > 0, 5000, 'evictions');
    const onDisk = (dir: string): number => readdirSync(dir, { withFileTypes: true })
      .reduce((sum, e) => sum + (e.isDirectory() ? onDisk(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0);
    await api.stop();
    await hub.waitState('offline');
    const status = await hub.status();
    assert.ok(status.cache.bytes <= 1024 * 1024, `${status.cache.bytes} bytes cached`);
    assert.ok(onDisk(join(hub.dir, 'cache')) <= 1024 * 1024 + 64 * 1024, 'on disk too (plus the lock and directory entries)');
    assert.equal((await client.readNamespacedConfigMap({ namespace: 'default', name: 'big39' })).metadata?.name, 'big39', 'the newest is kept');
    assert.equal((await failure(client.readNamespacedConfigMap({ namespace: 'default', name: 'big0' }))).code, 503, 'the oldest was evicted');
  });

  it('kubectl works through it online and offline; the https listener serves its own certificate', async () => {
    const { api, hub } = await setup();
    api.create(cm('kubectl-sees-me'));
    const kubeconfig = hub.kubeconfig(api.token);
    const run = (args: string[]) => promisify(execFile)('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, KUBECACHEDIR: join(hub.dir, 'kubectl-cache-' + args.join('-')) } });
    const online = await run(['get', 'configmaps', '-o', 'name']);
    assert.match(online.stdout, /configmap\/kubectl-sees-me/);
    await api.stop();
    await hub.waitState('offline');
    const offline = await run(['get', 'configmaps', '-o', 'name']);
    assert.match(offline.stdout, /configmap\/kubectl-sees-me/);
    await assert.rejects(run(['create', 'configmap', 'nope']), /offline from the API server/);
    // HTTPS: the generated certificate, trusted by its file.
    const ca = readFileSync(join(hub.dir, 'tls', 'tls.crt'), 'utf8');
    const code = await new Promise<number>((resolve, reject) => {
      httpsRequest({ host: '127.0.0.1', port: hub.httpsPort, path: '/api/v1/namespaces/default/configmaps', ca, headers: { authorization: `Bearer ${api.token}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject).end();
    });
    assert.equal(code, 200);
  });
});
