/** The pure parts of the cluster source: conversion, status changes, rejection Events. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { V1Ingress } from '@kubernetes/client-node';
import { toStoredObject } from '../../src/sources/kubernetes/convert.js';
import { addressEntry, currentAddresses, statusChanges } from '../../src/sources/kubernetes/ingress-status.js';
import { rejectionEvent } from '../../src/sources/kubernetes/events.js';
import type { StoredObject } from '../../src/store/objects.js';

const wire = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: {
    name: 'shop', namespace: 'web', uid: 'u-1', resourceVersion: '42', generation: 3,
    creationTimestamp: '2026-01-02T03:04:05Z', labels: { app: 'shop' }, annotations: { a: 'b' },
    managedFields: [{ manager: 'kubectl' }],
  },
  spec: { ingressClassName: 'gatehouse', rules: [{ host: 'shop.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
};

function ingress(name: string, lb?: unknown[]): StoredObject {
  const raw: Record<string, unknown> = { ...wire, metadata: { ...wire.metadata, name } };
  if (lb) raw['status'] = { loadBalancer: { ingress: lb } };
  return toStoredObject('Ingress', 'networking.k8s.io/v1', raw)!;
}

describe('toStoredObject', () => {
  it('gives the same object for a watch event (plain JSON) and a list item (typed client, Date, no kind)', () => {
    const fromWatch = toStoredObject('Ingress', 'networking.k8s.io/v1', wire)!;
    // What the typed client's list returns: a class instance, creationTimestamp as a Date, no kind/apiVersion.
    const typed = Object.assign(new V1Ingress(), {
      metadata: { ...wire.metadata, creationTimestamp: new Date('2026-01-02T03:04:05Z'), resourceVersion: '77' },
      spec: wire.spec,
    });
    const fromList = toStoredObject('Ingress', 'networking.k8s.io/v1', typed)!;
    assert.deepEqual(fromList, fromWatch);
    assert.equal(fromWatch.creationTimestamp, '2026-01-02T03:04:05Z');
    assert.deepEqual(fromWatch.raw['metadata'], { name: 'shop', namespace: 'web', uid: 'u-1', creationTimestamp: '2026-01-02T03:04:05Z', labels: { app: 'shop' }, annotations: { a: 'b' } });
    assert.equal(fromWatch.raw['kind'], 'Ingress');
    assert.deepEqual(fromWatch.labels, { app: 'shop' });
  });

  it('refuses an object without a name, and gives cluster-scoped kinds the namespace ""', () => {
    assert.equal(toStoredObject('Ingress', 'networking.k8s.io/v1', { metadata: {} }), null);
    assert.equal(toStoredObject('Ingress', 'networking.k8s.io/v1', 'x'), null);
    assert.equal(toStoredObject('IngressClass', 'networking.k8s.io/v1', { metadata: { name: 'gatehouse' } })!.namespace, '');
  });
});

describe('statusChanges', () => {
  const ours = [{ ip: '203.0.113.7' }, { hostname: 'lb.example' }];

  it('writes our addresses where missing or different, and removes them where we no longer serve', () => {
    const served = new Set(['Ingress/web/new', 'Ingress/web/stale', 'Ingress/web/done']);
    const list = [
      ingress('new'),
      ingress('stale', [{ ip: '198.51.100.1' }]),
      ingress('done', [{ hostname: 'lb.example' }, { ip: '203.0.113.7' }]), // same set, other order: no write
      ingress('dropped', [{ ip: '203.0.113.7' }, { hostname: 'lb.example' }]), // not served, shows ours: cleared
      ingress('foreign', [{ ip: '198.51.100.9' }]), // not served, someone else's: left alone
    ];
    const changes = statusChanges(list, served, ours).map((c) => [c.ingress.name, c.addresses]);
    assert.deepEqual(changes, [
      ['new', [{ ip: '203.0.113.7' }, { hostname: 'lb.example' }]],
      ['stale', [{ ip: '203.0.113.7' }, { hostname: 'lb.example' }]],
      ['dropped', []],
    ]);
  });

  it('writes nothing when there is nothing to publish', () => {
    assert.deepEqual(statusChanges([ingress('a'), ingress('b', [{ ip: '192.0.2.1' }])], new Set(['Ingress/web/a']), []), []);
  });

  it('reads and canonicalises the current status; an address is an ip or a hostname', () => {
    assert.deepEqual(currentAddresses(ingress('x', [{ ip: '192.0.2.2' }, { ip: '192.0.2.1' }, { ip: '192.0.2.2' }, 'junk'])), [{ ip: '192.0.2.1' }, { ip: '192.0.2.2' }]);
    assert.deepEqual(addressEntry('2001:db8::1'), { ip: '2001:db8::1' });
    assert.deepEqual(addressEntry('gw.example.com'), { hostname: 'gw.example.com' });
  });
});

describe('rejectionEvent', () => {
  it('is a Warning "Rejected" on the object, with the text gatehouse check prints', () => {
    const o = ingress('broken');
    const e = rejectionEvent(
      { severity: 'error', object: { kind: 'Ingress', namespace: 'web', name: 'broken' }, field: 'spec.rules[0].host', message: 'host "A_B" is not a DNS name: use lower-case letters' },
      o, 'gatehouse-abc', new Date('2026-05-01T00:00:00Z'),
    );
    assert.equal(e.type, 'Warning');
    assert.equal(e.reason, 'Rejected');
    assert.deepEqual(e.involvedObject, { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'web', name: 'broken', uid: 'u-1' });
    assert.equal(e.metadata.namespace, 'web');
    assert.match(e.metadata.name!, /^broken\.[0-9a-f]{16}$/);
    assert.match(e.message!, /Ingress web\/broken\s+spec\.rules\[0\]\.host: error: host "A_B" is not a DNS name/);
    assert.equal(e.reportingInstance, 'gatehouse-abc');
  });

  it('cuts messages to the 1024 characters the API server accepts', () => {
    const e = rejectionEvent({ severity: 'error', object: { kind: 'Ingress', namespace: 'web', name: 'b' }, field: 'spec', message: 'x'.repeat(5000) }, ingress('b'), 'i', new Date());
    assert.equal(e.message!.length, 1024);
  });
});
