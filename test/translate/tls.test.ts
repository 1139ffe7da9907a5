import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import {
  b64,
  errors,
  ingress,
  makeCert,
  only,
  path,
  rawSecret,
  rule,
  run,
  service,
  simpleIngress,
  tlsSecret,
  warnings,
} from './helpers.js';

const now = new Date();
const A = makeCert('a.example.com', ['a.example.com', 'www.example.com']);
const B = makeCert('b.example.com', ['b.example.com', 'a.example.com']);
const WILD = makeCert('*.w.example.com', ['*.w.example.com']);
const RSA = makeCert('r.example.com', ['r.example.com'], 30, 'rsa');

const tlsIngress = (name: string, hosts: string[], secretName: string | undefined, meta: Parameters<typeof ingress>[2] = {}) =>
  ingress(name, { rules: hosts.map((h) => rule(h, path('/'))), tls: [secretName === undefined ? { hosts } : { hosts, secretName }] }, meta);

test('a valid TLS Secret becomes one Certificate; its hosts redirect to HTTPS', () => {
  const r = run([tlsIngress('a', ['www.example.com', 'a.example.com'], 'a-tls'), tlsSecret('a-tls', A), service('web')], { now });
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.model.certificates.length, 1);
  const c = r.model.certificates[0]!;
  assert.equal(c.name, 'default_a-tls');
  assert.deepEqual(c.secret, { namespace: 'default', name: 'a-tls' });
  assert.deepEqual(c.hosts, ['a.example.com', 'www.example.com']);
  assert.equal(c.notAfter, new Date(new X509Certificate(A.cert).validTo).toISOString());
  assert.match(c.pem, /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
  assert.ok(!c.pem.includes('\r'));
  assert.equal(new X509Certificate(c.pem).fingerprint256, new X509Certificate(A.cert).fingerprint256);
  assert.ok(r.model.routes.every((x) => x.redirectToHttps));
  assert.deepEqual([...r.accepted.keys()].sort(), ['Ingress/default/a', 'Secret/default/a-tls']);
});

test('stringData and CRLF line ends are accepted; output newlines are normalised', () => {
  const crlf = { cert: A.cert.replace(/\n/g, '\r\n'), key: A.key.replace(/\n/g, '\r\n') };
  const r = run([tlsIngress('a', ['a.example.com'], 's'), rawSecret('s', { type: 'kubernetes.io/tls', stringData: { 'tls.crt': crlf.cert, 'tls.key': crlf.key }, data: { 'tls.crt': 'garbage!' } }), service('web')], { now });
  assert.deepEqual(errors(r), []);
  assert.equal(r.model.certificates.length, 1);
  assert.ok(!r.model.certificates[0]!.pem.includes('\r'));
});

test('RSA keys and certificate chains are carried in order', () => {
  const chain = { cert: RSA.cert + B.cert, key: RSA.key };
  const r = run([tlsIngress('a', ['r.example.com'], 's'), tlsSecret('s', chain), service('web')], { now });
  assert.deepEqual(errors(r), []);
  const pem = r.model.certificates[0]!.pem;
  assert.equal(pem.match(/BEGIN CERTIFICATE/g)!.length, 2);
  assert.equal(new X509Certificate(pem).subject, 'CN=r.example.com', 'leaf first');
});

test('a tls entry without secretName: the host redirects and uses the default certificate', () => {
  const r = run([tlsIngress('a', ['a.example.com'], undefined), service('web')], { now });
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.model.certificates, []);
  assert.equal(r.model.routes[0]!.redirectToHttps, true);
});

test('a missing Secret is a warning: the host keeps TLS with the default certificate', () => {
  const r = run([tlsIngress('a', ['a.example.com'], 'typo'), service('web')], { now });
  const w = only(warnings(r, 'a'), 'spec.tls[0].secretName');
  assert.match(w.message, /Secret default\/typo does not exist: its hosts are served with the default certificate/);
  assert.deepEqual(errors(r), []);
  assert.equal(r.model.routes.length, 1);
  assert.equal(r.model.routes[0]!.redirectToHttps, true);
  assert.deepEqual(r.model.certificates, []);
});

