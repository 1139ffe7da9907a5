import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ingress, only, path, rule, run, service, simpleIngress, slice, warnings, type Ep } from './helpers.js';
import { conditionsOf } from '../../src/translate/endpoints.js';

const eps = (r: ReturnType<typeof run>) => r.model.backends[0]!.endpoints.map((e) => `${e.address}:${e.port}:${e.state}`);
const ep = (address: string, conditions?: Record<string, unknown>): Ep => (conditions ? { addresses: [address], conditions } : { addresses: [address] });

test('condition defaults: ready nil = true, serving nil = ready, terminating nil = false', () => {
  assert.deepEqual(conditionsOf(undefined), { ready: true, serving: true, terminating: false });
  assert.deepEqual(conditionsOf({}), { ready: true, serving: true, terminating: false });
  assert.deepEqual(conditionsOf({ ready: false }), { ready: false, serving: false, terminating: false });
  assert.deepEqual(conditionsOf({ ready: false, terminating: true }), { ready: false, serving: false, terminating: true });
  assert.deepEqual(conditionsOf({ ready: false, serving: true, terminating: true }), { ready: false, serving: true, terminating: true });
  assert.deepEqual(conditionsOf({ ready: 'yes' }), { ready: true, serving: true, terminating: false }, 'non-booleans count as unset');
});

test('ready endpoints are used; not-ready ones are not', () => {
  const r = run([
    simpleIngress('a'),
    service('web'),
    slice('web-1', 'web', [ep('10.0.0.2'), ep('10.0.0.1', { ready: true }), ep('10.0.0.3', { ready: false }), ep('10.0.0.4', { ready: false, serving: true, terminating: true })]),
  ]);
  assert.deepEqual(eps(r), ['10.0.0.1:8080:ready', '10.0.0.2:8080:ready']);
  assert.equal(r.model.backends[0]!.problem, undefined);
});

test('no ready endpoints: serving and terminating ones are used, marked terminating', () => {
  const r = run([
    simpleIngress('a'),
    service('web'),
    slice('web-1', 'web', [
      ep('10.0.0.3', { ready: false }),
      ep('10.0.0.4', { ready: false, serving: true, terminating: true }),
      ep('10.0.0.5', { ready: false, serving: false, terminating: true }),
      ep('10.0.0.6', { ready: false, terminating: true }),
      ep('10.0.0.7', { ready: false, serving: true }),
    ]),
  ]);
  assert.deepEqual(eps(r), ['10.0.0.4:8080:terminating']);
});

test('endpoints from several slices are merged, deduplicated by address:port and sorted', () => {
  const r = run([
    simpleIngress('a'),
    service('web'),
    slice('web-b', 'web', [ep('10.0.0.9'), ep('10.0.0.1')]),
    slice('web-a', 'web', [ep('10.0.0.1'), ep('10.0.0.10')]),
    slice('web-v6', 'web', [ep('2001:DB8:0::1'), ep('2001:db8::1')], [{ port: 8080 }], 'IPv6'),
    slice('other', 'other', [ep('10.9.9.9')]),
    slice('web-other-ns', 'web', [ep('10.8.8.8')], [{ port: 8080 }], 'IPv4', { namespace: 'elsewhere' }),
  ]);
  assert.deepEqual(eps(r), ['10.0.0.1:8080:ready', '10.0.0.10:8080:ready', '10.0.0.9:8080:ready', '2001:db8::1:8080:ready']);
});

test('only the first address of an endpoint is used; bad addresses are ignored with a warning on the slice', () => {
  const r = run([
    simpleIngress('a'),
    service('web'),
    slice('web-1', 'web', [
      { addresses: ['10.0.0.1', '10.0.0.2'] },
      { addresses: ['010.0.0.3'] },
      { addresses: ['::1'] },
      { addresses: ['10.0.0.4 ; evil'] },
      { addresses: [] },
      { addresses: 'x' as unknown as unknown[] },
    ]),
  ]);
  assert.deepEqual(eps(r), ['10.0.0.1:8080:ready']);
  const ws = warnings(r, 'web-1');
  assert.match(only(ws, 'endpoints[1].addresses[0]').message, /not an IPv4 address/);
  assert.match(only(ws, 'endpoints[2].addresses[0]').message, /not an IPv4 address/);
  assert.equal(only(ws, 'endpoints[4].addresses').severity, 'warning');
});

