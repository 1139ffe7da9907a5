import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errors, ingressClass, rawIngress, rule, path, run, service } from './helpers.js';

const spec = { rules: [rule('a.example.com', path('/'))] };
const served = (r: ReturnType<typeof run>) => r.model.routes.length > 0;

test('ingressClassName equal to --ingress-class, no IngressClass object: ours', () => {
  const r = run([rawIngress('a', { spec: { ingressClassName: 'gatehouse', ...spec } }), service('web')]);
  assert.ok(served(r));
});

test('ingressClassName naming an IngressClass with our controller: ours, whatever its name', () => {
  const r = run([rawIngress('a', { spec: { ingressClassName: 'edge', ...spec } }), ingressClass('edge', 'gatehouse.io/ingress-controller'), service('web')]);
  assert.ok(served(r));
});

test('ingressClassName equal to --ingress-class but that IngressClass has another controller: not ours', () => {
  const r = run([rawIngress('a', { spec: { ingressClassName: 'gatehouse', ...spec } }), ingressClass('gatehouse', 'k8s.io/ingress-nginx'), service('web')]);
  assert.equal(served(r), false);
  assert.deepEqual(r.diagnostics, [], 'Ingresses of other classes are ignored silently');
  assert.equal(r.accepted.size, 0);
});

test('ingressClassName of another class: ignored silently, even when broken', () => {
  const r = run([rawIngress('a', { spec: { ingressClassName: 'nginx', rules: 'garbage' } })]);
  assert.equal(served(r), false);
  assert.deepEqual(r.diagnostics, []);
});

test('the --ingress-class flag is honoured', () => {
  const ing = rawIngress('a', { spec: { ingressClassName: 'public', ...spec } });
  assert.equal(served(run([ing, service('web')])), false);
  assert.ok(served(run([ing, service('web')], { ingressClass: 'public' })));
});

test('legacy annotation: same tests when ingressClassName is absent', () => {
  const legacy = (cls: string) => rawIngress('a', { spec }, { annotations: { 'kubernetes.io/ingress.class': cls } });
  assert.ok(served(run([legacy('gatehouse'), service('web')])));
  assert.equal(served(run([legacy('nginx'), service('web')])), false);
  assert.ok(served(run([legacy('edge'), ingressClass('edge', 'gatehouse.io/ingress-controller'), service('web')])));
  assert.equal(served(run([legacy('gatehouse'), ingressClass('gatehouse', 'other/controller'), service('web')])), false);
});

test('ingressClassName wins over the legacy annotation', () => {
  const ing = rawIngress('a', { spec: { ingressClassName: 'nginx', ...spec } }, { annotations: { 'kubernetes.io/ingress.class': 'gatehouse' } });
  assert.equal(served(run([ing, service('web')])), false);
});

test('no class at all: ours only if an IngressClass with our controller is the default', () => {
  const ing = rawIngress('a', { spec });
  assert.equal(served(run([ing, service('web')])), false, 'no default class');
  assert.ok(served(run([ing, ingressClass('gh', 'gatehouse.io/ingress-controller', true), service('web')])));
  assert.equal(served(run([ing, ingressClass('gh', 'gatehouse.io/ingress-controller', false), service('web')])), false, 'ours but not default');
  assert.equal(served(run([ing, ingressClass('nginx', 'k8s.io/ingress-nginx', true), service('web')])), false, 'another controller is default');
});

test('a class name that is not a string is not ours', () => {
  const r = run([rawIngress('a', { spec: { ingressClassName: 42, ...spec } }), ingressClass('gh', 'gatehouse.io/ingress-controller', true), service('web')]);
  assert.equal(served(r), false);
  assert.deepEqual(errors(r), []);
});
