import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMaps } from '../../src/haproxy/maps.js';
import { model, route } from '../helpers/model.js';

test('Prefix paths become an exact key and a key ending in a slash; Prefix / is one prefix key', () => {
  const maps = buildMaps(model({ routes: [route('a.com', 'Prefix', '/foo', 'b1'), route('a.com', 'Prefix', '/', 'b2')] }));
  assert.deepEqual(maps.exact, [['a.com/foo', '-:b1']]);
  assert.deepEqual(maps.prefix, [['a.com/', '-:b2'], ['a.com/foo/', '-:b1']]);
  assert.deepEqual(maps.hosts, [['a.com', 'a.com']]);
});

test('an Exact route wins over a Prefix route of the same path', () => {
  const maps = buildMaps(model({ routes: [route('a.com', 'Prefix', '/foo', 'prefix'), route('a.com', 'Exact', '/foo', 'exact')] }));
  assert.deepEqual(maps.exact, [['a.com/foo', '-:exact']]);
  assert.deepEqual(maps.prefix, [['a.com/foo/', '-:prefix']]);
});

test('the catch-all host * is not a host key; default routes go to the default map; R flags redirects', () => {
  const maps = buildMaps(
    model({ routes: [route('*', 'Exact', '/x', 'b1'), route('*.a.com', 'Default', '', 'b2', true), route('*', 'Default', '', 'b3')] }),
  );
  assert.deepEqual(maps.hosts, [['*.a.com', '*.a.com']]);
  assert.deepEqual(maps.exact, [['*/x', '-:b1']]);
  assert.deepEqual(maps.default, [['*', '-:b3'], ['*.a.com', 'R:b2']]);
});
