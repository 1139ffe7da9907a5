/**
 * The pure parts of edge-hub: reading a request (verb, resource, selectors, identity,
 * representation) and the API cache's keys and watch-event updates, over an in-memory byte store.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiCache, highestRv, newerRv, type ByteStore } from '../../src/edgehub/api-cache.js';
import { identityOf, normalizeSelector, parseApiRequest, representationOf, type ResourceRequest } from '../../src/edgehub/request.js';

class MapStore implements ByteStore {
  readonly map = new Map<string, Buffer>();
  get(k: string) {
    return this.map.get(k);
  }
  has(k: string) {
    return this.map.has(k);
  }
  put(k: string, v: Buffer) {
    this.map.set(k, v);
  }
  delete(k: string) {
    this.map.delete(k);
  }
  keys() {
    return [...this.map.keys()];
  }
}

const res = (method: string, url: string) => parseApiRequest(method, url) as ResourceRequest;
const cm = (name: string, rv: string, v = '1', namespace = 'default') => ({ metadata: { name, namespace, resourceVersion: rv }, data: { v } });
const list = (rv: string, ...items: unknown[]) => ({ apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: rv }, items });

describe('edge-hub requests', () => {
  it('reads verb, resource, namespace, name and subresource from the path', () => {
    assert.deepEqual(
      [res('GET', '/api/v1/namespaces/a/pods/p'), res('GET', '/api/v1/pods?watch=1'), res('POST', '/api/v1/namespaces/a/pods'), res('GET', '/api/v1/namespaces/a/pods/p/log')]
        .map((r) => [r.verb, r.apiVersion, r.resource, r.namespace, r.name, r.subresource]),
      [['get', 'v1', 'pods', 'a', 'p', undefined], ['watch', 'v1', 'pods', undefined, undefined, undefined], ['write', 'v1', 'pods', 'a', undefined, undefined], ['get', 'v1', 'pods', 'a', 'p', 'log']],
    );
    const r = res('GET', '/apis/networking.k8s.io/v1/ingresses?labelSelector=b%3D2%2C%20a%3D1&fieldSelector=metadata.name%3Dx&limit=500&continue=tok&resourceVersion=7');
    assert.deepEqual([r.verb, r.apiVersion, r.labelSelector, r.fieldSelector, r.limit, r.continueToken, r.resourceVersion], ['list', 'networking.k8s.io/v1', 'a=1,b=2', 'metadata.name=x', 500, 'tok', '7']);
    assert.equal(res('GET', '/api/v1/nodes/n1').namespace, undefined);
    assert.equal(parseApiRequest('GET', '/apis/apps').type, 'other');
    assert.deepEqual(parseApiRequest('GET', '/version?b=2&a=1'), { type: 'other', verb: 'get', target: '/version?a=1&b=2' });
  });

  it('normalizes selectors so equal ones share a key, keeping set expressions whole', () => {
    assert.equal(normalizeSelector(' b=2 ,a=1'), 'a=1,b=2');
    assert.equal(normalizeSelector('env in (prod, dev),!x'), '!x,env in (prod, dev)');
    assert.equal(normalizeSelector(''), '');
  });

  it('derives the identity from the credentials and impersonation headers', () => {
    assert.equal(identityOf({}), 'anonymous');
    const a = identityOf({ authorization: 'Bearer a' });
    assert.notEqual(a, identityOf({ authorization: 'Bearer b' }));
    assert.notEqual(a, identityOf({ authorization: 'Bearer a', 'impersonate-user': 'bob' }));
    assert.equal(a, identityOf({ authorization: 'Bearer a', accept: 'x' }));
    assert.ok(!a.includes('Bearer'));
  });

  it('negotiates JSON for clients that accept it, keeps Table apart, and does not cache protobuf-only clients', () => {
    assert.equal(representationOf('application/vnd.kubernetes.protobuf, */*'), 'json');
    assert.equal(representationOf('application/json'), 'json');
    assert.equal(representationOf(undefined), 'json');
    assert.equal(representationOf('application/json;as=Table;v=v1;g=meta.k8s.io,application/json'), 'table');
    assert.equal(representationOf('application/vnd.kubernetes.protobuf'), undefined);
    assert.equal(representationOf('application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1'), undefined);
  });
});

