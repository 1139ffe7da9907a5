import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  backend,
  configMap,
  ingress,
  ingressClass,
  makeCert,
  rng,
  path,
  rule,
  run,
  service,
  slice,
  tlsSecret,
} from './helpers.js';
import type { StoredObject } from '../../src/store/objects.js';

function shuffle<T>(list: readonly T[], r: () => number): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const now = new Date();
const A = makeCert('a.example.com', ['a.example.com', '*.w.example.com']);
const B = makeCert('b.example.com', ['b.example.com', 'a.example.com']);

function world(): StoredObject[] {
  return [
    configMap({ 'server-timeout': '30s', 'load-balance': 'leastconn', 'bogus-key': 'x', 'client-timeout': 'nope' }),
    ingressClass('gh', 'gatehouse.io/ingress-controller', true),
    ingress('shop', { defaultBackend: backend('fallback'), rules: [rule('a.example.com', path('/'), path('/api', 'api', 'http')), rule('x.w.example.com', path('/x', 'web', 80, 'Exact'))], tls: [{ hosts: ['a.example.com', '*.w.example.com'], secretName: 'a-tls' }] }, { creationTimestamp: '2024-01-02T00:00:00Z' }),
    ingress('rival', { rules: [rule('a.example.com', path('/api/', 'api', 'http')), rule('b.example.com', path('/'))], tls: [{ hosts: ['a.example.com', 'b.example.com'], secretName: 'b-tls' }] }, { creationTimestamp: '2024-01-02T00:00:00Z' }),
    ingress('young', { rules: [rule('a.example.com', path('/'))] }),
    ingress('broken', { rules: [rule('c.example.com', path('nope'))] }),
    ingress('missing', { rules: [rule('d.example.com', path('/', 'ghost'))], tls: [{ hosts: ['d.example.com'], secretName: 'ghost-tls' }] }, { annotations: { 'gatehouse.io/rate-limit-rps': '10', 'gatehouse.io/typo': 'x' } }),
    { ...ingress('legacy', { rules: [rule('e.example.com', path('/'))] }), raw: { spec: { rules: [rule('e.example.com', path('/'))] } } },
    ingress('prod-a', { rules: [rule('a.example.com', path('/prod'))] }, { namespace: 'prod' }),
    tlsSecret('a-tls', A),
    tlsSecret('b-tls', B),
    service('web'),
    service('fallback'),
    service('api', [{ name: 'http', port: 8080 }]),
    slice('web-1', 'web', [{ addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.1'] }, { addresses: ['bad'] }]),
    slice('web-2', 'web', [{ addresses: ['10.0.0.1'] }, { addresses: ['fd00::1'] }]),
    slice('api-1', 'api', [{ addresses: ['10.1.0.1'], conditions: { ready: false, serving: true, terminating: true } }], [{ name: 'http', port: 9000 }]),
    slice('api-f', 'api', [{ addresses: ['api.example.com'] }], [{ name: 'http', port: 9000 }], 'FQDN'),
  ];
}

test('the same objects in any order give a deep-equal result', () => {
  const objects = world();
  const base = run(objects, { now });
  assert.ok(base.model.routes.length >= 8, 'the world is not trivially empty');
  assert.ok(base.diagnostics.length >= 6);
  assert.ok(base.model.certificates.length === 2);
  const r = rng(12345);
  for (let i = 0; i < 25; i++) {
    const again = run(shuffle(objects, r), { now });
    assert.deepEqual(again, base, `shuffle ${i}`);
    assert.deepEqual([...again.accepted.keys()], [...base.accepted.keys()], 'accepted in key order');
  }
});

test('the result is sorted as the model says', () => {
  const m = run(world(), { now }).model;
  const sorted = <T>(list: T[], key: (x: T) => string) => list.map(key).every((k, i, all) => i === 0 || all[i - 1]! <= k);
  assert.ok(sorted(m.backends, (b) => b.name));
  assert.ok(sorted(m.certificates, (c) => c.name));
  assert.ok(sorted(m.routes, (x) => `${x.host}\u0000${x.pathType}\u0000${x.path}`));
  for (const b of m.backends) assert.ok(sorted(b.endpoints, (e) => `${e.address}\u0000${String(e.port).padStart(5, '0')}`));
  for (const c of m.certificates) assert.ok(sorted(c.hosts, (h) => h));
  const backendNames = new Set(m.backends.map((b) => b.name));
  for (const x of m.routes) assert.ok(backendNames.has(x.backend), `route to ${x.backend} has its backend`);
});

test('diagnostics are sorted by kind, namespace, name, field', () => {
  const d = run(world(), { now }).diagnostics;
  const keys = d.map((x) => [x.object.kind, x.object.namespace, x.object.name, x.field]);
  for (let i = 1; i < keys.length; i++) {
    const a = keys[i - 1]!.join('\u0000');
    const b = keys[i]!.join('\u0000');
    assert.ok(a <= b, `${a} before ${b}`);
  }
});

test('translate does not change its input', () => {
  const objects = world();
  const copy = structuredClone(objects);
  run(objects, { now });
  assert.deepEqual(objects, copy);
});
