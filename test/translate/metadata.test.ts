import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configMap, errors, ingress, only, path, rule, run, service, simpleIngress, tlsSecret, makeCert, warnings } from './helpers.js';

test('Ingress names must be Kubernetes names: they go into HAProxy identifiers', () => {
  for (const [ns, name, field] of [
    ['default', 'a_b', 'metadata.name'],
    ['default', 'A', 'metadata.name'],
    ['default', 'a b', 'metadata.name'],
    ['default', 'a;b', 'metadata.name'],
    ['default', '', 'metadata.name'],
    ['default', 'a'.repeat(254), 'metadata.name'],
    ['my.ns', 'a', 'metadata.namespace'],
    ['NS', 'a', 'metadata.namespace'],
    ['', 'a', 'metadata.namespace'],
    ['a\nb', 'a', 'metadata.namespace'],
  ] as const) {
    const r = run([simpleIngress(name, 'a.example.com', { namespace: ns }), service('web', [{ port: 80 }], { namespace: ns })]);
    assert.equal(only(errors(r), field).severity, 'error', `${ns}/${name}`);
    assert.deepEqual(r.model.routes, []);
    assert.deepEqual(r.model.backends, []);
  }
  const r = run([simpleIngress('a.b-c', 'a.example.com', { namespace: 'x-1' }), service('web', [{ port: 80 }], { namespace: 'x-1' })]);
  assert.deepEqual(errors(r), []);
  assert.equal(r.model.backends[0]!.name, 'x-1_a.b-c_web_80');
});

test('Secret names in tls must be Kubernetes names', () => {
  const r = run([simpleIngress('a', 'a.example.com', {}, { tls: [{ hosts: ['a.example.com'], secretName: '../etc/passwd' }] }), service('web')]);
  assert.match(only(errors(r, 'a'), 'spec.tls[0].secretName').message, /not a valid Secret name/);
});

test('ConfigMap with an invalid name is ignored with an error; the right one is found in any namespace', () => {
  const good = configMap({ 'ssl-redirect': 'false' }, 'gatehouse', 'ops');
  const r = run([good, simpleIngress('a'), service('web')]);
  assert.equal(r.model.routes.length, 1);
  const pinned = run([good, simpleIngress('a'), service('web')], { configMap: { namespace: 'elsewhere', name: 'gatehouse' } });
  assert.deepEqual(pinned.diagnostics, []);
  const bad = run([configMap({ 'client-timeout': '5s' }, 'gatehouse', 'Bad_NS')]);
  assert.equal(only(errors(bad), 'metadata.namespace').object.kind, 'ConfigMap');
  assert.equal(bad.model.settings.clientTimeoutMs, 60_000);
});

test('two ConfigMaps of the configured name: the first by namespace is used, the other is warned about', () => {
  const r = run([configMap({ 'client-timeout': '9s' }, 'gatehouse', 'zeta'), configMap({ 'client-timeout': '7s' }, 'gatehouse', 'alpha')]);
  assert.equal(r.model.settings.clientTimeoutMs, 7000);
  const w = only(warnings(r), 'metadata.namespace');
  assert.equal(w.object.namespace, 'zeta');
});

test('the same object twice: one is used deterministically, the other gets a warning', () => {
  const a = simpleIngress('a', 'one.example.com');
  const b = { ...simpleIngress('a', 'two.example.com'), origin: { file: 'z.yaml', line: 1 } };
  const a1 = { ...a, origin: { file: 'a.yaml', line: 3 } };
  const r1 = run([a1, b, service('web')]);
  const r2 = run([b, a1, service('web')]);
  assert.deepEqual(r1, r2);
  assert.equal(r1.model.routes[0]!.host, 'one.example.com');
  assert.match(only(warnings(r1), 'metadata.name').message, /defined more than once; the one from a\.yaml:3 is used/);
});

test('objects whose envelope is broken are skipped without throwing', () => {
  const broken = [
    null,
    42,
    { kind: 'Ingress' },
    { kind: 'Pod', namespace: 'a', name: 'b', raw: {} },
    { kind: 'Ingress', namespace: 'default', name: 'x', raw: 'nope', annotations: {}, labels: {} },
    { kind: 'Ingress', namespace: 7, name: 'x', raw: {}, annotations: {}, labels: {} },
  ] as unknown as Parameters<typeof run>[0];
  const r = run([...broken, simpleIngress('ok'), service('web')]);
  assert.equal(r.model.routes.length, 1);
});

test('non-string annotations and labels do not throw', () => {
  const ing = ingress('a', { rules: [rule('a.example.com', path('/'))] }, { annotations: { 'gatehouse.io/hsts': true as unknown as string, other: 5 as unknown as string } });
  const r = run([ing, service('web')]);
  assert.match(only(errors(r, 'a'), 'metadata.annotations["gatehouse.io/hsts"]').message, /must be a string/);
  const weird = { ...simpleIngress('b'), annotations: null, labels: 'x' } as unknown as Parameters<typeof run>[0][number];
  assert.doesNotThrow(() => run([weird, service('web'), tlsSecret('s', makeCert('a.example.com'))]));
});
