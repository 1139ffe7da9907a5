/**
 * The toleration policy, pure: which tolerations a pod gets on an autonomous node, what is recorded,
 * and what restoring gives back. Every change is also checked against the API's pod update rule
 * (podTolerationErrors, the fake API server's copy of ValidatePodUpdate's toleration checks), and
 * the taint manager's reading of the result (evictionAfter) is asserted where it matters.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeAutonomy } from '../../src/autonomy/annotations.js';
import { formatOriginals, parseOriginals, type Originals } from '../../src/autonomy/originals.js';
import { podView, skipReason, type PodView } from '../../src/autonomy/pod.js';
import { planPod, type PodPlan } from '../../src/autonomy/policy.js';
import { evictionAfter, toleratesTaint, withSeconds, type Toleration } from '../../src/autonomy/tolerations.js';
import { podTolerationErrors } from '../helpers/fake-apiserver.js';

const NR = 'node.kubernetes.io/not-ready';
const UR = 'node.kubernetes.io/unreachable';
const ORIG = 'gatehouse.io/autonomy-original-tolerations';

/** What DefaultTolerationSeconds admission adds to every pod. */
const DEFAULTS: Toleration[] = [
  { key: NR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: UR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];

const on = (seconds: number | null): NodeAutonomy => ({ state: 'on', seconds, annotation: 'gatehouse.io/autonomy', value: 'true' });
const OFF: NodeAutonomy = { state: 'off' };

function pod(tolerations: Toleration[], extra: Partial<PodView> = {}): PodView {
  return {
    namespace: 'shop', name: 'web-1', uid: 'u1', resourceVersion: '7', nodeName: 'edge-1', phase: 'Running', deleting: false,
    annotations: {}, owners: [{ kind: 'ReplicaSet', controller: true }], tolerations, ...extra,
  };
}

/** The pod after the plan's change, having checked the change is one the API accepts. */
function applied(p: PodView, plan: PodPlan): PodView {
  assert.ok(plan.action === 'set' || plan.action === 'restore', `expected a change, got ${JSON.stringify(plan)}`);
  const errs = podTolerationErrors({ spec: { tolerations: p.tolerations } }, { spec: { tolerations: plan.change.tolerations } });
  assert.deepEqual(errs, [], 'the API would refuse this change');
  const annotations = { ...p.annotations };
  if (plan.change.originals === null) delete annotations[ORIG];
  else annotations[ORIG] = plan.change.originals;
  return { ...p, tolerations: plan.change.tolerations, annotations };
}

function originalsOf(p: PodView): Originals {
  const r = parseOriginals(p.annotations[ORIG] ?? '');
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.originals;
}

const inSync = (p: PodView, node: NodeAutonomy) => assert.deepEqual(planPod(p, node), { action: 'none', why: 'in-sync', limits: [] });

describe('planPod: setting', () => {
  it('gives the default tolerations the node\'s duration and records their 300 s', () => {
    const p = pod(DEFAULTS);
    const plan = planPod(p, on(7200));
    assert.equal(plan.action, 'set');
    const after = applied(p, plan);
    assert.deepEqual(after.tolerations, [
      { key: NR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 7200 },
      { key: UR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 7200 },
    ]);
    assert.deepEqual(originalsOf(after), {
      changed: [
        { key: NR, operator: 'Exists', value: '', effect: 'NoExecute', seconds: 300 },
        { key: UR, operator: 'Exists', value: '', effect: 'NoExecute', seconds: 300 },
      ],
      added: [],
    });
    assert.equal(evictionAfter(after.tolerations, UR), 7200);
    inSync(after, on(7200));
  });

  it('removes tolerationSeconds for no limit (the taint manager never evicts)', () => {
    const after = applied(pod(DEFAULTS), planPod(pod(DEFAULTS), on(null)));
    assert.deepEqual(after.tolerations, [
      { key: NR, operator: 'Exists', effect: 'NoExecute' },
      { key: UR, operator: 'Exists', effect: 'NoExecute' },
    ]);
    assert.equal(evictionAfter(after.tolerations, NR), null);
    assert.equal(evictionAfter(after.tolerations, UR), null);
    inSync(after, on(null));
  });

  it('records a toleration that had no tolerationSeconds as "absent"', () => {
    const p = pod([{ key: NR, operator: 'Exists', effect: 'NoExecute' }, DEFAULTS[1]!]);
    const after = applied(p, planPod(p, on(60)));
    assert.deepEqual(originalsOf(after).changed[0], { key: NR, operator: 'Exists', value: '', effect: 'NoExecute', seconds: 'absent' });
    assert.equal(after.tolerations[0]!.tolerationSeconds, 60);
  });

  it('adds a toleration when nothing tolerates the taint, and records it as added', () => {
    const p = pod([]);
    const after = applied(p, planPod(p, on(3600)));
    assert.deepEqual(after.tolerations, [
      { key: NR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 3600 },
      { key: UR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 3600 },
    ]);
    assert.deepEqual(originalsOf(after), {
      changed: [],
      added: [
        { key: NR, operator: 'Exists', value: '', effect: 'NoExecute' },
        { key: UR, operator: 'Exists', value: '', effect: 'NoExecute' },
      ],
    });
    inSync(after, on(3600));
  });

  it('changes a custom toleration for one taint and adds one for the other', () => {
    const custom = { key: UR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 600 };
    const p = pod([custom]);
    const after = applied(p, planPod(p, on(7200)));
    assert.deepEqual(after.tolerations, [
      { ...custom, tolerationSeconds: 7200 },
      { key: NR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 7200 },
    ]);
    assert.deepEqual(originalsOf(after), {
      changed: [{ key: UR, operator: 'Exists', value: '', effect: 'NoExecute', seconds: 600 }],
      added: [{ key: NR, operator: 'Exists', value: '', effect: 'NoExecute' }],
    });
  });

  it('leaves other tolerations exactly as they are, in their order, unknown fields too', () => {
    const others: Toleration[] = [
      { key: 'example.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
      { key: NR, operator: 'Exists', effect: 'NoSchedule' },
      { key: 'dedicated', operator: 'Equal', value: 'edge', effect: 'NoExecute', tolerationSeconds: 30 },
    ];
    const withFuture = { ...DEFAULTS[0]!, futureField: 'kept' } as Toleration;
    const p = pod([others[0]!, withFuture, others[1]!, DEFAULTS[1]!, others[2]!]);
    const after = applied(p, planPod(p, on(7200)));
    assert.deepEqual(after.tolerations, [
      others[0], { ...withFuture, tolerationSeconds: 7200 }, others[1], { ...DEFAULTS[1]!, tolerationSeconds: 7200 }, others[2],
    ]);
  });

  it('changes every toleration with the key and effect NoExecute, Equal ones too, and records each', () => {
    const equal = { key: NR, operator: 'Equal', value: '', effect: 'NoExecute', tolerationSeconds: 600 };
    const p = pod([DEFAULTS[0]!, equal, DEFAULTS[1]!]);
    const after = applied(p, planPod(p, on(null)));
    assert.deepEqual(after.tolerations.map((t) => t.tolerationSeconds), [undefined, undefined, undefined]);
    assert.deepEqual(originalsOf(after).changed.map((c) => [c.operator, c.seconds]), [['Exists', 300], ['Equal', 600], ['Exists', 300]]);
  });

  it('adds a toleration when the only one with the key does not match the taint (a value)', () => {
    const other = { key: NR, operator: 'Equal', value: 'x', effect: 'NoExecute', tolerationSeconds: 100 };
    const p = pod([other, DEFAULTS[1]!]);
    assert.ok(!toleratesTaint(other, NR));
    const after = applied(p, planPod(p, on(7200)));
    assert.deepEqual(after.tolerations[2], { key: NR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 7200 });
    assert.deepEqual(originalsOf(after).added, [{ key: NR, operator: 'Exists', value: '', effect: 'NoExecute' }]);
    assert.equal(evictionAfter(after.tolerations, NR), 7200);
  });

  it('adds nothing when a wildcard already tolerates the taint for ever (an addition could only shorten it)', () => {
    for (const wildcard of [{ operator: 'Exists' }, { key: NR, operator: 'Exists' }, { operator: 'Exists', effect: 'NoExecute' }]) {
      const p = pod([wildcard, DEFAULTS[1]!]);
      const after = applied(p, planPod(p, on(7200)));
      assert.equal(after.tolerations.length, 2, JSON.stringify(wildcard));
      assert.deepEqual(originalsOf(after).added, []);
      assert.equal(evictionAfter(after.tolerations, NR), null);
    }
    // Everything tolerated for ever already: nothing to write, no annotation.
    inSync(pod([{ operator: 'Exists' }]), on(7200));
  });

  it('says when a keyless NoExecute toleration with seconds still evicts sooner (it is left as it is)', () => {
    const wildcard = { operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 };
    const p = pod([...DEFAULTS, wildcard]);
    const plan = planPod(p, on(7200));
    assert.equal(plan.action, 'set');
    assert.equal(plan.action === 'set' && plan.limits.length, 2);
    assert.match(plan.action === 'set' ? plan.limits[0]! : '', /tolerates node\.kubernetes\.io\/not-ready for only 60s because of its toleration \*:NoExecute for 60s/);
    const after = applied(p, plan);
    assert.deepEqual(after.tolerations[2], wildcard);
    const again = planPod(after, on(7200));
    assert.equal(again.action, 'none');
    assert.equal(again.action === 'none' && again.limits.length, 2);
    // Longer than the autonomy duration: no limit to report.
    assert.equal((planPod(p, on(30)) as { limits: string[] }).limits.length, 0);
  });

  it('a duration change re-applies and keeps the first recorded values', () => {
    const p = pod(DEFAULTS);
    const twoHours = applied(p, planPod(p, on(7200)));
    const stored = twoHours.annotations[ORIG];
    const plan = planPod(twoHours, on(3600));
    assert.equal(plan.action, 'set');
    const oneHour = applied(twoHours, plan);
    assert.equal(oneHour.annotations[ORIG], stored, 'the annotation is not rewritten');
    assert.deepEqual(oneHour.tolerations.map((t) => t.tolerationSeconds), [3600, 3600]);
    const forever = applied(oneHour, planPod(oneHour, on(null)));
    assert.deepEqual(forever.tolerations.map((t) => t.tolerationSeconds), [undefined, undefined]);
    assert.deepEqual(originalsOf(forever).changed.map((c) => c.seconds), [300, 300]);
    // Back to the start: the first values, not the ones in between.
    const restored = applied(forever, planPod(forever, OFF));
    assert.deepEqual(restored.tolerations, DEFAULTS);
  });

  it('a duration change keeps an added toleration added (not recorded as changed, not added twice)', () => {
    const p = pod([]);
    const first = applied(p, planPod(p, on(60)));
    const second = applied(first, planPod(first, on(120)));
    assert.equal(second.tolerations.length, 2);
    assert.deepEqual(originalsOf(second), originalsOf(first));
    assert.deepEqual(second.tolerations.map((t) => t.tolerationSeconds), [120, 120]);
  });

  it('records a toleration that appeared while autonomous (a later update added it) and sets it too', () => {
    const p = pod(DEFAULTS);
    const set = applied(p, planPod(p, on(7200)));
    const late = { key: UR, operator: 'Equal', effect: 'NoExecute', tolerationSeconds: 900 };
    const withLate = { ...set, tolerations: [...set.tolerations, late] };
    const after = applied(withLate, planPod(withLate, on(7200)));
    assert.equal(after.tolerations[2]!.tolerationSeconds, 7200);
    assert.deepEqual(originalsOf(after).changed[2], { key: UR, operator: 'Equal', value: '', effect: 'NoExecute', seconds: 900 });
    const restored = applied(after, planPod(after, OFF));
    assert.deepEqual(restored.tolerations, [...DEFAULTS, late]);
  });
});

describe('planPod: restoring', () => {
  it('gives back the recorded values and removes the annotation; then nothing more to do', () => {
    const p = pod(DEFAULTS);
    const set = applied(p, planPod(p, on(null)));
    const plan = planPod(set, OFF);
    assert.equal(plan.action, 'restore');
    const restored = applied(set, plan);
    assert.deepEqual(restored.tolerations, DEFAULTS);
    assert.equal(restored.annotations[ORIG], undefined);
    inSync(restored, OFF);
  });

  it('puts "absent" back as no tolerationSeconds', () => {
    const p = pod([{ key: NR, operator: 'Exists', effect: 'NoExecute' }, DEFAULTS[1]!]);
    const restored = applied(p, planPod(p, on(60)));
    const back = applied(restored, planPod(restored, OFF));
    assert.deepEqual(back.tolerations, p.tolerations);
  });

  it('sets an added toleration to 0: the taint manager evicts at once, as without it', () => {
    const p = pod([DEFAULTS[1]!]);
    const set = applied(p, planPod(p, on(7200)));
    const restored = applied(set, planPod(set, OFF));
    assert.deepEqual(restored.tolerations, [DEFAULTS[1], { key: NR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 0 }]);
    assert.equal(evictionAfter(restored.tolerations, NR), evictionAfter(p.tolerations, NR));
    assert.equal(evictionAfter(restored.tolerations, NR), 0);
    assert.equal(evictionAfter(restored.tolerations, UR), 300);
    inSync(restored, OFF);
  });

  it('an added toleration leaves in charge a toleration for its taint that appeared meanwhile', () => {
    const p = pod([]);
    const set = applied(p, planPod(p, on(7200)));
    // For ever (a wildcard someone added): the added one loses its seconds, so nothing shortens it.
    const withWildcard = { ...set, tolerations: [...set.tolerations, { operator: 'Exists' }] };
    const r1 = applied(withWildcard, planPod(withWildcard, OFF));
    assert.equal(evictionAfter(r1.tolerations, NR), null);
    assert.equal(evictionAfter(r1.tolerations, UR), null);
    // 900 s: the added one gets 900 too.
    const late = { key: NR, operator: 'Equal', effect: 'NoExecute', tolerationSeconds: 900 };
    const withLate = { ...set, tolerations: [...set.tolerations, late] };
    const recorded = applied(withLate, planPod(withLate, on(7200)));
    const r2 = applied(recorded, planPod(recorded, OFF));
    assert.deepEqual(r2.tolerations, [
      { key: NR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 900 },
      { key: UR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 0 },
      late,
    ]);
    assert.equal(evictionAfter(r2.tolerations, NR), 900);
  });

  it('autonomy again after a restore-at-0 reuses the added toleration (recorded as changed, 0)', () => {
    const p = pod([DEFAULTS[1]!]);
    const set = applied(p, planPod(p, on(7200)));
    const restored = applied(set, planPod(set, OFF));
    const again = applied(restored, planPod(restored, on(60)));
    assert.equal(again.tolerations.length, 2);
    assert.deepEqual(originalsOf(again), {
      changed: [
        { key: NR, operator: 'Exists', value: '', effect: 'NoExecute', seconds: 0 },
        { key: UR, operator: 'Exists', value: '', effect: 'NoExecute', seconds: 300 },
      ],
      added: [],
    });
    assert.equal(evictionAfter(again.tolerations, NR), 60);
    const back = applied(again, planPod(again, OFF));
    assert.deepEqual(back.tolerations, restored.tolerations);
  });

  it('does nothing for a pod without the annotation on a node that is not autonomous', () => {
    inSync(pod(DEFAULTS), OFF);
    inSync(pod([{ key: NR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 9 }]), OFF);
  });
});

describe('planPod: pods and nodes left alone', () => {
  const annotated = applied(pod(DEFAULTS), planPod(pod(DEFAULTS), on(7200)));

  it('skips DaemonSet pods, static (mirror) pods, unscheduled, finished and terminating pods', () => {
    const cases: [Partial<PodView>, string][] = [
      [{ owners: [{ kind: 'DaemonSet', controller: true }] }, 'daemonset'],
      [{ annotations: { 'kubernetes.io/config.mirror': 'abc123' } }, 'static'],
      [{ owners: [{ kind: 'Node', controller: true }] }, 'static'],
      [{ nodeName: '' }, 'unscheduled'],
      [{ phase: 'Succeeded' }, 'finished'],
      [{ phase: 'Failed' }, 'finished'],
      [{ deleting: true }, 'terminating'],
    ];
    for (const [extra, why] of cases) {
      assert.deepEqual(planPod(pod(DEFAULTS, extra), on(7200)), { action: 'none', why, limits: [] }, why);
      assert.deepEqual(planPod({ ...annotated, ...extra, annotations: { ...annotated.annotations, ...extra.annotations } }, OFF), { action: 'none', why, limits: [] }, why);
    }
  });

  it('does not skip a pod that a DaemonSet owns without being its controller', () => {
    assert.equal(planPod(pod(DEFAULTS, { owners: [{ kind: 'DaemonSet', controller: false }] }), on(60)).action, 'set');
  });

  it('leaves pods alone, neither set nor restored, while the node\'s annotation is invalid', () => {
    const invalid: NodeAutonomy = { state: 'invalid', annotation: 'node.openyurt.io/autonomy-duration', value: 'soon', problem: '', fix: '' };
    assert.deepEqual(planPod(pod(DEFAULTS), invalid), { action: 'none', why: 'invalid-node', limits: [] });
    assert.deepEqual(planPod(annotated, invalid), { action: 'none', why: 'invalid-node', limits: [] });
  });

  it('refuses to guess when the recorded originals cannot be read', () => {
    for (const bad of ['{', '{"version":2,"changed":[],"added":[]}', '{"version":1,"changed":[{"key":"a"}],"added":[]}', '[]']) {
      const p = pod(DEFAULTS, { annotations: { [ORIG]: bad } });
      for (const node of [on(60), OFF]) {
        const plan = planPod(p, node);
        assert.equal(plan.action, 'error', bad);
        assert.match(plan.action === 'error' ? plan.error : '', /gatehouse\.io\/autonomy-original-tolerations cannot be read because .*kubectl annotate pod web-1 -n shop gatehouse\.io\/autonomy-original-tolerations-/);
      }
    }
  });
});

describe('originals annotation', () => {
  it('round-trips, and the same record always gives the same text', () => {
    const o: Originals = {
      changed: [{ key: NR, operator: 'Exists', value: '', effect: 'NoExecute', seconds: 300 }, { key: UR, operator: 'Equal', value: '', effect: 'NoExecute', seconds: 'absent' }],
      added: [{ key: UR, operator: 'Exists', value: '', effect: 'NoExecute' }],
    };
    const text = formatOriginals(o);
    assert.deepEqual(parseOriginals(text), { ok: true, originals: o });
    assert.equal(formatOriginals(JSON.parse(JSON.stringify(o)) as Originals), text);
    assert.equal(text, '{"version":1,"changed":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","value":"","effect":"NoExecute","seconds":300},' +
      '{"key":"node.kubernetes.io/unreachable","operator":"Equal","value":"","effect":"NoExecute","seconds":"absent"}],' +
      '"added":[{"key":"node.kubernetes.io/unreachable","operator":"Exists","value":"","effect":"NoExecute"}]}');
  });

  it('refuses wrong shapes with a reason', () => {
    assert.match((parseOriginals('nope') as { error: string }).error, /not JSON/);
    assert.match((parseOriginals('{"version":1,"changed":[],"added":[{"key":1}]}') as { error: string }).error, /"added" entry/);
    assert.match((parseOriginals('{"version":1,"changed":[{"key":"a","operator":"","value":"","effect":"","seconds":1.5}],"added":[]}') as { error: string }).error, /"changed" entry/);
  });
});

describe('tolerations as the taint manager reads them', () => {
  it('toleratesTaint follows core/v1 ToleratesTaint', () => {
    assert.ok(toleratesTaint({ key: NR, operator: 'Exists', effect: 'NoExecute' }, NR));
    assert.ok(toleratesTaint({ key: NR, operator: 'Exists' }, NR), 'no effect: every effect');
    assert.ok(toleratesTaint({ operator: 'Exists' }, NR), 'no key with Exists: every taint');
    assert.ok(toleratesTaint({ key: NR, effect: 'NoExecute' }, NR), 'no operator is Equal, and the taint has no value');
    assert.ok(toleratesTaint({ key: NR, operator: 'Equal', value: '', effect: 'NoExecute' }, NR));
    assert.ok(!toleratesTaint({ key: NR, operator: 'Equal', value: 'x', effect: 'NoExecute' }, NR));
    assert.ok(!toleratesTaint({ key: NR, operator: 'Exists', effect: 'NoSchedule' }, NR));
    assert.ok(!toleratesTaint({ key: UR, operator: 'Exists', effect: 'NoExecute' }, NR));
    assert.ok(!toleratesTaint({ key: NR, operator: 'Gt', effect: 'NoExecute' }, NR));
  });

  it('evictionAfter follows getMinTolerationTime', () => {
    assert.equal(evictionAfter([], NR), 0, 'not tolerated: at once');
    assert.equal(evictionAfter([{ key: UR, operator: 'Exists', effect: 'NoExecute' }], NR), 0);
    assert.equal(evictionAfter([{ key: NR, operator: 'Exists', effect: 'NoExecute' }], NR), null, 'no seconds: never');
    assert.equal(evictionAfter([{ key: NR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 0 }], NR), 0);
    assert.equal(evictionAfter([{ key: NR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: -5 }], NR), 0);
    assert.equal(evictionAfter([
      { key: NR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 600 },
      { operator: 'Exists' },
      { key: NR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ], NR), 300, 'the smallest finite value wins over a for-ever one');
  });

  it('withSeconds sets or removes only tolerationSeconds', () => {
    assert.deepEqual(withSeconds({ key: NR, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }, null), { key: NR, operator: 'Exists', effect: 'NoExecute' });
    assert.deepEqual(withSeconds({ key: NR, effect: 'NoExecute' }, 0), { key: NR, effect: 'NoExecute', tolerationSeconds: 0 });
  });
});

describe('podView and skipReason', () => {
  it('reads the fields the controller needs from the API\'s JSON', () => {
    const view = podView({
      metadata: {
        name: 'web-1', namespace: 'shop', uid: 'u1', resourceVersion: '42', annotations: { a: 'b', n: 5 },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'r', controller: true }],
      },
      spec: { nodeName: 'edge-1', tolerations: DEFAULTS, containers: [{ name: 'c', image: 'x' }] },
      status: { phase: 'Running' },
    });
    assert.deepEqual(view, {
      namespace: 'shop', name: 'web-1', uid: 'u1', resourceVersion: '42', nodeName: 'edge-1', phase: 'Running', deleting: false,
      annotations: { a: 'b' }, owners: [{ kind: 'ReplicaSet', controller: true }], tolerations: DEFAULTS,
    });
    assert.equal(skipReason(view!), null);
    assert.equal(podView({ metadata: {} }), null);
    assert.equal(podView('x'), null);
    const deleting = podView({ metadata: { name: 'p', deletionTimestamp: '2024-01-01T00:00:00Z' }, spec: { nodeName: 'n' } });
    assert.equal(deleting && skipReason(deleting), 'terminating');
  });
});
