import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errors, ingress, makeCert, only, path, rule, run, service, simpleIngress, tlsSecret, warnings } from './helpers.js';
import { FALLBACK_MESSAGE } from '../../src/translate/secrets.js';

const now = new Date();
const A = makeCert('a.example.com', ['a.example.com']);
const A2 = makeCert('a.example.com', ['a.example.com']);
const OTHER = makeCert('z.example.com', ['z.example.com']);

test('a rejected Ingress is replaced by its last accepted version, with its errors and a warning', () => {
  const v1 = ingress('a', { rules: [rule('a.example.com', path('/v1'))] });
  const first = run([v1, service('web')]);
  assert.deepEqual([...first.accepted.keys()], ['Ingress/default/a']);
  assert.equal(first.accepted.get('Ingress/default/a'), v1);

  const v2 = ingress('a', { rules: [rule('a.example.com', path('/v2', 'web', 80, 'Regex'))] });
  const second = run([v2, service('web')], { lastAccepted: first.accepted });
  assert.deepEqual(second.model, first.model, 'the model is what v1 gave');
  only(errors(second, 'a'), 'spec.rules[0].http.paths[0].pathType');
  assert.equal(only(warnings(second, 'a'), '').message, FALLBACK_MESSAGE);
  assert.equal(second.accepted.get('Ingress/default/a'), v1, 'v1 stays the last accepted');

  const v3 = ingress('a', { rules: [rule('a.example.com', path('/v3'))] });
  const third = run([v3, service('web')], { lastAccepted: second.accepted });
  assert.deepEqual(third.diagnostics, []);
  assert.equal(third.model.routes[0]!.path, '/v3');
  assert.equal(third.accepted.get('Ingress/default/a'), v3);
});

test('without lastAccepted, a rejected Ingress contributes nothing', () => {
  const v2 = ingress('a', { rules: [rule('a.example.com', path('/v2', 'web', 80, 'Regex'))] });
  const r = run([v2, service('web')]);
  assert.deepEqual(r.model.routes, []);
  assert.deepEqual(warnings(r, 'a'), []);
  assert.equal(r.accepted.size, 0);
});

test('the last version is only used if it is accepted now', () => {
  const v1 = simpleIngress('a', 'a.example.com', { annotations: { 'gatehouse.io/backend-protocol': 'HTTPS', 'gatehouse.io/backend-tls-verify': 'true', 'gatehouse.io/backend-ca-secret': 'gone' } });
  const v2 = ingress('a', { rules: [rule('a.example.com', path('/v2', 'web', 80, 'Regex'))] });
  const r = run([v2, service('web')], { lastAccepted: new Map([['Ingress/default/a', v1]]) });
  assert.deepEqual(r.model.routes, []);
  assert.ok(!warnings(r, 'a').some((d) => d.message === FALLBACK_MESSAGE));
  assert.equal(r.accepted.size, 0);
});

test('a deleted Ingress is not brought back from lastAccepted', () => {
  const v1 = simpleIngress('a');
  const r = run([service('web')], { lastAccepted: new Map([['Ingress/default/a', v1]]) });
  assert.deepEqual(r.model.routes, []);
  assert.equal(r.accepted.size, 0);
});

test('a last version stored under another key is not used', () => {
  const other = simpleIngress('b', 'b.example.com');
  const v2 = ingress('a', { rules: [rule('a.example.com', path('/v2', 'web', 80, 'Regex'))] });
  const r = run([v2, service('web')], { lastAccepted: new Map([['Ingress/default/a', other]]) });
  assert.deepEqual(r.model.routes, []);
});

test('an Ingress that is no longer ours is not kept alive by lastAccepted', () => {
  const v1 = simpleIngress('a');
  const v2 = { ...ingress('a', { rules: [rule('a.example.com', path('/'))] }), raw: { spec: { ingressClassName: 'nginx', rules: 'x' } } };
  const r = run([v2, service('web')], { lastAccepted: new Map([['Ingress/default/a', v1]]) });
  assert.deepEqual(r.model.routes, []);
  assert.deepEqual(r.diagnostics, []);
});

test('a bad new Secret version: the last accepted one is used, its Ingress stays served', () => {
  const ing = ingress('a', { rules: [rule('a.example.com', path('/'))], tls: [{ hosts: ['a.example.com'], secretName: 's' }] });
  const s1 = tlsSecret('s', A);
  const first = run([ing, s1, service('web')], { now });
  assert.equal(first.accepted.get('Secret/default/s'), s1);

  const s2 = tlsSecret('s', { cert: A2.cert, key: OTHER.key });
  const second = run([ing, s2, service('web')], { now, lastAccepted: first.accepted });
  only(errors(second, 's'), 'data["tls.key"]');
  assert.equal(only(warnings(second, 's'), '').message, FALLBACK_MESSAGE);
  assert.deepEqual(errors(second, 'a'), [], 'the Ingress is not rejected');
  assert.deepEqual(second.model, first.model);
  assert.equal(second.accepted.get('Secret/default/s'), s1);

  const s3 = tlsSecret('s', A2);
  const third = run([ing, s3, service('web')], { now, lastAccepted: second.accepted });
  assert.deepEqual(third.diagnostics, []);
  assert.notEqual(third.model.certificates[0]!.pem, first.model.certificates[0]!.pem, 'the rotated certificate is served');
  assert.equal(third.accepted.get('Secret/default/s'), s3);
});

test('a last Secret version that has expired since is not used', () => {
  const ing = ingress('a', { rules: [rule('a.example.com', path('/'))], tls: [{ hosts: ['a.example.com'], secretName: 's' }] });
  const s1 = tlsSecret('s', A);
  const s2 = tlsSecret('s', { cert: A.cert, key: OTHER.key });
  const later = new Date(now.getTime() + 400 * 86_400_000);
  const r = run([ing, s2, service('web')], { now: later, lastAccepted: new Map([['Secret/default/s', s1]]) });
  assert.deepEqual(r.model.routes, []);
  only(errors(r, 'a'), 'spec.tls[0].secretName');
});
