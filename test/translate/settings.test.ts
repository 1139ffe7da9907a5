import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configMap, errors, ingress, only, path, rule, run, service, warnings } from './helpers.js';
import { SETTINGS } from '../../src/translate/settings.js';
import type { TranslateResult } from '../../src/translate/translate.js';

/** An Ingress whose host is a TLS host (default certificate), so ssl-redirect shows in the model. */
const ing = (annotations: Record<string, string> = {}, name = 'a') =>
  ingress(name, { rules: [rule('a.example.com', path('/'))], tls: [{ hosts: ['a.example.com'] }] }, { annotations });

const policy = (r: TranslateResult) => r.model.backends[0]!.policy;

type Case = { key: string; good: string; want: unknown; bad: string[]; dflt: unknown; get: (r: TranslateResult) => unknown };
const CASES: Case[] = [
  { key: 'ssl-redirect', good: 'false', want: false, bad: ['no', 'False', ''], dflt: true, get: (r) => r.model.routes[0]!.redirectToHttps },
  { key: 'hsts', good: 'false', want: null, bad: ['off'], dflt: { maxAgeSeconds: 31536000, includeSubdomains: false, preload: false }, get: (r) => policy(r).hsts },
  { key: 'hsts-max-age', good: '600', want: 600, bad: ['-1', '1y', '1.5'], dflt: 31536000, get: (r) => policy(r).hsts!.maxAgeSeconds },
  { key: 'hsts-include-subdomains', good: 'true', want: true, bad: ['yes'], dflt: false, get: (r) => policy(r).hsts!.includeSubdomains },
  { key: 'hsts-preload', good: 'true', want: true, bad: ['1'], dflt: false, get: (r) => policy(r).hsts!.preload },
  { key: 'server-timeout', good: '2m', want: 120000, bad: ['0s', '25h', '1.5s', '5 s', '-5s'], dflt: 60000, get: (r) => policy(r).serverTimeoutMs },
  { key: 'connect-timeout', good: '250ms', want: 250, bad: ['fast'], dflt: 5000, get: (r) => policy(r).connectTimeoutMs },
  { key: 'load-balance', good: 'header:X-Tenant', want: { kind: 'header', header: 'x-tenant' }, bad: ['random', 'header:a b'], dflt: { kind: 'roundrobin' }, get: (r) => policy(r).balance },
  { key: 'session-affinity', good: 'cookie', want: 'GATEHOUSE_AFFINITY', bad: ['ip'], dflt: null, get: (r) => policy(r).affinityCookie },
  { key: 'allow-source-ranges', good: '10.1.0.0/16, 192.168.0.1', want: ['10.1.0.0/16', '192.168.0.1/32'], bad: ['10.0.0.0/8;', 'any'], dflt: [], get: (r) => policy(r).allowSourceRanges },
  { key: 'deny-source-ranges', good: '2001:db8::5/64', want: ['2001:db8::/64'], bad: ['2001:db8::/129'], dflt: [], get: (r) => policy(r).denySourceRanges },
  { key: 'rate-limit-rps', good: '100', want: 100, bad: ['1000001', '-1', 'ten'], dflt: 0, get: (r) => policy(r).rateLimitRps },
  { key: 'max-body-size', good: '8m', want: 8 * 1024 * 1024, bad: ['8MB', '1.5k'], dflt: 0, get: (r) => policy(r).maxBodyBytes },
  { key: 'backend-protocol', good: 'grpc', want: 'h2c', bad: ['h3'], dflt: 'http', get: (r) => policy(r).protocol },
  { key: 'backend-tls-verify', good: 'false', want: null, bad: ['maybe'], dflt: null, get: (r) => policy(r).upstreamTls },
];

