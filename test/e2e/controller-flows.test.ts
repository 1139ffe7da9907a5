/**
 * In a cluster, flows name the client's pod: `gatehouse controller` against the fake API server, with
 * an EndpointSlice whose endpoint at the client's address (127.0.0.2 on loopback) has a Pod targetRef.
 * The pod is then replaced by a write through the API (@kubernetes/client-node, as the EndpointSlice
 * controller would), which the gateway learns from its watch.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import { startEchoBackend, type EchoBackend } from '../helpers/backends.js';
import { request } from '../helpers/client.js';
import { startController, until, type RunningController } from '../helpers/controller.js';
import { startFakeApiServer, type FakeApiServer } from '../helpers/fake-apiserver.js';
import { ingress, service, type Obj } from '../helpers/manifests.js';
import { waitFor } from '../helpers/wait.js';
import type { Flow } from '../../src/observe/flow.js';

const CLIENT_IP = '127.0.0.2';
/** A node's address, claimed by two host-network pods of two Services. */
const NODE_IP = '127.0.0.3';

/** A Service `namespace/name` whose one EndpointSlice has an endpoint at `address` with a Pod targetRef. */
const podService = (namespace: string, name: string, address: string, pod: string): Obj[] => [
  { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
  {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-1`, namespace, labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: [address], conditions: { ready: true }, targetRef: { kind: 'Pod', namespace, name: pod } }],
  },
];

describe('gatehouse controller: flows name the in-cluster client pod from EndpointSlices', () => {
  let web: EchoBackend;
  let api: FakeApiServer;
  let ctl: RunningController;

  before(async () => {
    web = await startEchoBackend('web');
    api = await startFakeApiServer();
    const objects: Obj[] = [
      { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'gatehouse' }, spec: { controller: 'gatehouse.io/ingress-controller' } },
      // The served Service's slice has 127.0.0.1 without a targetRef: it names no pod.
      ...service('web', [{ port: web.port }], 'shop'),
      ingress('shop', { namespace: 'shop', rules: [{ host: 'shop.example', paths: [{ path: '/', service: 'web' }] }] }),
      ...podService('tools', 'clients', CLIENT_IP, 'client-a'),
      ...podService('monitoring', 'node-exporter', NODE_IP, 'node-exporter-x7k2p'),
      ...podService('kube-system', 'node-local-dns', NODE_IP, 'node-local-dns-q9z4m'),
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
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Flow);
  };
  const flowOf = async (path: string): Promise<Flow> => {
    let found: Flow | undefined;
    await waitFor(async () => (found = (await flows()).find((f) => f.http?.path === path)) !== undefined, 5000, `the flow of ${path}`);
    return found!;
  };
  /** One request from `localAddress` and its flow, whose source must be that socket. */
  const send = async (path: string, localAddress: string): Promise<Flow> => {
    const reply = await request(ctl.httpPort, { host: 'shop.example', path, localAddress });
    assert.equal(reply.backend, 'web');
    const f = await flowOf(path);
    assert.equal(f.verdict, 'FORWARDED');
    assert.equal(f.source.ip, localAddress);
    assert.equal(f.source.port, reply.localPort);
    return f;
  };

  let fromA: Flow;
  let fromNode: Flow;

  it('a request from the pod\'s address names the pod', async () => {
    fromA = await send('/from-a', CLIENT_IP);
    assert.deepEqual(fromA.source, { ip: CLIENT_IP, port: fromA.source.port, namespace: 'tools', pod: 'client-a' });
    assert.deepEqual(fromA.ingress, { namespace: 'shop', name: 'shop' });
    assert.deepEqual(fromA.service, { namespace: 'shop', name: 'web', port: '80' });
  });

  it('a request from an address no EndpointSlice names with a Pod has no namespace or pod', async () => {
    fromNode = await send('/from-loopback', '127.0.0.1');
    assert.deepEqual(fromNode.source, { ip: '127.0.0.1', port: fromNode.source.port });
  });

  it('an address two pods claim (host-network pods on one node) names neither', async () => {
    const shared = await send('/from-node', NODE_IP);
    assert.deepEqual(shared.source, { ip: NODE_IP, port: shared.source.port });
  });

  it('the namespace filter finds the flow by its source\'s namespace', async () => {
    // The Ingress and Service are in shop, so only the source can match tools.
    const inTools = await flows([{ field: 'namespace', values: ['tools'] }]);
    assert.deepEqual(inTools.map((x) => x.id), [fromA.id]);
    const notTools = await flows([{ field: 'namespace', values: ['tools'], negate: true }]);
    assert.ok(notTools.some((x) => x.id === fromNode.id) && !notTools.some((x) => x.id === fromA.id));
  });

  it('when the pod is replaced through the API, new flows name the new pod and earlier ones keep the old', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const slice = await discovery.readNamespacedEndpointSlice({ namespace: 'tools', name: 'clients-1' });
    assert.equal(slice.endpoints[0]!.targetRef!.name, 'client-a');
    slice.endpoints[0]!.targetRef!.name = 'client-b';
    // A replace carrying the resourceVersion it read, as the EndpointSlice controller writes.
    await discovery.replaceNamespacedEndpointSlice({ namespace: 'tools', name: 'clients-1', body: slice });

    // Nothing HAProxy serves changes (no Ingress uses tools/clients), so /status's generation does not
    // move: the sign that the gateway has applied the change is a new request's flow naming client-b.
    let n = 0;
    let latest: Flow | undefined;
    await waitFor(async () => {
      latest = await send(`/after-${n++}`, CLIENT_IP);
      assert.ok(latest.source.pod === 'client-a' || latest.source.pod === 'client-b', `unexpected source ${JSON.stringify(latest.source)}`);
      return latest.source.pod === 'client-b';
    }, 10_000, 'a flow naming client-b once the EndpointSlice update is applied');
    assert.deepEqual(latest!.source, { ip: CLIENT_IP, port: latest!.source.port, namespace: 'tools', pod: 'client-b' });

    // Once applied, it stays applied.
    assert.equal((await send('/after-applied', CLIENT_IP)).source.pod, 'client-b');
    // A recorded flow is not rewritten.
    const earlier = (await flows()).find((x) => x.id === fromA.id);
    assert.deepEqual(earlier?.source, fromA.source);
    assert.equal(earlier?.source.pod, 'client-a');
    const inTools = await flows([{ field: 'namespace', values: ['tools'] }]);
    assert.ok(inTools.length >= 3 && inTools.every((x) => x.source.ip === CLIENT_IP), 'tools holds only the client\'s flows, before and after');
  });
});