describe('edge-hub API cache', () => {
  it('compares resourceVersions as numbers', () => {
    assert.ok(newerRv('10', '9'));
    assert.ok(!newerRv('9', '10'));
    assert.ok(newerRv('5', ''));
    assert.equal(highestRv('3', [cm('a', '7'), cm('b', '5')]), '7');
  });

  it('keys lists by identity, namespace and selectors', () => {
    const cache = new ApiCache(new MapStore());
    const web = res('GET', '/api/v1/namespaces/default/configmaps?labelSelector=app%3Dweb');
    cache.putListPage('id1', web, 'json', 'application/json', list('5', cm('a', '4')));
    assert.ok(cache.getList('id1', web, 'json'));
    assert.equal(cache.getList('id2', web, 'json'), undefined, 'another identity');
    assert.equal(cache.getList('id1', res('GET', '/api/v1/namespaces/default/configmaps'), 'json'), undefined, 'no selector');
    assert.equal(cache.getList('id1', res('GET', '/api/v1/namespaces/other/configmaps?labelSelector=app%3Dweb'), 'json'), undefined, 'another namespace');
    assert.equal(cache.getList('id1', web, 'table'), undefined, 'another representation');
  });

  it('assembles paged lists and keeps only complete ones', () => {
    const cache = new ApiCache(new MapStore());
    const first = res('GET', '/api/v1/configmaps?limit=1');
    cache.putListPage('i', first, 'json', 'application/json', { ...list('9', cm('a', '3')), metadata: { resourceVersion: '9', continue: 'T1' } });
    assert.equal(cache.getList('i', first, 'json'), undefined);
    cache.putListPage('i', res('GET', '/api/v1/configmaps?limit=1&continue=T1'), 'json', 'application/json', list('9', cm('b', '4')));
    const whole = cache.getList('i', first, 'json')!.body as ReturnType<typeof list>;
    assert.deepEqual(whole.items.map((i) => (i as ReturnType<typeof cm>).metadata.name), ['a', 'b']);
    assert.equal(whole.metadata.resourceVersion, '9');
    // A page whose start was not seen is not cached.
    cache.putListPage('j', res('GET', '/api/v1/configmaps?limit=1&continue=T1'), 'json', 'application/json', list('9', cm('b', '4')));
    assert.equal(cache.getList('j', first, 'json'), undefined);
  });

  it('applies watch events to the matching list and object, and lists carry the newest resourceVersion', () => {
    const store = new MapStore();
    const cache = new ApiCache(store);
    const l = res('GET', '/api/v1/namespaces/default/configmaps');
    const w = res('GET', '/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=5');
    cache.putListPage('i', l, 'json', 'application/json', list('5', cm('a', '4'), cm('b', '5')));
    cache.putObject('i', res('GET', '/api/v1/namespaces/default/configmaps/a'), 'json', 'application/json', { kind: 'ConfigMap', ...cm('a', '4') });
    cache.applyEvent('i', w, { type: 'MODIFIED', object: { kind: 'ConfigMap', ...cm('a', '6', '2') } });
    cache.applyEvent('i', w, { type: 'DELETED', object: cm('b', '7') });
    cache.applyEvent('i', w, { type: 'ADDED', object: cm('c', '8') });
    cache.applyEvent('i', w, { type: 'MODIFIED', object: cm('c', '3', 'stale') }); // older than what is held: ignored
    cache.applyEvent('i', w, { type: 'BOOKMARK', object: { metadata: { resourceVersion: '12' } } });
    const body = cache.getList('i', l, 'json')!.body as { metadata: { resourceVersion: string }; items: ReturnType<typeof cm>[] };
    assert.deepEqual(body.items.map((i) => `${i.metadata.name}=${i.data.v}`), ['a=2', 'c=1']);
    assert.equal(body.metadata.resourceVersion, '12');
    const a = cache.getObject('i', res('GET', '/api/v1/namespaces/default/configmaps/a'), 'json');
    assert.equal(((a as { body: ReturnType<typeof cm> }).body).data.v, '2');
    // b is gone from the complete list: a get of it is an authoritative not-found; c comes from the list.
    assert.equal(cache.getObject('i', res('GET', '/api/v1/namespaces/default/configmaps/b'), 'json'), 'not-found');
    const c = cache.getObject('i', res('GET', '/api/v1/namespaces/default/configmaps/c'), 'json') as { body: Record<string, unknown> };
    assert.deepEqual([c.body.kind, c.body.apiVersion], ['ConfigMap', 'v1']);
    // Persisted lists survive a new cache over the same store.
    cache.persist();
    const again = new ApiCache(store).getList('i', l, 'json')!.body as { items: unknown[] };
    assert.equal(again.items.length, 2);
  });

  it('a fresh complete list drops the cached objects the server no longer has', () => {
    const cache = new ApiCache(new MapStore());
    const get = (name: string, ns = 'default') => res('GET', `/api/v1/namespaces/${ns}/configmaps/${name}`);
    for (const [name, ns] of [['a', 'default'], ['b', 'default'], ['c', 'other']] as const) {
      cache.putObject('i', get(name, ns), 'json', 'application/json', cm(name, '1', '1', ns));
    }
    cache.putListPage('i', res('GET', '/api/v1/namespaces/default/configmaps?labelSelector=x%3Dy'), 'json', 'application/json', list('5'));
    assert.ok(cache.getObject('i', get('a'), 'json'), 'a selected list says nothing about the others');
    cache.putListPage('i', res('GET', '/api/v1/namespaces/default/configmaps'), 'json', 'application/json', list('5', cm('a', '1')));
    assert.notEqual(cache.getObject('i', get('a'), 'json'), undefined);
    assert.equal(cache.getObject('i', get('b'), 'json'), 'not-found');
    assert.ok(cache.getObject('i', get('c', 'other'), 'json'), 'another namespace is not touched');
  });

  it('knows which answers it already holds, so unchanged ones are not written again', () => {
    const store = new MapStore();
    const cache = new ApiCache(store);
    const l = res('GET', '/api/v1/namespaces/default/configmaps');
    const g = res('GET', '/api/v1/namespaces/default/configmaps/a');
    assert.equal(cache.holds('i', l, 'json', '5'), false, 'nothing cached yet');
    cache.putListPage('i', l, 'json', 'application/json', list('5', cm('a', '4')));
    cache.putObject('i', g, 'json', 'application/json', cm('a', '4'));
    assert.equal(cache.holds('i', l, 'json', '5'), true);
    assert.equal(cache.holds('i', l, 'json', '6'), false, 'a newer list');
    assert.equal(cache.holds('i', g, 'json', '4'), true);
    assert.equal(cache.holds('j', g, 'json', '4'), false, 'another identity');
    assert.equal(cache.holds('i', res('GET', '/api/v1/namespaces/default/configmaps?limit=1&continue=T'), 'json', '5'), false, 'a later page');
    // A watch moved the list on: an older list is not newer than what is held.
    cache.applyEvent('i', res('GET', '/api/v1/namespaces/default/configmaps?watch=1'), { type: 'ADDED', object: cm('b', '9') });
    assert.equal(cache.holds('i', l, 'json', '5'), true);
    // Forgotten (a 404): not held any more.
    cache.forgetObject('i', g);
    assert.equal(cache.holds('i', g, 'json', '4'), false);
    assert.equal(cache.holds('i', g, 'json', ''), false, 'no resourceVersion, no claim');
  });

  it('a get without a cached list that would hold it is unknown, not not-found', () => {
    const cache = new ApiCache(new MapStore());
    cache.putListPage('i', res('GET', '/api/v1/namespaces/default/configmaps?labelSelector=x%3Dy'), 'json', 'application/json', list('5'));
    assert.equal(cache.getObject('i', res('GET', '/api/v1/namespaces/default/configmaps/a'), 'json'), undefined);
  });
});