for (const c of CASES) {
  test(`setting ${c.key}: default, annotation, ConfigMap, invalid annotation, invalid ConfigMap value`, () => {
    const ann = `gatehouse.io/${c.key}`;
    assert.deepEqual(c.get(run([ing(), service('web')])), c.dflt, 'built-in default');
    const viaAnnotation = run([ing({ [ann]: c.good }), service('web')]);
    assert.deepEqual(errors(viaAnnotation), []);
    assert.deepEqual(c.get(viaAnnotation), c.want, 'annotation');
    const viaConfigMap = run([ing(), service('web'), configMap({ [c.key]: c.good })]);
    assert.deepEqual(viaConfigMap.diagnostics, []);
    assert.deepEqual(c.get(viaConfigMap), c.want, 'ConfigMap');

    for (const bad of c.bad) {
      const r = run([ing({ [ann]: bad }), ing({}, 'other'), service('web')]);
      const d = only(errors(r, 'a'), `metadata.annotations["${ann}"]`);
      assert.ok(d.message.includes(JSON.stringify(bad)) || d.message.includes('entry'), d.message);
      assert.ok(r.model.routes.every((x) => x.source.name === 'other'), 'the Ingress with the bad annotation is rejected');
      assert.equal(r.model.routes.length, 1, 'the other Ingress is served');

      const cm = run([ing(), service('web'), configMap({ [c.key]: bad, 'client-timeout': '9s' })]);
      const e = only(errors(cm), `data["${c.key}"]`);
      assert.equal(e.object.kind, 'ConfigMap');
      assert.match(e.message, /using the default/);
      assert.deepEqual(c.get(cm), c.dflt, `invalid ConfigMap value ${bad} falls back to the built-in default`);
      assert.equal(cm.model.settings.clientTimeoutMs, 9000, 'the rest of the ConfigMap still applies');
      assert.equal(cm.model.routes.length, 1, 'Ingresses are not rejected for a bad ConfigMap key');
    }
  });
}

test('annotations override the ConfigMap, per Ingress', () => {
  const r = run([ing({ 'gatehouse.io/server-timeout': '10s' }, 'a'), ingress('b', { rules: [rule('b.example.com', path('/'))] }), service('web'), configMap({ 'server-timeout': '30s' })]);
  const byName = Object.fromEntries(r.model.backends.map((b) => [b.name, b.policy.serverTimeoutMs]));
  assert.deepEqual(byName, { default_a_web_80: 10000, default_b_web_80: 30000 });
});

test('session-cookie-name: used with cookie affinity, validated, warned about without affinity', () => {
  let r = run([ing({ 'gatehouse.io/session-affinity': 'cookie', 'gatehouse.io/session-cookie-name': 'SRV' }), service('web')]);
  assert.equal(policy(r).affinityCookie, 'SRV');
  r = run([ing({ 'gatehouse.io/session-affinity': 'cookie', 'gatehouse.io/session-cookie-name': 'a;b' }), service('web')]);
  assert.match(only(errors(r, 'a'), 'metadata.annotations["gatehouse.io/session-cookie-name"]').message, /not a cookie name/);
  r = run([ing({ 'gatehouse.io/session-cookie-name': 'SRV' }), service('web')]);
  assert.equal(policy(r).affinityCookie, null);
  assert.match(only(warnings(r, 'a'), 'metadata.annotations["gatehouse.io/session-cookie-name"]').message, /no effect without session affinity/);
  r = run([ing({}), service('web'), configMap({ 'session-affinity': 'cookie', 'session-cookie-name': 'CM' })]);
  assert.equal(policy(r).affinityCookie, 'CM');
  r = run([ing({}), service('web'), configMap({ 'session-affinity': 'cookie', 'session-cookie-name': 'bad cookie' })]);
  assert.equal(policy(r).affinityCookie, 'GATEHOUSE_AFFINITY');
});

/** The global settings but the crypto ones (test/crypto/settings.test.ts). */
function plain(r: TranslateResult): Omit<TranslateResult['model']['settings'], 'crypto'> {
  const { crypto: _crypto, ...rest } = r.model.settings;
  return rest;
}

