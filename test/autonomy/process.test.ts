/**
 * `gatehouse autonomy` as a real process against the fake API server (test/helpers/fake-apiserver.ts,
 * which applies the API's pod update rule for tolerations): Nodes and Pods are created through the
 * fake, and every outcome is asserted through the API (the stored pods, and the PATCH/PUT requests
 * the controller sent), plus its /status, /metrics and log lines.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual, promisify } from 'node:util';
import { startAutonomy, type RunningAutonomy } from '../helpers/autonomy.js';
import { metricValue } from '../helpers/controller.js';
import { startFakeApiServer, type FakeApiServer, type RequestRecord } from '../helpers/fake-apiserver.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const execFileAsync = promisify(execFile);

type Obj = Record<string, unknown>;
type Toleration = { key?: string; operator?: string; value?: string; effect?: string; tolerationSeconds?: number };

const NR = 'node.kubernetes.io/not-ready';
const UR = 'node.kubernetes.io/unreachable';
const ORIG = 'gatehouse.io/autonomy-original-tolerations';

/** What DefaultTolerationSeconds admission adds to every pod. */
const DEFAULTS: Toleration[] = [
  { key: NR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: UR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];
const withSeconds = (seconds: number | null): Toleration[] =>
  DEFAULTS.map(({ tolerationSeconds: _s, ...t }) => (seconds === null ? t : { ...t, tolerationSeconds: seconds }));

function node(name: string, annotations: Record<string, string> = {}): Obj {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, annotations }, spec: {}, status: { conditions: [{ type: 'Ready', status: 'True' }] } };
}

interface PodOptions {
  namespace?: string;
  annotations?: Record<string, string>;
  ownerReferences?: Obj[];
  tolerations?: Toleration[];
  labels?: Record<string, string>;
  phase?: string;
}

