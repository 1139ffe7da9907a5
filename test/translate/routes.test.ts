import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  backend,
  errors,
  ingress,
  only,
  path,
  rawIngress,
  routeKeys,
  rule,
  run,
  service,
  simpleIngress,
  warnings,
} from './helpers.js';

test('a simple Ingress becomes one route and one backend named ns_ingress_service_port', () => {
  const r = run([simpleIngress('shop', 'shop.example.com', { namespace: 'prod' }), service('web', [{ port: 80 }], { namespace: 'prod' })]);
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.model.routes.length, 1);
  const route = r.model.routes[0]!;
  assert.deepEqual(
    { host: route.host, path: route.path, pathType: route.pathType, backend: route.backend, redirect: route.redirectToHttps },
    { host: 'shop.example.com', path: '/', pathType: 'Prefix', backend: 'prod_shop_web_80', redirect: false },
  );
  assert.deepEqual(route.source, { kind: 'Ingress', namespace: 'prod', name: 'shop' });
  assert.equal(r.model.backends.length, 1);
  assert.deepEqual(r.model.backends[0]!.service, { namespace: 'prod', name: 'web', port: '80' });
  assert.deepEqual([...r.accepted.keys()], ['Ingress/prod/shop']);
});

test('one backend per (Ingress, service, port as written): named ports and numbers are distinct', () => {
  const r = run([
    ingress('a', { rules: [rule('a.example.com', path('/1', 'web', 80), path('/2', 'web', 80), path('/3', 'web', 'http'), path('/4', 'api', 8080))] }),
    simpleIngress('b', 'b.example.com'),
    service('web', [{ name: 'http', port: 80 }]),
    service('api', [{ port: 8080 }]),
  ]);
  assert.deepEqual(
    r.model.backends.map((b) => b.name),
    ['default_a_api_8080', 'default_a_web_80', 'default_a_web_http', 'default_b_web_80'],
  );
});

test('backend reference errors: resource, missing service, bad names and ports', () => {
  const cases: [unknown, string, RegExp][] = [
    [{ resource: { kind: 'Bucket', name: 'x' } }, '.resource', /resource backends are not supported/],
    [{}, '.service', /service is required/],
    [{ service: { port: { number: 80 } } }, '.service.name', /service.name is required/],
    [{ service: { name: 'Web', port: { number: 80 } } }, '.service.name', /not a valid Service name/],
    [{ service: { name: '1web', port: { number: 80 } } }, '.service.name', /starting with a letter/],
    [{ service: { name: 'web' } }, '.service.port', /service.port is required/],
    [{ service: { name: 'web', port: {} } }, '.service.port', /needs number or name/],
    [{ service: { name: 'web', port: { number: 0 } } }, '.service.port.number', /1 to 65535/],
    [{ service: { name: 'web', port: { number: 65536 } } }, '.service.port.number', /1 to 65535/],
    [{ service: { name: 'web', port: { number: '80' } } }, '.service.port.number', /1 to 65535/],
    [{ service: { name: 'web', port: { number: 80.5 } } }, '.service.port.number', /1 to 65535/],
    [{ service: { name: 'web', port: { name: 'HTTP' } } }, '.service.port.name', /not a valid port name/],
    [{ service: { name: 'web', port: { name: 'a_b' } } }, '.service.port.name', /not a valid port name/],
    [{ service: { name: 'web', port: { number: 80, name: 'http' } } }, '.service.port', /keep only one/],
    ['web:80', '', /must be a mapping/],
  ];
  for (const [b, suffix, re] of cases) {
    const r = run([ingress('a', { rules: [rule('a.example.com', { path: '/', pathType: 'Prefix', backend: b })] }), service('web')]);
    const d = only(errors(r, 'a'), `spec.rules[0].http.paths[0].backend${suffix}`);
    assert.match(d.message, re, JSON.stringify(b));
    assert.deepEqual(r.model.routes, [], JSON.stringify(b));
  }
});

