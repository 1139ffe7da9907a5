import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Kind, StoredObject } from '../../src/store/objects.js';
import { ObjectStore } from '../../src/store/store.js';

function obj(kind: Kind, namespace: string, name: string, extra: Record<string, unknown> = {}): StoredObject {
  return { kind, apiVersion: 'v1', namespace, name, annotations: {}, labels: {}, raw: { kind, metadata: { name }, ...extra } };
}

const keys = (s: ObjectStore): string[] => s.list().map((o) => `${o.kind}/${o.namespace}/${o.name}`);

describe('ObjectStore', () => {
  it('lists by kind, then namespace, then name', () => {
    const s = new ObjectStore();
    s.upsert(obj('Service', 'default', 'b'), obj('Ingress', 'default', 'z'), obj('Service', 'a-b', 'x'), obj('Service', 'a', 'y'), obj('Service', 'default', 'a'));
    assert.deepEqual(keys(s), ['Ingress/default/z', 'Service/a/y', 'Service/a-b/x', 'Service/default/a', 'Service/default/b']);
    assert.equal(s.size, 5);
  });

  it('notifies once per batch with the new version, and not for no-op changes', () => {
    const s = new ObjectStore();
    const seen: number[] = [];
    s.onChange((v) => seen.push(v));
    assert.equal(s.version, 0);
    assert.equal(s.upsert(obj('Service', 'default', 'a'), obj('Service', 'default', 'b')), true);
    assert.deepEqual(seen, [1]);
    // Equal content (a new object with the same fields) is not a change.
    assert.equal(s.upsert(obj('Service', 'default', 'a')), false);
    assert.equal(s.delete({ kind: 'Service', namespace: 'default', name: 'missing' }), false);
    assert.deepEqual(seen, [1]);
    assert.equal(s.upsert(obj('Service', 'default', 'a', { spec: { ports: [] } })), true);
    assert.equal(s.delete({ kind: 'Service', namespace: 'default', name: 'a' }, { kind: 'Service', namespace: 'default', name: 'b' }), true);
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(s.version, 3);
    assert.equal(s.size, 0);
  });

  it('replaceAll makes the store hold exactly the given objects, as one change', () => {
    const s = new ObjectStore();
    s.upsert(obj('Service', 'default', 'old'), obj('Service', 'default', 'kept'));
    let calls = 0;
    s.onChange(() => calls++);
    assert.equal(s.replaceAll([obj('Service', 'default', 'kept'), obj('Secret', 'default', 'new')]), true);
    assert.equal(calls, 1);
    assert.deepEqual(keys(s), ['Secret/default/new', 'Service/default/kept']);
    assert.equal(s.get({ kind: 'Service', namespace: 'default', name: 'old' }), undefined);
    // The same content again: no change, no notification, same version.
    const v = s.version;
    assert.equal(s.replaceAll([obj('Secret', 'default', 'new'), obj('Service', 'default', 'kept')]), false);
    assert.equal(calls, 1);
    assert.equal(s.version, v);
    // A change in one field is a change.
    assert.equal(s.replaceAll([obj('Secret', 'default', 'new'), { ...obj('Service', 'default', 'kept'), origin: { file: 'a.yaml', line: 2 } }]), true);
    assert.equal(calls, 2);
    assert.equal(s.replaceAll([]), true);
    assert.equal(s.size, 0);
  });

  it('replaceKind replaces one kind as one change and leaves the other kinds alone', () => {
    const s = new ObjectStore();
    s.upsert(obj('Service', 'default', 'old'), obj('Service', 'default', 'kept'), obj('Secret', 'default', 'tls'));
    let calls = 0;
    s.onChange(() => calls++);
    assert.equal(s.replaceKind('Service', [obj('Service', 'default', 'kept'), obj('Service', 'shop', 'new')]), true);
    assert.equal(calls, 1);
    assert.deepEqual(keys(s), ['Secret/default/tls', 'Service/default/kept', 'Service/shop/new']);
    // The same set again is no change; objects of another kind in the list are ignored.
    assert.equal(s.replaceKind('Service', [obj('Service', 'shop', 'new'), obj('Service', 'default', 'kept'), obj('Ingress', 'x', 'y')]), false);
    assert.equal(calls, 1);
    assert.equal(s.replaceKind('Service', []), true);
    assert.deepEqual(keys(s), ['Secret/default/tls']);
  });

  it('unsubscribes, and a throwing listener neither undoes the change nor silences the others', () => {
    const s = new ObjectStore();
    let a = 0;
    let b = 0;
    const offA = s.onChange(() => a++);
    s.onChange(() => {
      throw new Error('listener failed');
    });
    s.onChange(() => b++);
    assert.throws(() => s.upsert(obj('Service', 'default', 'a')), /listener failed/);
    assert.equal(s.size, 1);
    assert.deepEqual([a, b], [1, 1]);
    offA();
    assert.throws(() => s.upsert(obj('Service', 'default', 'b')), /listener failed/);
    assert.deepEqual([a, b], [1, 2]);
  });
});