test('global ConfigMap keys: client-timeout, https-redirect-port, ssl-min-version, worker-threads', () => {
  assert.deepEqual(plain(run([])), { clientTimeoutMs: 60000, httpsRedirectPort: 443, sslMinVersion: 'TLSv1.2', workerThreads: 0 });
  let r = run([configMap({ 'client-timeout': '90s', 'https-redirect-port': '8443', 'ssl-min-version': 'TLSv1.3', 'worker-threads': '1' })]);
  assert.deepEqual(plain(r), { clientTimeoutMs: 90000, httpsRedirectPort: 8443, sslMinVersion: 'TLSv1.3', workerThreads: 1 });
  assert.deepEqual(r.diagnostics, []);
  r = run([configMap({ 'client-timeout': '90', 'https-redirect-port': '0', 'ssl-min-version': 'TLSv1.0', 'worker-threads': '65' })]);
  assert.deepEqual(plain(r), { clientTimeoutMs: 90000, httpsRedirectPort: 443, sslMinVersion: 'TLSv1.2', workerThreads: 0 });
  assert.equal(errors(r).length, 3);
  only(errors(r), 'data["worker-threads"]');
  only(errors(r), 'data["https-redirect-port"]');
  only(errors(r), 'data["ssl-min-version"]');
  r = run([configMap({ 'https-redirect-port': '65536' })]);
  assert.equal(r.model.settings.httpsRedirectPort, 443);
});

test('global keys as annotations are ignored with a warning', () => {
  const r = run([ing({ 'gatehouse.io/client-timeout': '5s' }), service('web')]);
  assert.match(only(warnings(r, 'a'), 'metadata.annotations["gatehouse.io/client-timeout"]').message, /global setting .* set it in the gatehouse ConfigMap/);
  assert.equal(r.model.routes.length, 1);
});

test('unknown gatehouse.io annotations and ConfigMap keys are warnings, with a suggestion', () => {
  const r = run([ing({ 'gatehouse.io/load-balancing': 'leastconn', 'gatehouse.io/zzzzzzzzzzzz': 'x', 'example.com/other': 'x' }), service('web'), configMap({ 'ssl-redirekt': 'false', 'backend-ca-secret': 'x' })]);
  assert.match(only(warnings(r, 'a'), 'metadata.annotations["gatehouse.io/load-balancing"]').message, /did you mean gatehouse\.io\/load-balance\?/);
  assert.match(only(warnings(r, 'a'), 'metadata.annotations["gatehouse.io/zzzzzzzzzzzz"]').message, /unknown annotation/);
  assert.match(only(warnings(r, 'gatehouse'), 'data["ssl-redirekt"]').message, /did you mean ssl-redirect\?/);
  assert.match(only(warnings(r, 'gatehouse'), 'data["backend-ca-secret"]').message, /only be set as the annotation/);
  assert.equal(r.diagnostics.length, 4, 'other prefixes are not ours to judge');
  assert.equal(r.model.routes.length, 1);
});

test('ConfigMap data that is not a mapping, and non-string values', () => {
  let r = run([configMap('x' as unknown as Record<string, unknown>)]);
  assert.equal(only(errors(r), 'data').object.kind, 'ConfigMap');
  r = run([configMap({ 'rate-limit-rps': 5, 'client-timeout': '3s' }), ing(), service('web')]);
  assert.match(only(errors(r), 'data["rate-limit-rps"]').message, /must be a string/);
  assert.equal(policy(r).rateLimitRps, 0);
  assert.equal(r.model.settings.clientTimeoutMs, 3000);
});