test('ssl-redirect false, host *, and hosts without TLS do not redirect; TLS from any Ingress counts', () => {
  const r = run(
    [
      ingress('a', { rules: [rule('a.example.com', path('/a')), rule(undefined, path('/any')), rule('plain.example.com', path('/'))], tls: [{ hosts: ['a.example.com'], secretName: 'a-tls' }] }),
      ingress('b', { rules: [rule('a.example.com', path('/b'))] }),
      ingress('c', { rules: [rule('a.example.com', path('/c'))] }, { annotations: { 'gatehouse.io/ssl-redirect': 'false' } }),
      tlsSecret('a-tls', A),
      service('web'),
    ],
    { now },
  );
  const red = Object.fromEntries(r.model.routes.map((x) => [`${x.host}${x.path}`, x.redirectToHttps]));
  assert.deepEqual(red, { '*/any': false, 'a.example.com/a': true, 'a.example.com/b': true, 'a.example.com/c': false, 'plain.example.com/': false });
});

test('a wildcard TLS host covers routes one label below it', () => {
  const r = run([ingress('a', { rules: [rule('x.w.example.com', path('/')), rule('*.w.example.com', path('/')), rule('y.x.w.example.com', path('/'))], tls: [{ hosts: ['*.w.example.com'], secretName: 'w' }] }), tlsSecret('w', WILD), service('web')], { now });
  assert.deepEqual(errors(r), []);
  assert.deepEqual(r.model.certificates[0]!.hosts, ['*.w.example.com']);
  const red = Object.fromEntries(r.model.routes.map((x) => [x.host, x.redirectToHttps]));
  assert.deepEqual(red, { '*.w.example.com': true, 'x.w.example.com': true, 'y.x.w.example.com': false });
});

test('a certificate that does not name the host is served with a warning', () => {
  const r = run([tlsIngress('a', ['c.example.com'], 's'), tlsSecret('s', A), service('web')], { now });
  assert.match(only(warnings(r, 'a'), 'spec.tls[0].hosts[0]').message, /not valid for c\.example\.com/);
  assert.equal(r.model.certificates.length, 1);
});

