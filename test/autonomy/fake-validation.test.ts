/**
 * The fake API server's copy of ValidatePodUpdate's toleration rules, driven through the real
 * @kubernetes/client-node: what the autonomy controller may and may not do to a pod's tolerations,
 * with upstream's 422 Status (reason Invalid, message, details.causes).
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { startFakeApiServer, type FakeApiServer } from '../helpers/fake-apiserver.js';

type Obj = Record<string, unknown>;
type Toleration = { key?: string; operator?: string; value?: string; effect?: string; tolerationSeconds?: number };

const NR = 'node.kubernetes.io/not-ready';
const UR = 'node.kubernetes.io/unreachable';
const DEFAULTS: Toleration[] = [
  { key: NR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: UR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];
const FORBIDDEN = 'Pod "web" is invalid: spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds';

async function setup(t: TestContext, tolerations: Toleration[] = DEFAULTS): Promise<{ server: FakeApiServer; core: k8s.CoreV1Api }> {
  const server = await startFakeApiServer();
  t.after(() => server.close());
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  server.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec: { nodeName: 'edge-1', containers: [{ name: 'a', image: 'b' }], tolerations } });
  return { server, core: kc.makeApiClient(k8s.CoreV1Api) };
}

const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/** The Status of a refused request. */
async function refused(p: Promise<unknown>): Promise<{ code: number; status: Obj }> {
  try {
    await p;
  } catch (e) {
    const err = e as { code?: number; body?: string };
    return { code: err.code ?? 0, status: JSON.parse(err.body ?? '{}') as Obj };
  }
  assert.fail('the request was accepted');
}

function tolerationsOf(server: FakeApiServer): Toleration[] {
  return ((server.get('v1', 'Pod', 'default', 'web')!.spec as Obj).tolerations as Toleration[]) ?? [];
}

describe('fake API server: pod update validation of tolerations', () => {
  it('accepts changing and removing tolerationSeconds, and adding tolerations (merge patch)', async (t) => {
    const { server, core } = await setup(t);
    const next = [{ ...DEFAULTS[0]!, tolerationSeconds: 7200 }, { key: UR, operator: 'Exists', effect: 'NoExecute' }, { key: 'example.com/x', operator: 'Exists', effect: 'NoSchedule' }];
    await core.patchNamespacedPod({ namespace: 'default', name: 'web', body: { spec: { tolerations: next } } }, merge);
    assert.deepEqual(tolerationsOf(server), next);
  });

  it('refuses removing a toleration: 422 Invalid with upstream\'s message and cause', async (t) => {
    const { server, core } = await setup(t);
    const { code, status } = await refused(core.patchNamespacedPod({ namespace: 'default', name: 'web', body: { spec: { tolerations: [DEFAULTS[0]] } } }, merge));
    assert.equal(code, 422);
    assert.deepEqual(status, {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: FORBIDDEN, reason: 'Invalid',
      details: { name: 'web', kind: 'Pod', causes: [{ reason: 'FieldValueForbidden', message: 'Forbidden: existing toleration can not be modified except its tolerationSeconds', field: 'spec.tolerations' }] },
      code: 422,
    });
    assert.deepEqual(tolerationsOf(server), DEFAULTS, 'nothing stored');
  });

  it('refuses modifying anything but tolerationSeconds (effect, operator, value, key), with PUT and JSON patch too', async (t) => {
    const { server, core } = await setup(t);
    for (const change of [{ effect: 'NoSchedule' }, { operator: 'Equal' }, { key: 'example.com/other' }]) {
      const tolerations = [{ ...DEFAULTS[0]!, ...change, tolerationSeconds: 5 }, DEFAULTS[1]];
      const r = await refused(core.patchNamespacedPod({ namespace: 'default', name: 'web', body: { spec: { tolerations } } }, merge));
      assert.equal(r.code, 422, JSON.stringify(change));
      assert.equal(r.status.message, FORBIDDEN);
    }
    const pod = await core.readNamespacedPod({ namespace: 'default', name: 'web' });
    pod.spec!.tolerations = [{ ...DEFAULTS[0]!, effect: 'NoSchedule' }, DEFAULTS[1]!];
    assert.equal((await refused(core.replaceNamespacedPod({ namespace: 'default', name: 'web', body: pod }))).status.message, FORBIDDEN);
    const jsonPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);
    const r = await refused(core.patchNamespacedPod({ namespace: 'default', name: 'web', body: [{ op: 'remove', path: '/spec/tolerations/1' }] }, jsonPatch));
    assert.equal(r.status.message, FORBIDDEN);
    await core.patchNamespacedPod({ namespace: 'default', name: 'web', body: [{ op: 'replace', path: '/spec/tolerations/1/tolerationSeconds', value: 0 }] }, jsonPatch);
    assert.equal(tolerationsOf(server)[1]!.tolerationSeconds, 0);
  });

  it('refuses tolerationSeconds without effect NoExecute, naming the field; several errors are listed', async (t) => {
    const { core } = await setup(t);
    const one = await refused(core.patchNamespacedPod({
      namespace: 'default', name: 'web',
      body: { spec: { tolerations: [...DEFAULTS, { key: 'example.com/x', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 60 }] } },
    }, merge));
    assert.equal(one.code, 422);
    assert.equal(one.status.message, 'Pod "web" is invalid: spec.tolerations[2].effect: Invalid value: "NoSchedule": effect must be \'NoExecute\' when `tolerationSeconds` is set');
    const two = await refused(core.patchNamespacedPod({
      namespace: 'default', name: 'web',
      body: { spec: { tolerations: [...DEFAULTS, { key: 'a', operator: 'Exists', tolerationSeconds: 1 }, { operator: 'Equal', value: 'v' }] } },
    }, merge));
    assert.equal(two.status.message,
      'Pod "web" is invalid: [spec.tolerations[2].effect: Invalid value: "": effect must be \'NoExecute\' when `tolerationSeconds` is set, ' +
      'spec.tolerations[3].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"]');
    assert.equal(((two.status.details as Obj).causes as Obj[]).length, 2);
  });

  it('compares as Go does: an absent field equals an empty one', async (t) => {
    const { server, core } = await setup(t, [{ key: NR, effect: 'NoExecute', tolerationSeconds: 300 }]);
    await core.patchNamespacedPod({ namespace: 'default', name: 'web', body: { spec: { tolerations: [{ key: NR, operator: '', value: '', effect: 'NoExecute' }] } } }, merge);
    assert.deepEqual(tolerationsOf(server), [{ key: NR, operator: '', value: '', effect: 'NoExecute' }]);
  });

  it('checks the resourceVersion first (409 before 422), and leaves create, the status subresource and the test-side update() unchecked', async (t) => {
    const { server, core } = await setup(t);
    const stale = await refused(core.patchNamespacedPod({ namespace: 'default', name: 'web', body: { metadata: { resourceVersion: '999' }, spec: { tolerations: [] } } }, merge));
    assert.equal(stale.code, 409);
    await core.patchNamespacedPodStatus({ namespace: 'default', name: 'web', body: { status: { phase: 'Running' } } }, merge);
    const p = server.get('v1', 'Pod', 'default', 'web')!;
    server.update({ ...p, spec: { ...(p.spec as Obj), tolerations: [] } });
    assert.deepEqual(tolerationsOf(server), []);
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'odd' }, spec: { containers: [{ name: 'a', image: 'b' }], tolerations: [{ key: 'x', effect: 'NoSchedule', tolerationSeconds: 1 }] } } });
  });
});