test('structural errors in spec are named by field', () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ spec: 'x' }, 'spec', /spec must be a mapping/],
    [{ spec: { ingressClassName: 'gatehouse' } }, 'spec', /no rules and no defaultBackend/],
    [{ spec: { ingressClassName: 'gatehouse', rules: {} } }, 'spec.rules', /must be a list/],
    [{ spec: { ingressClassName: 'gatehouse', rules: ['x'] } }, 'spec.rules[0]', /must be a mapping/],
    [{ spec: { ingressClassName: 'gatehouse', rules: [{ host: 'a.com', http: [] }] } }, 'spec.rules[0].http', /must be a mapping/],
    [{ spec: { ingressClassName: 'gatehouse', rules: [{ host: 'a.com', http: {} }] } }, 'spec.rules[0].http.paths', /required/],
    [{ spec: { ingressClassName: 'gatehouse', rules: [{ host: 'a.com', http: { paths: [] } }] } }, 'spec.rules[0].http.paths', /non-empty/],
    [{ spec: { ingressClassName: 'gatehouse', rules: [{ host: 'a.com', http: { paths: [7] } }] } }, 'spec.rules[0].http.paths[0]', /must be a mapping/],
    [{ spec: { ingressClassName: 'gatehouse', rules: [{ host: 5 }] } }, 'spec.rules[0].host', /must be a string/],
    [{ spec: { ingressClassName: 'gatehouse', defaultBackend: backend('web'), tls: 'x' } }, 'spec.tls', /must be a list/],
    [{ spec: { ingressClassName: 'gatehouse', defaultBackend: backend('web'), tls: [{ hosts: 'a.com' }] } }, 'spec.tls[0].hosts', /must be a list/],
  ];
  for (const [raw, field, re] of cases) {
    // The legacy annotation makes the Ingress ours even when spec cannot be read.
    const r = run([rawIngress('a', raw, { annotations: { 'kubernetes.io/ingress.class': 'gatehouse' } }), service('web')]);
    assert.match(only(errors(r, 'a'), field).message, re, JSON.stringify(raw));
    assert.deepEqual(r.model.routes, []);
  }
});

test('a bad Ingress is rejected alone: the others are untouched', () => {
  const good = simpleIngress('good', 'good.example.com');
  const alone = run([good, service('web')]);
  const withBad = run([good, ingress('bad', { rules: [rule('bad.example.com', path('/x', 'web', 80, 'Regex'))] }), service('web')]);
  assert.deepEqual(withBad.model, alone.model);
  assert.equal(errors(withBad, 'bad').length, 1);
  assert.deepEqual(errors(withBad, 'good'), []);
  assert.deepEqual([...withBad.accepted.keys()], ['Ingress/default/good']);
});

test('conflict: the oldest Ingress wins; the loser keeps its other routes and gets a warning naming the winner', () => {
  const old = ingress('old', { rules: [rule('a.example.com', path('/x', 'old-svc'))] }, { creationTimestamp: '2024-01-01T00:00:00Z' });
  const young = ingress('young', { rules: [rule('a.example.com', path('/x', 'new-svc'), path('/y', 'new-svc'))] }, { creationTimestamp: '2024-02-01T00:00:00Z' });
  const r = run([young, old, service('old-svc'), service('new-svc')]);
  assert.deepEqual(routeKeys(r), ['a.example.com Prefix /x -> default_old_old-svc_80', 'a.example.com Prefix /y -> default_young_new-svc_80']);
  const w = only(warnings(r, 'young'), 'spec.rules[0].http.paths[0]');
  assert.match(w.message, /Prefix path \/x on a\.example\.com is also defined by Ingress default\/old, which is older and wins/);
  assert.deepEqual(warnings(r, 'old'), []);
  assert.equal(r.accepted.size, 2, 'the loser is still accepted');
});

test('conflict: a missing timestamp counts as newest', () => {
  const stamped = ingress('zzz', { rules: [rule('a.example.com', path('/', 'one'))] }, { creationTimestamp: '2030-01-01T00:00:00Z' });
  const unstamped = ingress('aaa', { rules: [rule('a.example.com', path('/', 'two'))] });
  const r = run([unstamped, stamped, service('one'), service('two')]);
  assert.deepEqual(routeKeys(r), ['a.example.com Prefix / -> default_zzz_one_80']);
  assert.equal(warnings(r, 'aaa').length, 1);
});

test('conflict: equal age is settled by namespace, then name', () => {
  const ts = { creationTimestamp: '2024-01-01T00:00:00Z' };
  const mk = (name: string, ns: string) => ingress(name, { rules: [rule('a.example.com', path('/'))] }, { ...ts, namespace: ns });
  const svc = (ns: string) => service('web', [{ port: 80 }], { namespace: ns });
  let r = run([mk('b', 'ns1'), mk('a', 'ns2'), svc('ns1'), svc('ns2')]);
  assert.deepEqual(routeKeys(r), ['a.example.com Prefix / -> ns1_b_web_80']);
  assert.match(only(warnings(r, 'a'), 'spec.rules[0].http.paths[0]').message, /comes first by namespace and name/);
  r = run([mk('b', 'ns1'), mk('a', 'ns1'), svc('ns1')]);
  assert.deepEqual(routeKeys(r), ['a.example.com Prefix / -> ns1_a_web_80']);
  // Without timestamps at all, the same order applies.
  r = run([ingress('b', { rules: [rule('a.example.com', path('/'))] }), ingress('a', { rules: [rule('a.example.com', path('/'))] }), service('web')]);
  assert.deepEqual(routeKeys(r), ['a.example.com Prefix / -> default_a_web_80']);
});