function pod(name: string, nodeName: string | undefined, o: PodOptions = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name, namespace: o.namespace ?? 'default', annotations: o.annotations ?? {}, labels: o.labels ?? { app: name },
      ...(o.ownerReferences ? { ownerReferences: o.ownerReferences } : { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${name}-rs`, uid: `uid-${name}`, controller: true }] }),
    },
    spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'app', image: 'registry.example/app:1' }], tolerations: o.tolerations ?? DEFAULTS },
    status: { phase: o.phase ?? (nodeName ? 'Running' : 'Pending') },
  };
}

const metaOf = (o: Obj): Obj => o.metadata as Obj;
const specOf = (o: Obj): Obj => o.spec as Obj;

function getPod(server: FakeApiServer, name: string, namespace = 'default'): Obj {
  const p = server.get('v1', 'Pod', namespace, name);
  assert.ok(p, `pod ${namespace}/${name} exists`);
  return p;
}
const tolerationsOf = (p: Obj): Toleration[] => (specOf(p).tolerations as Toleration[] | undefined) ?? [];
const originalsOf = (p: Obj): string | undefined => ((metaOf(p).annotations as Record<string, string> | undefined) ?? {})[ORIG];

/** PATCH and PUT requests on pods from `since` on (the controller's writes). */
function podWrites(server: FakeApiServer, since = 0): RequestRecord[] {
  return server.requests.slice(since).filter((r) => (r.method === 'PATCH' || r.method === 'PUT') && /\/pods\/[^/]+$/.test(r.path));
}

/** Waits until the pod's tolerations are `want`. */
async function waitTolerations(server: FakeApiServer, name: string, want: Toleration[], ctl: RunningAutonomy, namespace = 'default'): Promise<Obj> {
  let last: Obj | undefined;
  try {
    await waitFor(() => {
      last = getPod(server, name, namespace);
      return isDeepStrictEqual(tolerationsOf(last), want);
    }, 10_000, `pod ${name} tolerations ${JSON.stringify(want)}`);
  } catch (err) {
    const status = await ctl.status().catch((e: unknown) => String(e));
    throw new Error(`${(err as Error).message}; they are ${JSON.stringify(last && tolerationsOf(last))}; /status ${JSON.stringify(status)}; logs: ${ctl.logs().slice(-3000)}`);
  }
  return last!;
}

/** Replaces the node's annotations (null removes one), as `kubectl annotate` would. */
function annotateNode(server: FakeApiServer, name: string, changes: Record<string, string | null>): void {
  const n = server.get('v1', 'Node', '', name);
  assert.ok(n, `node ${name} exists`);
  const annotations = { ...((metaOf(n).annotations as Record<string, string> | undefined) ?? {}) };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete annotations[k];
    else annotations[k] = v;
  }
  server.update({ ...n, metadata: { ...metaOf(n), annotations } });
}

async function setup(t: TestContext): Promise<FakeApiServer> {
  const server = await startFakeApiServer();
  t.after(() => server.close());
  return server;
}

async function start(t: TestContext, server: FakeApiServer, args: string[] = []): Promise<RunningAutonomy> {
  const ctl = await startAutonomy(server.kubeconfigPath, { args });
  t.after(() => ctl.stop());
  return ctl;
}

describe('gatehouse autonomy (process, fake API server)', () => {
  it('gives pods on an autonomous node the duration and the annotation; DaemonSet, static, mirror pods and other nodes\' pods are untouched', async (t) => {
    const server = await setup(t);
    server.create(node('edge-1', { 'gatehouse.io/autonomy': 'true', 'gatehouse.io/autonomy-duration': '2h' }));
    server.create(node('cloud-1'));
    server.create(pod('web', 'edge-1'));
    const untouched = [
      server.create(pod('ds', 'edge-1', { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'u-ds', controller: true }] })),
      server.create(pod('mirror', 'edge-1', { annotations: { 'kubernetes.io/config.mirror': 'b1946ac92492d2347c6235b4d2611184' }, ownerReferences: [] })),
      server.create(pod('static', 'edge-1', { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'edge-1', uid: 'u-node', controller: true }] })),
      server.create(pod('done', 'edge-1', { phase: 'Succeeded' })),
      server.create(pod('cloud', 'cloud-1')),
      server.create(pod('pending', undefined)),
    ];
    const ctl = await start(t, server);

    const web = await waitTolerations(server, 'web', withSeconds(7200), ctl);
    assert.deepEqual(JSON.parse(originalsOf(web)!), {
      version: 1,
      changed: [
        { key: NR, operator: 'Exists', value: '', effect: 'NoExecute', seconds: 300 },
        { key: UR, operator: 'Exists', value: '', effect: 'NoExecute', seconds: 300 },
      ],
      added: [],
    });
    const status = await ctl.waitIdle();
    for (const before of untouched) {
      const now = getPod(server, metaOf(before).name as string);
      assert.equal(metaOf(now).resourceVersion, metaOf(before).resourceVersion, `${String(metaOf(before).name)} was not written`);
    }
    assert.deepEqual(podWrites(server).map((r) => `${r.method} ${r.path}`), ['PATCH /api/v1/namespaces/default/pods/web']);
    const patch = podWrites(server)[0]!.body as Obj;
    assert.equal((patch.metadata as Obj).resourceVersion, '3', 'the write carries the resourceVersion it was made from');
    assert.deepEqual(status.nodes.autonomous, [{ name: 'edge-1', duration: '2h', seconds: 7200, annotation: 'gatehouse.io/autonomy-duration', value: '2h' }]);
    assert.deepEqual(status.pods, { watched: 5, managed: 1, pending: 0, retrying: 0 }, 'the unscheduled and the finished pod are not watched');
    assert.ok(server.requests.some((r) => r.path === '/api/v1/pods' && r.query.fieldSelector === 'spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed'));
    assert.deepEqual(status.writes, { set: 1, restore: 0, conflicts: 0, errors: 0 });
    const metrics = await ctl.metrics();
    assert.equal(metricValue(metrics, 'gatehouse_autonomy_nodes'), 1);
    assert.equal(metricValue(metrics, 'gatehouse_autonomy_pods'), 1);
    assert.equal(metricValue(metrics, 'gatehouse_autonomy_pod_updates_total', { action: 'set' }), 1);
    assert.equal(metricValue(metrics, 'gatehouse_autonomy_errors_total'), 0);
    assert.ok(ctl.logLines().some((l) => l.msg === 'nodes and pods listed: bringing pods in line with their nodes\' autonomy'));
    assert.ok(ctl.logLines().some((l) => l.pod === 'default/web' && l.action === 'set' && l.seconds === 7200));
  });

  it('a pod scheduled later onto an autonomous node gets the tolerations (no limit: tolerationSeconds removed)', async (t) => {
    const server = await setup(t);
    server.create(node('edge-1', { 'gatehouse.io/autonomy': 'true' }));
    const created = server.create(pod('late', undefined));
    const ctl = await start(t, server);
    await ctl.waitIdle();
    assert.equal(podWrites(server).length, 0);
    server.update({ ...created, spec: { ...specOf(created), nodeName: 'edge-1' }, status: { phase: 'Running' } });
    const late = await waitTolerations(server, 'late', withSeconds(null), ctl);
    assert.ok(originalsOf(late));
    assert.equal((await ctl.waitIdle()).nodes.autonomous[0]!.duration, 'forever');
  });

  it('OpenYurt\'s annotations: node.openyurt.io/autonomy-duration 0 (no limit) and 2h, node.beta.openyurt.io/autonomy "true"', async (t) => {
    const server = await setup(t);
    server.create(node('yurt-0', { 'node.openyurt.io/autonomy-duration': '0' }));
    server.create(node('yurt-2h', { 'node.openyurt.io/autonomy-duration': '2h' }));
    server.create(node('yurt-beta', { 'node.beta.openyurt.io/autonomy': 'true' }));
    server.create(pod('a', 'yurt-0', { namespace: 'edge' }));
    server.create(pod('b', 'yurt-2h', { namespace: 'edge' }));
    server.create(pod('c', 'yurt-beta', { namespace: 'edge' }));
    const ctl = await start(t, server);
    await waitTolerations(server, 'a', withSeconds(null), ctl, 'edge');
    await waitTolerations(server, 'b', withSeconds(7200), ctl, 'edge');
    await waitTolerations(server, 'c', withSeconds(null), ctl, 'edge');
    const status = await ctl.waitIdle();
    assert.deepEqual(status.nodes.autonomous.map((n) => [n.name, n.duration, n.annotation]), [
      ['yurt-0', 'forever', 'node.openyurt.io/autonomy-duration'],
      ['yurt-2h', '2h', 'node.openyurt.io/autonomy-duration'],
      ['yurt-beta', 'forever', 'node.beta.openyurt.io/autonomy'],
    ]);
  });

  it('a duration change re-applies without touching the recorded originals', async (t) => {
    const server = await setup(t);
    server.create(node('edge-1', { 'gatehouse.io/autonomy': 'true', 'gatehouse.io/autonomy-duration': '2h' }));
    server.create(pod('web', 'edge-1'));
    const ctl = await start(t, server);
    const first = await waitTolerations(server, 'web', withSeconds(7200), ctl);
    annotateNode(server, 'edge-1', { 'gatehouse.io/autonomy-duration': '30m' });
    const second = await waitTolerations(server, 'web', withSeconds(1800), ctl);
    assert.equal(originalsOf(second), originalsOf(first));
    annotateNode(server, 'edge-1', { 'gatehouse.io/autonomy-duration': '0' });
    const third = await waitTolerations(server, 'web', withSeconds(null), ctl);
    assert.equal(originalsOf(third), originalsOf(first));
    assert.equal((await ctl.waitIdle()).writes.set, 3);
  });

  it('autonomy removed: the original tolerationSeconds come back, added tolerations get 0, the annotation goes', async (t) => {
    const server = await setup(t);
    server.create(node('edge-1', { 'gatehouse.io/autonomy': 'true' }));
    server.create(node('edge-2', { 'node.openyurt.io/autonomy-duration': '1h' }));
    const custom: Toleration[] = [
      { key: 'example.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
      { key: UR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 600 },
    ];
    server.create(pod('web', 'edge-1'));
    server.create(pod('custom', 'edge-1', { tolerations: custom }));
    server.create(pod('bare', 'edge-2', { tolerations: [] }));
    const ctl = await start(t, server);
    await waitTolerations(server, 'web', withSeconds(null), ctl);
    await waitTolerations(server, 'custom', [custom[0]!, { key: UR, operator: 'Exists', effect: 'NoExecute' }, { key: NR, operator: 'Exists', effect: 'NoExecute' }], ctl);
    await waitTolerations(server, 'bare', withSeconds(3600), ctl);

    annotateNode(server, 'edge-1', { 'gatehouse.io/autonomy': null });
    annotateNode(server, 'edge-2', { 'node.openyurt.io/autonomy-duration': null });
    const web = await waitTolerations(server, 'web', DEFAULTS, ctl);
    const restored = await waitTolerations(server, 'custom', [...custom, { key: NR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 0 }], ctl);
    const bare = await waitTolerations(server, 'bare', withSeconds(0), ctl);
    for (const p of [web, restored, bare]) assert.equal(originalsOf(p), undefined, 'the annotation is removed');
    const status = await ctl.waitIdle();
    assert.deepEqual(status.writes, { set: 3, restore: 3, conflicts: 0, errors: 0 });
    assert.equal(status.pods.managed, 0);
    assert.equal(metricValue(await ctl.metrics(), 'gatehouse_autonomy_pod_updates_total', { action: 'restore' }), 3);
    assert.equal(metricValue(await ctl.metrics(), 'gatehouse_autonomy_nodes'), 0);
  });

  it('gatehouse.io/autonomy "false" and a deleted node also restore', async (t) => {
    const server = await setup(t);
    server.create(node('edge-1', { 'gatehouse.io/autonomy': 'true', 'node.openyurt.io/autonomy-duration': '5m' }));
    server.create(node('edge-2', { 'gatehouse.io/autonomy': 'true' }));
    server.create(pod('a', 'edge-1'));
    server.create(pod('b', 'edge-2'));
    const ctl = await start(t, server);
    await waitTolerations(server, 'a', withSeconds(null), ctl);
    await waitTolerations(server, 'b', withSeconds(null), ctl);
    annotateNode(server, 'edge-1', { 'gatehouse.io/autonomy': 'false' });
    server.remove('v1', 'Node', '', 'edge-2');
    await waitTolerations(server, 'a', DEFAULTS, ctl);
    await waitTolerations(server, 'b', DEFAULTS, ctl);
  });

  it('an unreadable duration leaves the pods as they are (not set, not restored) and is reported in the log, /metrics and /status', async (t) => {
    const server = await setup(t);
    server.create(node('edge-1', { 'gatehouse.io/autonomy': 'true', 'gatehouse.io/autonomy-duration': 'two hours' }));
    server.create(node('edge-2', { 'node.openyurt.io/autonomy-duration': '1h' }));
    const fresh = server.create(pod('fresh', 'edge-1'));
    server.create(pod('set', 'edge-2'));
    const ctl = await start(t, server);
    await waitTolerations(server, 'set', withSeconds(3600), ctl);
    annotateNode(server, 'edge-2', { 'node.openyurt.io/autonomy-duration': '1 day' });
    const status = await ctl.waitStatus((s) => s.nodes.invalid.length === 2 && s.pods.pending === 0, 'both nodes reported invalid');
    assert.deepEqual(status.nodes.invalid.map((n) => [n.name, n.annotation, n.value]), [
      ['edge-1', 'gatehouse.io/autonomy-duration', 'two hours'],
      ['edge-2', 'node.openyurt.io/autonomy-duration', '1 day'],
    ]);
    assert.equal(podWrites(server).length, 1, 'only the first set of pod "set"');
    assert.equal(metaOf(getPod(server, 'fresh')).resourceVersion, metaOf(fresh).resourceVersion);
    assert.deepEqual(tolerationsOf(getPod(server, 'set')), withSeconds(3600), 'not restored either');
    const metrics = await ctl.metrics();
    assert.equal(metricValue(metrics, 'gatehouse_autonomy_invalid_annotations'), 2);
    assert.equal(metricValue(metrics, 'gatehouse_autonomy_errors_total', { reason: 'node-annotation' }), 2);
    assert.equal(metricValue(metrics, 'gatehouse_autonomy_nodes'), 0);
    const line = ctl.logLines().find((l) => l.level === 'error' && l.node === 'edge-1');
    assert.ok(line, `an error line names the node: ${ctl.logs()}`);
    assert.equal(line.annotation, 'gatehouse.io/autonomy-duration');
    assert.equal(line.value, 'two hours');
    assert.match(String(line.problem), /"two hours" is not a duration/);
    assert.equal(line.fix, 'kubectl annotate node edge-1 --overwrite gatehouse.io/autonomy-duration=24h (0 = no limit)');

    // Fixed: the pods follow again.
    annotateNode(server, 'edge-1', { 'gatehouse.io/autonomy-duration': '2h' });
    await waitTolerations(server, 'fresh', withSeconds(7200), ctl);
    annotateNode(server, 'edge-2', { 'node.openyurt.io/autonomy-duration': '24h' });
    await waitTolerations(server, 'set', withSeconds(86400), ctl);
    assert.equal(metricValue(await ctl.metrics(), 'gatehouse_autonomy_invalid_annotations'), 0);
  });

  it('a restart writes nothing when nothing changed; SIGTERM and SIGINT stop it with exit code 0', async (t) => {
    const server = await setup(t);
    server.create(node('edge-1', { 'gatehouse.io/autonomy': 'true', 'gatehouse.io/autonomy-duration': '90m' }));
    server.create(node('edge-2', { 'gatehouse.io/autonomy': 'true' }));
    server.create(node('cloud-1'));
    for (let i = 0; i < 5; i++) server.create(pod(`web-${i}`, 'edge-1'));
    server.create(pod('bare', 'edge-2', { tolerations: [] }));
    server.create(pod('cloud', 'cloud-1'));
    const first = await startAutonomy(server.kubeconfigPath);
    t.after(() => first.stop());
    for (let i = 0; i < 5; i++) await waitTolerations(server, `web-${i}`, withSeconds(5400), first);
    await waitTolerations(server, 'bare', withSeconds(null), first);
    assert.equal((await first.waitIdle()).writes.set, 6);
    assert.equal(await first.stop('SIGTERM'), 0);
    assert.ok(first.logLines().some((l) => l.msg === 'SIGTERM received: stopping'));

    const mark = server.requests.length;
    const second = await startAutonomy(server.kubeconfigPath);
    t.after(() => second.stop());
    const status = await second.waitIdle();
    assert.equal(status.pods.watched, 7);
    assert.equal(status.pods.managed, 6);
    assert.deepEqual(podWrites(server, mark), [], 'no pod written after the restart');
    assert.deepEqual(status.writes, { set: 0, restore: 0, conflicts: 0, errors: 0 });
    assert.ok(server.requests.slice(mark).some((r) => r.method === 'GET' && r.path === '/api/v1/pods'), 'it did list the pods');
    assert.equal(await second.stop('SIGINT'), 0);
  });

  it('a write that conflicts with a concurrent one (409) is read again and retried, keeping the other writer\'s change', async (t) => {
    const server = await setup(t);
    server.create(node('edge-1', { 'gatehouse.io/autonomy': 'true', 'gatehouse.io/autonomy-duration': '1h' }));
    server.create(pod('web', 'edge-1'));
    let raced = false;
    const extra: Toleration = { key: 'example.com/maintenance', operator: 'Exists', effect: 'NoSchedule' };
    server.onRequest = (r) => {
      if (raced || r.method !== 'PATCH' || r.path !== '/api/v1/namespaces/default/pods/web') return;
      raced = true;
      // Another client writes the pod just before the controller's patch is served.
      const p = getPod(server, 'web');
      server.update({ ...p, metadata: { ...metaOf(p), labels: { app: 'web', tier: 'front' } }, spec: { ...specOf(p), tolerations: [...tolerationsOf(p), extra] } });
    };
    const ctl = await start(t, server);
    const web = await waitTolerations(server, 'web', [...withSeconds(3600), extra], ctl);
    assert.deepEqual(metaOf(web).labels, { app: 'web', tier: 'front' });
    const status = await ctl.waitIdle();
    assert.deepEqual(status.writes, { set: 1, restore: 0, conflicts: 1, errors: 0 });
    const seq = server.requests.filter((r) => r.path === '/api/v1/namespaces/default/pods/web').map((r) => r.method);
    assert.deepEqual(seq, ['PATCH', 'GET', 'PATCH'], 'the 409 is followed by a fresh read and one more patch');
    assert.equal(metricValue(await ctl.metrics(), 'gatehouse_autonomy_write_conflicts_total'), 1);
  });

  it('a change the API refuses (422) is reported once and not retried in a loop (a pod the fake let in with an invalid toleration)', async (t) => {
    const server = await setup(t);
    server.create(node('edge-1', { 'gatehouse.io/autonomy': 'true' }));
    // A real API server refuses this pod at creation; the fake's create() does not check, and every update of it is a 422.
    server.create(pod('odd', 'edge-1', { tolerations: [...DEFAULTS, { key: 'x', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 5 }] }));
    server.create(pod('fine', 'edge-1'));
    const ctl = await start(t, server);
    await waitTolerations(server, 'fine', withSeconds(null), ctl);
    const status = await ctl.waitStatus((s) => s.writes.errors === 1 && s.pods.pending === 0, 'the 422 reported');
    assert.equal(status.pods.retrying, 0);
    assert.match(status.lastError!.message, /the API server refused the toleration change of pod default\/odd: Pod "odd" is invalid: spec\.tolerations\[2\]\.effect: Invalid value: "NoSchedule": effect must be 'NoExecute' when `tolerationSeconds` is set/);
    assert.equal(metricValue(await ctl.metrics(), 'gatehouse_autonomy_errors_total', { reason: 'invalid' }), 1);
    assert.equal(podWrites(server).filter((r) => r.path.endsWith('/odd')).length, 1);
  });

  it('--server: reaches the API server at that URL with the kubeconfig\'s credentials', async (t) => {
    const server = await setup(t);
    server.create(node('edge-1', { 'gatehouse.io/autonomy': 'true' }));
    server.create(pod('web', 'edge-1'));
    const dir = mkdtempSync(join(tmpdir(), 'gh-autonomy-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const deadPort = await freePort();
    const elsewhere = join(dir, 'kubeconfig.yaml');
    writeFileSync(elsewhere, readFileSync(server.kubeconfigPath, 'utf8').replace(server.url, `https://127.0.0.1:${deadPort}`));
    const ctl = await startAutonomy(elsewhere, { args: ['--server', server.url] });
    t.after(() => ctl.stop());
    await waitTolerations(server, 'web', withSeconds(null), ctl);
    assert.ok(ctl.logLines().some((l) => l.msg === 'gatehouse autonomy starting' && l.server === server.url));
  });

  it('/readyz is 503 until nodes and pods are listed; /healthz answers at once', async (t) => {
    const server = await setup(t);
    server.create(node('edge-1', { 'gatehouse.io/autonomy': 'true' }));
    server.create(pod('web', 'edge-1'));
    await server.stop();
    const ctl = await startAutonomy(server.kubeconfigPath, { waitReady: false });
    t.after(() => ctl.stop());
    await waitFor(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${ctl.adminPort}/healthz`)).status === 200;
      } catch {
        return false;
      }
    }, 10_000, '/healthz answers');
    assert.equal(await ctl.readyz(), 503);
    assert.equal((await ctl.status()).synced, false);
    await server.start();
    await waitFor(async () => (await ctl.readyz()) === 200, 15_000, `/readyz 200 once the API server answers (logs: ${ctl.logs().slice(-2000)})`);
    await waitTolerations(server, 'web', withSeconds(null), ctl);
  });

  it('kubectl get pod -o json shows the tolerations the controller set', async (t) => {
    const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
    if (kubectl.error) {
      t.skip('kubectl is not on PATH: install kubectl to run this assertion');
      return;
    }
    const server = await setup(t);
    server.create(node('edge-1', { 'gatehouse.io/autonomy': 'true', 'gatehouse.io/autonomy-duration': '45m' }));
    server.create(pod('web', 'edge-1'));
    const ctl = await start(t, server);
    await waitTolerations(server, 'web', withSeconds(2700), ctl);
    const { stdout } = await execFileAsync('kubectl', ['--kubeconfig', server.kubeconfigPath, 'get', 'pod', 'web', '-o', 'json'], { timeout: 20_000 });
    const shown = JSON.parse(stdout) as Obj;
    assert.deepEqual(tolerationsOf(shown), withSeconds(2700));
    assert.equal(JSON.parse(originalsOf(shown)!).changed.length, 2);
  });
});