test('backend-tls-verify with a protocol that has no TLS is an error', () => {
  const r = run([ing({ 'gatehouse.io/backend-tls-verify': 'true', 'gatehouse.io/backend-ca-secret': 'ca' }), service('web')]);
  assert.match(only(errors(r, 'a'), 'metadata.annotations["gatehouse.io/backend-tls-verify"]').message, /backend-protocol is HTTP, which does not use TLS/);
  const h2c = run([ing({ 'gatehouse.io/backend-tls-verify': 'true', 'gatehouse.io/backend-protocol': 'GRPC', 'gatehouse.io/backend-ca-secret': 'ca' }), service('web')]);
  assert.match(only(errors(h2c, 'a'), 'metadata.annotations["gatehouse.io/backend-tls-verify"]').message, /H2C/);
});

test('backend-tls-verify with TLS needs backend-ca-secret, also when the ConfigMap turns it on', () => {
  let r = run([ing({ 'gatehouse.io/backend-tls-verify': 'true', 'gatehouse.io/backend-protocol': 'HTTPS' }), service('web')]);
  assert.match(only(errors(r, 'a'), 'metadata.annotations["gatehouse.io/backend-ca-secret"]').message, /no CA is given/);
  r = run([ing({ 'gatehouse.io/backend-protocol': 'HTTPS' }), service('web'), configMap({ 'backend-tls-verify': 'true' })]);
  assert.match(only(errors(r, 'a'), 'metadata.annotations["gatehouse.io/backend-ca-secret"]').message, /set in the ConfigMap/);
  r = run([ing({}), service('web'), configMap({ 'backend-tls-verify': 'true' })]);
  assert.deepEqual(r.diagnostics, [], 'the ConfigMap default only applies to TLS backends');
  assert.equal(policy(r).upstreamTls, null);
});

test('backend-ca-secret and backend-tls-server-name without verification are warnings', () => {
  const r = run([ing({ 'gatehouse.io/backend-ca-secret': 'ca', 'gatehouse.io/backend-tls-server-name': 'api.internal' }), service('web')]);
  only(warnings(r, 'a'), 'metadata.annotations["gatehouse.io/backend-ca-secret"]');
  only(warnings(r, 'a'), 'metadata.annotations["gatehouse.io/backend-tls-server-name"]');
  assert.equal(policy(r).upstreamTls, null);
  const bad = run([ing({ 'gatehouse.io/backend-ca-secret': 'Bad_Name', 'gatehouse.io/backend-tls-server-name': '*.internal' }), service('web')]);
  only(errors(bad, 'a'), 'metadata.annotations["gatehouse.io/backend-ca-secret"]');
  only(errors(bad, 'a'), 'metadata.annotations["gatehouse.io/backend-tls-server-name"]');
});

test('SETTINGS describes every key once, with scope, default and description', () => {
  const names = SETTINGS.map((s) => s.name);
  assert.equal(new Set(names).size, names.length);
  for (const c of CASES) assert.ok(names.includes(c.key), c.key);
  for (const k of ['session-cookie-name', 'backend-ca-secret', 'backend-tls-server-name', 'client-timeout', 'https-redirect-port', 'ssl-min-version']) assert.ok(names.includes(k), k);
  const crypto = ['crypto-offload', 'ssl-provider', 'ssl-provider-path', 'ssl-propquery', 'ssl-mode-async', 'ssl-engine', 'ssl-engine-algos'];
  for (const k of crypto) assert.equal(SETTINGS.find((s) => s.name === k)?.flag, true, `${k} is also a flag`);
  assert.deepEqual(SETTINGS.filter((s) => s.flag).map((s) => s.name), crypto);
  assert.equal(names.length, 29);
  for (const s of SETTINGS) {
    assert.ok(s.description.length > 10 && !s.description.includes('\n'), s.name);
    assert.ok(s.scope === 'ingress' || s.scope === 'global');
    assert.equal(s.scope === 'global', !s.annotation, s.name);
  }
  assert.equal(SETTINGS.find((s) => s.name === 'client-timeout')!.scope, 'global');
  assert.equal(SETTINGS.find((s) => s.name === 'server-timeout')!.default, '60s');
  assert.equal(SETTINGS.find((s) => s.name === 'backend-ca-secret')!.configMap, false);
});