test('conflict: fractional-second timestamps are compared; an unreadable timestamp is newest, with a warning', () => {
  const a = ingress('a', { rules: [rule('h.example.com', path('/', 'one'))] }, { creationTimestamp: '2024-01-01T00:00:00.500Z' });
  const b = ingress('b', { rules: [rule('h.example.com', path('/', 'two'))] }, { creationTimestamp: '2024-01-01T00:00:00.100Z' });
  const c = ingress('c', { rules: [rule('h.example.com', path('/', 'three'))] }, { creationTimestamp: 'yesterday' });
  const r = run([a, b, c, service('one'), service('two'), service('three')]);
  assert.deepEqual(routeKeys(r), ['h.example.com Prefix / -> default_b_two_80']);
  assert.match(only(warnings(r, 'c'), 'metadata.creationTimestamp').message, /not an RFC 3339 time/);
});

test('conflict inside one Ingress: the first wins, with a warning on the later one', () => {
  const r = run([
    ingress('a', {
      rules: [rule('a.example.com', path('/x', 'one'), path('/x/', 'two', 80, 'ImplementationSpecific')), rule('A.example.com', path('/x', 'three'))],
    }),
    service('one'),
    service('two'),
    service('three'),
  ]);
  assert.deepEqual(routeKeys(r), ['a.example.com Prefix /x -> default_a_one_80']);
  const ws = warnings(r, 'a');
  assert.match(only(ws, 'spec.rules[0].http.paths[1]').message, /already routed by spec\.rules\[0\]\.http\.paths\[0\] of this Ingress/);
  assert.equal(only(ws, 'spec.rules[1].http.paths[0]').severity, 'warning');
  assert.deepEqual(r.model.backends.map((b) => b.name), ['default_a_one_80'], 'backends used by no route are left out');
});

test('defaultBackend: a Default route for every host the Ingress has rules for', () => {
  const r = run([
    ingress('a', { defaultBackend: backend('fallback'), rules: [rule('a.example.com', path('/x')), rule('b.example.com', path('/y')), rule('a.example.com', path('/z'))] }),
    service('web'),
    service('fallback'),
  ]);
  assert.deepEqual(routeKeys(r), [
    'a.example.com Default  -> default_a_fallback_80',
    'a.example.com Prefix /x -> default_a_web_80',
    'a.example.com Prefix /z -> default_a_web_80',
    'b.example.com Default  -> default_a_fallback_80',
    'b.example.com Prefix /y -> default_a_web_80',
  ]);
});

test('defaultBackend: a host-only rule (no http) counts as a host; no rules at all means host *', () => {
  let r = run([ingress('a', { defaultBackend: backend('web'), rules: [{ host: 'only.example.com' }] }), service('web')]);
  assert.deepEqual(routeKeys(r), ['only.example.com Default  -> default_a_web_80']);
  r = run([ingress('a', { defaultBackend: backend('web') }), service('web')]);
  assert.deepEqual(routeKeys(r), ['* Default  -> default_a_web_80']);
  r = run([ingress('a', { defaultBackend: backend('web'), rules: [] }), service('web')]);
  assert.deepEqual(routeKeys(r), ['* Default  -> default_a_web_80']);
});

test('defaultBackend conflicts per host: the oldest wins, the loser keeps its other hosts', () => {
  const old = ingress('old', { defaultBackend: backend('one'), rules: [rule('a.example.com', path('/o'))] }, { creationTimestamp: '2020-01-01T00:00:00Z' });
  const young = ingress('young', { defaultBackend: backend('two'), rules: [rule('a.example.com', path('/p')), rule('b.example.com', path('/q'))] }, { creationTimestamp: '2021-01-01T00:00:00Z' });
  const r = run([young, old, service('one'), service('two'), service('web')]);
  const defaults = r.model.routes.filter((x) => x.pathType === 'Default').map((x) => `${x.host} ${x.backend}`);
  assert.deepEqual(defaults, ['a.example.com default_old_one_80', 'b.example.com default_young_two_80']);
  assert.match(only(warnings(r, 'young'), 'spec.defaultBackend').message, /the default backend of a\.example\.com is also defined by Ingress default\/old/);
});

test('defaultBackend errors reject the Ingress', () => {
  const r = run([ingress('a', { defaultBackend: { resource: { kind: 'X', name: 'y' } }, rules: [rule('a.example.com', path('/'))] }), service('web')]);
  assert.match(only(errors(r, 'a'), 'spec.defaultBackend.resource').message, /not supported/);
  assert.deepEqual(r.model.routes, []);
});

test('routes are sorted by host, pathType, path', () => {
  const r = run([
    ingress('a', { rules: [rule('b.example.com', path('/z'), path('/a', 'web', 80, 'Exact')), rule('a.example.com', path('/m')), rule(undefined, path('/'))] }),
    service('web'),
  ]);
  assert.deepEqual(r.model.routes.map((x) => `${x.host} ${x.pathType} ${x.path}`), ['* Prefix /', 'a.example.com Prefix /m', 'b.example.com Exact /a', 'b.example.com Prefix /z']);
});
