import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layout } from '../../src/haproxy/layout.js';
import { render } from '../../src/haproxy/render.js';
import { nextSlots, plan, type DataPlaneState } from '../../src/plan/plan.js';
import { assignSlots } from '../../src/plan/slots.js';
import type { Model } from '../../src/model/types.js';
import { backend, certificate, model, route } from '../helpers/model.js';

const L = layout('/state');

function state(m: Model, prev?: DataPlaneState): DataPlaneState {
  const slots = nextSlots(prev?.slots, m);
  return { model: m, slots, rendered: render({ model: m, slots, layout: L, listen: { address: '*', httpPort: 80, httpsPort: 443 } }) };
}

const base = model({
  backends: [backend('default_ing_web_80', [['10.0.0.1', 80]])],
  routes: [route('a.com', 'Prefix', '/', 'default_ing_web_80')],
  certificates: [certificate('default_tls', 'PEM1', ['a.com'])],
});

test('the first state is an initial reload', () => {
  assert.deepEqual(plan(undefined, state(base), L), { reload: ['initial'], ops: [] });
});

test('an endpoint change is a server operation, no reload', () => {
  const s0 = state(base);
  const m = { ...base, backends: [backend('default_ing_web_80', [['10.0.0.1', 80], ['10.0.0.2', 80]])] };
  const p = plan(s0, state(m, s0), L);
  assert.deepEqual(p.reload, []);
  assert.deepEqual(p.ops, [{ kind: 'server', backend: 'default_ing_web_80', server: 's2', endpoint: { address: '10.0.0.2', port: 80, state: 'ready' } }]);
});

test('a removed endpoint frees its slot and keeps the others in place', () => {
  const two = assignSlots(undefined, [{ address: '10.0.0.1', port: 80, state: 'ready' }, { address: '10.0.0.2', port: 80, state: 'ready' }]);
  const one = assignSlots(two, [{ address: '10.0.0.2', port: 80, state: 'ready' }]);
  assert.deepEqual(one.map((e) => e?.address ?? null), [null, '10.0.0.2', null, null]);
});

test('unchanged endpoints keep their slots, with their current state, whatever order the slots are in', () => {
  const ep = (address: string, state: 'ready' | 'terminating' = 'ready') => ({ address, port: 80, state });
  const slots = assignSlots(undefined, [ep('10.0.0.1'), ep('10.0.0.2'), ep('10.0.0.3')]);
  const again = assignSlots(slots, [ep('10.0.0.1'), ep('10.0.0.2', 'terminating'), ep('10.0.0.3')]);
  assert.deepEqual(again, [ep('10.0.0.1'), ep('10.0.0.2', 'terminating'), ep('10.0.0.3'), null]);
  // Slots that are not in address order (an endpoint came back into a freed slot) stay as they are.
  const churned = assignSlots(assignSlots(slots, [ep('10.0.0.2'), ep('10.0.0.3')]), [ep('10.0.0.2'), ep('10.0.0.3'), ep('10.0.0.9')]);
  assert.deepEqual(churned.map((e) => e?.address ?? null), ['10.0.0.9', '10.0.0.2', '10.0.0.3', null]);
  const kept = assignSlots(churned, [ep('10.0.0.2'), ep('10.0.0.3'), ep('10.0.0.9')]);
  assert.deepEqual(kept.map((e) => e?.address ?? null), ['10.0.0.9', '10.0.0.2', '10.0.0.3', null]);
  assert.deepEqual(assignSlots(kept, [ep('10.0.0.2'), ep('10.0.0.9')]).map((e) => e?.address ?? null), ['10.0.0.9', '10.0.0.2', null, null]);
});

test('more endpoints than slots is a capacity reload', () => {
  const s0 = state(base);
  const eps: Array<[string, number]> = [1, 2, 3, 4, 5].map((i) => [`10.0.0.${i}`, 80]);
  const p = plan(s0, state({ ...base, backends: [backend('default_ing_web_80', eps)] }, s0), L);
  assert.deepEqual(p.reload, ['capacity']);
});

test('a route added to an existing backend is a map update, no reload', () => {
  const s0 = state(base);
  const m = { ...base, routes: [...base.routes, route('b.com', 'Exact', '/x', 'default_ing_web_80')] };
  const p = plan(s0, state(m, s0), L);
  assert.deepEqual(p.reload, []);
  assert.deepEqual(p.ops.map((o) => (o.kind === 'map' ? o.map : o.kind)), ['exact', 'hosts']);
});

test('a new or rotated certificate is a runtime operation; a removed one is deleted after routes change', () => {
  const s0 = state(base);
  const rotated = plan(s0, state({ ...base, certificates: [certificate('default_tls', 'PEM2', ['a.com'])] }, s0), L);
  assert.deepEqual(rotated, { reload: [], ops: [{ kind: 'cert', path: '/state/certs/default_tls.pem', pem: 'PEM2' }] });
  const added = plan(s0, state({ ...base, certificates: [...base.certificates, certificate('default_tls2', 'P', ['b.com'])] }, s0), L);
  assert.deepEqual(added.ops.map((o) => o.kind), ['cert', 'crt-list-add']);
  const removed = plan(s0, state({ ...base, certificates: [] }, s0), L);
  assert.deepEqual(removed.ops.map((o) => o.kind), ['crt-list-del', 'cert-del']);
});

test('a new backend, a backend setting or a global setting needs a reload', () => {
  const s0 = state(base);
  const newBackend = { ...base, backends: [...base.backends, backend('default_ing_api_80', [])] };
  assert.deepEqual(plan(s0, state(newBackend, s0), L).reload, ['backends']);
  const policy = { ...base, backends: [backend('default_ing_web_80', [['10.0.0.1', 80]], { rateLimitRps: 5 })] };
  assert.deepEqual(plan(s0, state(policy, s0), L).reload, ['backend-settings']);
  const settings = { ...base, settings: { ...base.settings, clientTimeoutMs: 1000 } };
  assert.deepEqual(plan(s0, state(settings, s0), L).reload, ['settings']);
});

test('no change, no operations', () => {
  const s0 = state(base);
  assert.deepEqual(plan(s0, state(base, s0), L), { reload: [], ops: [] });
});
