/**
 * In a cluster, flows name the client's pod: `gatehouse controller` against the fake API server,
 * with an EndpointSlice naming the pod at the client's address (127.0.0.2 on loopback), and the pod
 * replaced through a watch event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../helpers/backends.js';
import { request } from '../helpers/client.js';
import { startController, until, type RunningController } from '../helpers/controller.js';
import { startFakeApiServer, type FakeApiServer } from '../helpers/fake-apiserver.js';
import { ingress, service, type Obj } from '../helpers/manifests.js';
import { waitFor } from '../helpers/wait.js';
import type { Flow } from '../../src/observe/flow.js';

const CLIENT_IP = '127.0.0.2';

/** The EndpointSlice of Service tools/clients: the pod `pod` at the client's address. */
const clientsSlice = (pod: string): Obj => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'clients-1', namespace: 'tools', labels: { 'kubernetes.io/service-name': 'clients' } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: [{ addresses: [CLIENT_IP], conditions: { ready: true }, targetRef: { kind: 'Pod', namespace: 'tools', name: pod } }],
});

describe('gatehouse controller: flows name the in-cluster client pod from EndpointSlices', () => {
  let web: EchoBackend;
  let api: FakeApiServer;
  let ctl: RunningController;

  before(async () => {
    web = await startEchoBackend('web');
    api = await startFakeApiServer();
    const objects: Obj[] = [
      { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'gatehouse' }, spec: { controller: 'gatehouse.io/ingress-controller' } },
      ...service('web', [{ port: web.port }], 'shop'),
      ingress('shop', { namespace: 'shop', rules: [{ host: 'shop.example', paths: [{ path: '/', service: 'web' }] }] }),
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'clients', namespace: 'tools' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
      clientsSlice('client-a'),
    ];
    for (const o of objects) api.apply(o);
    ctl = await startController(api.kubeconfigPath);
    await until(ctl, 'web', 'the shop Ingress served');
  });
  after(async () => {
    await ctl?.stop();
    await api?.close();
    await web?.close();
  });

  const flows = async (filters?: unknown): Promise<Flow[]> => {
    const q = filters === undefined ? '' : `&filters=${encodeURIComponent(JSON.stringify(filters))}`;
    const res = await fetch(`http://127.0.0.1:${ctl.adminPort}/flows?last=1000${q}`);
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Flow);
  };
  const flowOf = async (path: string): Promise<Flow> => {
    let found: Flow | undefined;
    await waitFor(async () => (found = (await flows()).find((f) => f.http?.path === path)) !== undefined, 5000, `the flow of ${path}`);
    return found!;
  };
  const get = async (path: string, localAddress?: string): Promise<void> => {
    assert.equal((await request(ctl.httpPort, { host: 'shop.example', path, localAddress })).backend, 'web');
  };

  it('a request from the pod\'s address names the pod, and --namespace finds it', async () => {
    await get('/from-a', CLIENT_IP);
    const f = await flowOf('/from-a');
    assert.deepEqual(f.source, { ip: CLIENT_IP, port: f.source.port, namespace: 'tools', pod: 'client-a' });
    assert.deepEqual(f.ingress, { namespace: 'shop', name: 'shop' });
    const inTools = await flows([{ field: 'namespace', values: ['tools'] }]);
    assert.ok(inTools.some((x) => x.id === f.id), 'the namespace filter matches the client\'s namespace');
  });

  it('a request from an address no EndpointSlice names has no pod', async () => {
    await get('/from-node', '127.0.0.1');
    const f = await flowOf('/from-node');
    assert.equal(f.source.ip, '127.0.0.1');
    assert.equal(f.source.namespace, undefined);
    assert.equal(f.source.pod, undefined);
  });

  it('when the pod is replaced (a watch event), new flows name the new pod and earlier ones keep the old', async () => {
    api.apply(clientsSlice('client-b'));
    let latest: Flow | undefined;
    await waitFor(async () => {
      const path = `/after-${Date.now()}`;
      await get(path, CLIENT_IP);
      latest = await flowOf(path);
      return latest.source.pod === 'client-b';
    }, 10_000, 'a flow naming client-b once the EndpointSlice update is applied');
    assert.equal(latest!.source.namespace, 'tools');
    assert.equal((await flowOf('/from-a')).source.pod, 'client-a', 'a recorded flow is not rewritten');
  });
});
