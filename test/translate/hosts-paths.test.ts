import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backend, errors, ingress, only, path, routeKeys, rule, run, service } from './helpers.js';
import { parseHost, hostCovers } from '../../src/translate/hosts.js';
import { parsePath } from '../../src/translate/paths.js';

test('hosts: lowercased, DNS names and *. wildcards', () => {
  assert.deepEqual(parseHost('WWW.Example.COM'), { ok: true, value: 'www.example.com' });
  assert.deepEqual(parseHost('*.example.com'), { ok: true, value: '*.example.com' });
  assert.deepEqual(parseHost('localhost'), { ok: true, value: 'localhost' });
  for (const bad of ['*', '*.', 'a.*.com', '*example.com', 'a*.example.com', '**.example.com', 'example.com:80', '1.2.3.4', '1.2.3.4:80', '[::1]', '::1', 'a b.com', 'a_b.com', '-a.com', 'a-.com', 'a..com', '.a.com', 'a.com.', 'http://a.com', 'a.com/x', `${'a'.repeat(64)}.com`, 'é.com', '']) {
    const r = parseHost(bad);
    assert.equal(r.ok, false, bad);
  }
  assert.equal(parseHost(7).ok, false);
});

test('wildcard coverage is one label deep', () => {
  assert.ok(hostCovers('*.example.com', 'a.example.com'));
  assert.ok(!hostCovers('*.example.com', 'a.b.example.com'));
  assert.ok(!hostCovers('*.example.com', 'example.com'));
  assert.ok(hostCovers('a.example.com', 'a.example.com'));
  assert.ok(!hostCovers('*.example.com', '*'));
});

test('an invalid host rejects the Ingress with an error naming the field and the fix', () => {
  const r = run([ingress('bad', { rules: [rule('ok.example.com', path('/')), rule('a.*.example.com', path('/'))] }), service('web')]);
  const d = only(errors(r, 'bad'), 'spec.rules[1].host');
  assert.match(d.message, /"a\.\*\.example\.com" has "\*" somewhere other than a leading "\*\."/);
  assert.match(d.message, /write a DNS name/);
  assert.deepEqual(r.model.routes, [], 'nothing of a rejected Ingress is served, not even its valid rules');
  assert.equal(r.accepted.size, 0);
});

test('a rule without host (or with an empty one) routes every host: *', () => {
  const r = run([ingress('a', { rules: [rule(undefined, path('/x')), rule('', path('/y')), rule('Upper.Example.com', path('/z'))] }), service('web')]);
  assert.deepEqual(routeKeys(r), ['* Prefix /x -> default_a_web_80', '* Prefix /y -> default_a_web_80', 'upper.example.com Prefix /z -> default_a_web_80']);
});

test('paths: Prefix and ImplementationSpecific lose trailing slashes; Exact is kept as written', () => {
  assert.deepEqual(parsePath('/foo/', 'Prefix'), { ok: true, value: { path: '/foo', pathType: 'Prefix' } });
  assert.deepEqual(parsePath('/', 'Prefix'), { ok: true, value: { path: '/', pathType: 'Prefix' } });
  assert.deepEqual(parsePath('//', 'Prefix'), { ok: true, value: { path: '/', pathType: 'Prefix' } });
  assert.deepEqual(parsePath('/a//', 'ImplementationSpecific'), { ok: true, value: { path: '/a', pathType: 'Prefix' } });
  assert.deepEqual(parsePath(undefined, 'Prefix'), { ok: true, value: { path: '/', pathType: 'Prefix' } });
  assert.deepEqual(parsePath(undefined, 'ImplementationSpecific'), { ok: true, value: { path: '/', pathType: 'Prefix' } });
  assert.deepEqual(parsePath('/foo/', 'Exact'), { ok: true, value: { path: '/foo/', pathType: 'Exact' } });
  assert.deepEqual(parsePath("/a-._~!$&'()*+,;=:@%2Fb", 'Exact'), { ok: true, value: { path: "/a-._~!$&'()*+,;=:@%2Fb", pathType: 'Exact' } });
  assert.equal(parsePath(undefined, 'Exact').ok, false);
});

test('paths: invalid characters, relative paths, bad escapes and long paths are rejected', () => {
  for (const bad of ['foo', ' /a', '/a b', '/a\nb', '/a"b', '/a#b', '/a?b', '/a%', '/a%2', '/a%zz', '/a[b]', '/é', '/a\\b', '/a{b}', '/a|b', '/a^b', '/a`b']) {
    assert.equal(parsePath(bad, 'Prefix').ok, false, JSON.stringify(bad));
  }
  assert.equal(parsePath('/' + 'a'.repeat(1023), 'Exact').ok, true);
  assert.match((parsePath('/' + 'a'.repeat(1024), 'Exact') as { error: string }).error, /at most 1024/);
  assert.equal(parsePath(5, 'Prefix').ok, false);
});

test('pathType is required and must be a known type', () => {
  const r = run([
    ingress('a', { rules: [rule('a.example.com', path('/x', 'web', 80, 'Regex'))] }),
    ingress('b', { rules: [rule('b.example.com', { path: '/x', backend: backend('web') })] }),
    service('web'),
  ]);
  assert.equal(only(errors(r, 'a'), 'spec.rules[0].http.paths[0].pathType').message, 'pathType "Regex" is not supported: use Exact, Prefix or ImplementationSpecific');
  assert.match(only(errors(r, 'b'), 'spec.rules[0].http.paths[0].pathType').message, /pathType is required/);
  assert.deepEqual(r.model.routes, []);
});

test('path errors are reported with their full field path', () => {
  const r = run([ingress('a', { rules: [rule('a.example.com', path('/ok'), path('/not ok'))] }), service('web')]);
  assert.match(only(errors(r, 'a'), 'spec.rules[0].http.paths[1].path').message, /write a space as %20/);
});

test('Exact and Prefix of the same path are different routes', () => {
  const r = run([ingress('a', { rules: [rule('a.example.com', path('/x', 'web', 80, 'Exact'), path('/x/', 'web', 80, 'Prefix'))] }), service('web')]);
  assert.deepEqual(routeKeys(r), ['a.example.com Exact /x -> default_a_web_80', 'a.example.com Prefix /x -> default_a_web_80']);
});