test('FQDN slices are ignored with a warning', () => {
  const r = run([simpleIngress('a'), service('web'), slice('web-f', 'web', [ep('db.example.com')], [{ port: 8080 }], 'FQDN'), slice('web-1', 'web', [ep('10.0.0.1')])]);
  assert.deepEqual(eps(r), ['10.0.0.1:8080:ready']);
  assert.match(only(warnings(r, 'web-f'), 'addressType').message, /FQDN EndpointSlices are not supported/);
});

test('the target port comes from the slice port with the Service port name (unset and "" are equal)', () => {
  const r = run([
    ingress('a', { rules: [rule('a.example.com', path('/h', 'web', 80), path('/m', 'web', 'metrics'))] }),
    service('web', [{ name: 'http', port: 80 }, { name: 'metrics', port: 9100 }]),
    slice('web-1', 'web', [ep('10.0.0.1')], [{ name: 'metrics', port: 9101 }, { name: 'http', port: 8080 }]),
  ]);
  const byName = Object.fromEntries(r.model.backends.map((b) => [b.name, b.endpoints.map((e) => e.port)]));
  assert.deepEqual(byName, { default_a_web_80: [8080], default_a_web_metrics: [9101] });

  const unnamed = run([simpleIngress('a'), service('web', [{ port: 80, name: '' }]), slice('web-1', 'web', [ep('10.0.0.1')], [{ port: 8081 }])]);
  assert.deepEqual(eps(unnamed), ['10.0.0.1:8081:ready']);
  const mismatch = run([simpleIngress('a'), service('web', [{ port: 80, name: 'http' }]), slice('web-1', 'web', [ep('10.0.0.1')], [{ port: 8081 }])]);
  assert.deepEqual(eps(mismatch), [], 'a slice without the named port gives nothing');
});

test('missing Service: backend with no endpoints, a problem, and a warning (not an error) on the Ingress', () => {
  const r = run([simpleIngress('a')]);
  assert.equal(r.model.routes.length, 1, 'the route is still served (it answers 503)');
  const b = r.model.backends[0]!;
  assert.deepEqual(b.endpoints, []);
  assert.equal(b.problem, 'Service default/web does not exist');
  const w = only(warnings(r, 'a'), 'spec.rules[0].http.paths[0].backend.service');
  assert.match(w.message, /does not exist: requests to this backend get 503 until it is fixed; create it, or correct the Service name/);
  assert.equal(r.diagnostics.filter((d) => d.severity === 'error').length, 0);
});

test('Service in another namespace does not count', () => {
  const r = run([simpleIngress('a'), service('web', [{ port: 80 }], { namespace: 'other' })]);
  assert.match(r.model.backends[0]!.problem!, /does not exist/);
});

test('missing port (by number and by name) is a problem listing the ports there are', () => {
  let r = run([simpleIngress('a'), service('web', [{ port: 8080, name: 'http' }, { port: 9090 }])]);
  assert.equal(r.model.backends[0]!.problem, 'Service default/web has no port 80 (it has 8080 (http), 9090)');
  r = run([ingress('a', { rules: [rule('a.example.com', path('/', 'web', 'grpc'))] }), service('web', [{ port: 80 }])]);
  assert.match(r.model.backends[0]!.problem!, /has no port named "grpc"/);
  assert.equal(warnings(r, 'a').length, 1);
});

test('ExternalName Services are not supported: problem, no endpoints', () => {
  const r = run([simpleIngress('a'), service('web', [{ port: 80 }], {}, { type: 'ExternalName', externalName: 'db.example.com' }), slice('web-1', 'web', [ep('10.0.0.1')])]);
  assert.deepEqual(r.model.backends[0]!.endpoints, []);
  assert.match(r.model.backends[0]!.problem!, /ExternalName, which is not supported/);
});

test('UDP ports are a problem', () => {
  const r = run([simpleIngress('a'), service('web', [{ port: 80, protocol: 'UDP' }])]);
  assert.match(r.model.backends[0]!.problem!, /is not TCP/);
});

test('a Service with no endpoints is not a problem in the objects', () => {
  const r = run([simpleIngress('a'), service('web')]);
  assert.deepEqual(r.model.backends[0]!.endpoints, []);
  assert.equal(r.model.backends[0]!.problem, undefined);
  assert.deepEqual(r.diagnostics, []);
});
