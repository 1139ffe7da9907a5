import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMaps, parseRouteValue } from '../../src/haproxy/maps.js';
import { model, route } from '../helpers/model.js';

test('Prefix paths become an exact key and a key ending in a slash; Prefix / is one prefix key', () => {
  const maps = buildMaps(model({ routes: [route('a.com', 'Prefix', '/foo', 'b1'), route('a.com', 'Prefix', '/', 'b2')] }));
  assert.deepEqual(maps.exact, [['a.com/foo', '-:b1:P/foo']]);
  assert.deepEqual(maps.prefix, [['a.com/', '-:b2:P/'], ['a.com/foo/', '-:b1:P/foo']]);
  assert.deepEqual(maps.hosts, [['a.com', 'a.com']]);
});

test('an Exact route wins over a Prefix route of the same path', () => {
  const maps = buildMaps(model({ routes: [route('a.com', 'Prefix', '/foo', 'prefix'), route('a.com', 'Exact', '/foo', 'exact')] }));
  assert.deepEqual(maps.exact, [['a.com/foo', '-:exact:E/foo']]);
  assert.deepEqual(maps.prefix, [['a.com/foo/', '-:prefix:P/foo']]);
});

test('the catch-all host * is not a host key; default routes go to the default map; R flags redirects', () => {
  const maps = buildMaps(
    model({ routes: [route('*', 'Exact', '/x', 'b1'), route('*.a.com', 'Default', '', 'b2', true), route('*', 'Default', '', 'b3')] }),
  );
  assert.deepEqual(maps.hosts, [['*.a.com', '*.a.com']]);
  assert.deepEqual(maps.exact, [['*/x', '-:b1:E/x']]);
  assert.deepEqual(maps.default, [['*', '-:b3:D'], ['*.a.com', 'R:b2:D']]);
});

test('a route value names the backend and the rule that matched, for the flow log', () => {
  assert.deepEqual(parseRouteValue('R:ns_web_web_80:P/a:b c'), { backend: 'ns_web_web_80', rule: { pathType: 'Prefix', path: '/a:b c' } });
  assert.deepEqual(parseRouteValue('-:b:E/x'), { backend: 'b', rule: { pathType: 'Exact', path: '/x' } });
  assert.deepEqual(parseRouteValue('-:b:D'), { backend: 'b', rule: { pathType: 'Default', path: '' } });
  for (const bad of ['', '-:b', 'X:b:P/', '-::P/', '-:b:Q/']) assert.equal(parseRouteValue(bad), undefined, bad);
});