const badSecrets: [string, () => ReturnType<typeof rawSecret>, string, RegExp][] = [
  ['wrong type', () => rawSecret('s', { type: 'Opaque', data: { 'tls.crt': b64(A.cert), 'tls.key': b64(A.key) } }), 'type', /must have type kubernetes\.io\/tls/],
  ['no type', () => rawSecret('s', { data: { 'tls.crt': b64(A.cert), 'tls.key': b64(A.key) } }), 'type', /type is not set/],
  ['missing tls.key', () => rawSecret('s', { type: 'kubernetes.io/tls', data: { 'tls.crt': b64(A.cert) } }), 'data["tls.key"]', /tls\.key is missing/],
  ['missing tls.crt', () => rawSecret('s', { type: 'kubernetes.io/tls', data: { 'tls.key': b64(A.key) } }), 'data["tls.crt"]', /tls\.crt is missing/],
  ['bad base64', () => rawSecret('s', { type: 'kubernetes.io/tls', data: { 'tls.crt': 'not base64!', 'tls.key': b64(A.key) } }), 'data["tls.crt"]', /not valid base64/],
  ['not PEM', () => rawSecret('s', { type: 'kubernetes.io/tls', data: { 'tls.crt': b64('hello'), 'tls.key': b64(A.key) } }), 'data["tls.crt"]', /no PEM certificate/],
  ['broken certificate', () => rawSecret('s', { type: 'kubernetes.io/tls', data: { 'tls.crt': b64(A.cert.replace(/\n[A-Za-z0-9+/]{10}/, '\nAAAAAAAAAA')), 'tls.key': b64(A.key) } }), 'data["tls.crt"]', /does not parse|does not belong/],
  ['broken second certificate', () => rawSecret('s', { type: 'kubernetes.io/tls', data: { 'tls.crt': b64(A.cert + '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), 'tls.key': b64(A.key) } }), 'data["tls.crt"]', /certificate 2 in tls\.crt does not parse/],
  ['key not PEM', () => rawSecret('s', { type: 'kubernetes.io/tls', data: { 'tls.crt': b64(A.cert), 'tls.key': b64('secret') } }), 'data["tls.key"]', /no PEM private key/],
  ['broken key', () => rawSecret('s', { type: 'kubernetes.io/tls', data: { 'tls.crt': b64(A.cert), 'tls.key': b64('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n') } }), 'data["tls.key"]', /tls\.key does not parse/],
  ['encrypted key', () => rawSecret('s', { type: 'kubernetes.io/tls', data: { 'tls.crt': b64(A.cert), 'tls.key': b64('-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n') } }), 'data["tls.key"]', /encrypted/],
  ['key of another certificate', () => tlsSecret('s', { cert: A.cert, key: B.key }), 'data["tls.key"]', /does not belong to the first certificate/],
  ['data not a mapping', () => rawSecret('s', { type: 'kubernetes.io/tls', data: ['x'] }), 'data', /must be a mapping/],
  ['value not a string', () => rawSecret('s', { type: 'kubernetes.io/tls', data: { 'tls.crt': 5, 'tls.key': b64(A.key) } }), 'data["tls.crt"]', /must be a base64 string/],
];

for (const [what, make, field, re] of badSecrets) {
  test(`bad Secret (${what}): error on the Secret and on each Ingress using it, which alone are rejected`, () => {
    const r = run(
      [
        tlsIngress('uses-bad', ['a.example.com'], 's'),
        tlsIngress('also-bad', ['www.example.com'], 's', { namespace: 'default' }),
        tlsIngress('uses-good', ['b.example.com'], 'good'),
        simpleIngress('no-tls', 'plain.example.com'),
        make(),
        tlsSecret('good', B),
        service('web'),
      ],
      { now },
    );
    const se = errors(r, 's').filter((d) => d.object.kind === 'Secret');
    assert.match(only(se, field).message, re);
    for (const name of ['uses-bad', 'also-bad']) {
      const ie = only(errors(r, name), 'spec.tls[0].secretName');
      assert.match(ie.message, /Secret default\/s is not a valid TLS Secret .*this Ingress is not served until then/);
    }
    assert.deepEqual(r.model.routes.map((x) => x.source.name).sort(), ['no-tls', 'uses-good']);
    assert.deepEqual(r.model.certificates.map((c) => c.name), ['default_good']);
    assert.ok(!r.accepted.has('Secret/default/s'));
  });
}

test('expired certificate: error on the Secret naming the date', () => {
  const later = new Date(now.getTime() + 400 * 86_400_000);
  const r = run([tlsIngress('a', ['a.example.com'], 's'), tlsSecret('s', A), service('web')], { now: later });
  assert.match(only(errors(r, 's'), 'data["tls.crt"]').message, /the certificate expired on \d{4}-\d\d-\d\dT.*: renew it/);
  assert.deepEqual(r.model.routes, []);
  const justBefore = new Date(Date.parse(new X509Certificate(A.cert).validTo) - 1000);
  assert.deepEqual(errors(run([tlsIngress('a', ['a.example.com'], 's'), tlsSecret('s', A), service('web')], { now: justBefore })), []);
});

test('Secrets no Ingress of ours uses are not judged', () => {
  const r = run([rawSecret('junk', { type: 'Opaque', data: { x: '!!!' } }), tlsSecret('old', A), simpleIngress('a'), service('web')], { now: new Date('2999-01-01T00:00:00Z') });
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.model.certificates, []);
});

test('a Secret in another namespace is not used', () => {
  const r = run([tlsIngress('a', ['a.example.com'], 's'), tlsSecret('s', A, { namespace: 'other' }), service('web')], { now });
  only(warnings(r, 'a'), 'spec.tls[0].secretName');
  assert.deepEqual(r.model.certificates, []);
});

test('a host claimed by two Secrets: the oldest Ingress wins, the other gets a warning', () => {
  const r = run(
    [
      tlsIngress('young', ['a.example.com', 'b.example.com'], 'b-tls', { creationTimestamp: '2024-05-01T00:00:00Z' }),
      ingress('old', { rules: [rule('a.example.com', path('/old'))], tls: [{ hosts: ['a.example.com'], secretName: 'a-tls' }] }, { creationTimestamp: '2024-01-01T00:00:00Z' }),
      tlsSecret('a-tls', A),
      tlsSecret('b-tls', B),
      service('web'),
    ],
    { now },
  );
  const certs = Object.fromEntries(r.model.certificates.map((c) => [c.name, c.hosts]));
  assert.deepEqual(certs, { 'default_a-tls': ['a.example.com'], 'default_b-tls': ['b.example.com'] });
  const w = only(warnings(r, 'young'), 'spec.tls[0].hosts[0]');
  assert.match(w.message, /a\.example\.com already uses the certificate of Secret default\/a-tls \(from Ingress default\/old, which is older\)/);
  assert.deepEqual(warnings(r, 'old'), []);
});

test('one Secret shared by two Ingresses is one Certificate with the union of hosts', () => {
  const r = run([tlsIngress('x', ['www.example.com'], 's'), tlsIngress('y', ['a.example.com'], 's'), tlsSecret('s', A), service('web')], { now });
  assert.equal(r.model.certificates.length, 1);
  assert.deepEqual(r.model.certificates[0]!.hosts, ['a.example.com', 'www.example.com']);
});

test('a tls entry without hosts applies to nothing (warning); invalid tls hosts reject', () => {
  let r = run([ingress('a', { rules: [rule('a.example.com', path('/'))], tls: [{ secretName: 's' }] }), tlsSecret('s', A), service('web')], { now });
  assert.match(only(warnings(r, 'a'), 'spec.tls[0].hosts').message, /lists no hosts/);
  assert.deepEqual(r.model.certificates, []);
  r = run([ingress('a', { rules: [rule('a.example.com', path('/'))], tls: [{ hosts: ['a.example.com', '*'], secretName: 's' }] }), tlsSecret('s', A), service('web')], { now });
  only(errors(r, 'a'), 'spec.tls[0].hosts[1]');
  assert.deepEqual(r.model.routes, []);
});

const CA = makeCert('Test CA', []);
const caSecret = (name: string, ca: string | undefined, type = 'kubernetes.io/tls') =>
  rawSecret(name, { type, data: { 'tls.crt': b64(A.cert), 'tls.key': b64(A.key), ...(ca === undefined ? {} : { 'ca.crt': b64(ca) }) } });
const verifying = (extra: Record<string, string> = {}) =>
  simpleIngress('a', 'a.example.com', { annotations: { 'gatehouse.io/backend-protocol': 'HTTPS', 'gatehouse.io/backend-tls-verify': 'true', 'gatehouse.io/backend-ca-secret': 'ca', ...extra } });

test('backend TLS verification: the CA from ca.crt and the server name go into the policy', () => {
  const r = run([verifying({ 'gatehouse.io/backend-tls-server-name': 'API.internal' }), caSecret('ca', CA.cert), service('web')], { now });
  assert.deepEqual(errors(r), []);
  const up = r.model.backends[0]!.policy.upstreamTls!;
  assert.equal(up.serverName, 'api.internal');
  assert.match(up.caPem, /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
  assert.equal(new X509Certificate(up.caPem).subject, 'CN=Test CA');
  assert.ok(r.accepted.has('Secret/default/ca'));
  const noName = run([verifying(), caSecret('ca', CA.cert), service('web')], { now });
  assert.equal(noName.model.backends[0]!.policy.upstreamTls!.serverName, null);
});

test('backend TLS verification: a missing or bad CA Secret rejects the Ingress', () => {
  let r = run([verifying(), service('web')], { now });
  assert.match(only(errors(r, 'a'), 'metadata.annotations["gatehouse.io/backend-ca-secret"]').message, /does not exist/);
  assert.deepEqual(r.model.routes, []);
  r = run([verifying(), caSecret('ca', undefined), service('web')], { now });
  assert.match(only(errors(r, 'ca'), 'data["ca.crt"]').message, /ca\.crt is missing/);
  assert.match(only(errors(r, 'a'), 'metadata.annotations["gatehouse.io/backend-ca-secret"]').message, /cannot be used as a CA/);
  r = run([verifying(), caSecret('ca', 'junk'), service('web')], { now });
  assert.match(only(errors(r, 'ca'), 'data["ca.crt"]').message, /no PEM certificate/);
  r = run([verifying(), caSecret('ca', CA.cert, 'Opaque'), service('web')], { now });
  only(errors(r, 'ca'), 'type');
  assert.deepEqual(r.model.routes, []);
});
