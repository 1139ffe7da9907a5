import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layout } from '../../src/haproxy/layout.js';
import { render } from '../../src/haproxy/render.js';
import { nextSlots } from '../../src/plan/plan.js';
import type { StoredObject } from '../../src/store/objects.js';
import { translate } from '../../src/translate/translate.js';
import { makeCert } from '../helpers/certs.js';

/** A small seeded generator, so a failure can be replayed from its seed. */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  return { next, pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!, int: (n: number) => Math.floor(next() * n) };
}

// Values an attacker would try: configuration injection, sample fetches, newlines, quotes.
const EVIL = ['\n  http-request deny', '"; lua-load /tmp/x', '%[env(HOME)]', '${HOME}', 'a b', '#x', '\\', "'", '}', '\r\n', 'x;y', '\u0000', 'é.example.com', '*', '..', '-a', 'a'.repeat(300)];
const HOSTS = ['a.example.com', '*.example.com', 'A.EXAMPLE.COM', 'x', 'xn--bcher-kva.example', 'b.example.com'];
const BAD_HOSTS = ['', '*.*.com', 'a..b', 'a.b:80', ...EVIL];
const PATHS = ['/', '/foo', '/foo/', '//', '/%20', '/x;y', "/it's", '/$x', '/a(b)*', '/@:+,='];
const BAD_PATHS = ['/a b', '/%zz', '/{x}', 'foo', '', '/é', ...EVIL];
const ANN = ['true', 'false', '10s', '1m', '0', 'roundrobin', 'header:X-User', 'cookie', '10.0.0.0/8', '10.0.0.0/8,::1', 'GRPCS', 'HTTPS', '1k'];
const BAD_ANN = ['-1', '99999999999', 'header:X User', '10.0.0.0/33', ...EVIL];
const KEYS: readonly string[] = ['ssl-redirect', 'hsts', 'hsts-max-age', 'server-timeout', 'connect-timeout', 'load-balance', 'session-affinity', 'session-cookie-name', 'allow-source-ranges', 'deny-source-ranges', 'rate-limit-rps', 'max-body-size', 'backend-protocol', 'backend-tls-verify', 'backend-tls-server-name', 'backend-ca-secret', 'snippet'];
const NAMES = ['web', 'api', 'Web', 'a_b', 'a.b', 'x'.repeat(70), ...EVIL];

function randomObjects(seed: number, pem: { cert: string; key: string }): StoredObject[] {
  const r = rng(seed);
  const some = <T>(good: readonly T[], bad: readonly T[]): T => (r.next() < 0.95 ? r.pick(good) : r.pick(bad));
  const obj = (kind: StoredObject['kind'], name: string, raw: Record<string, unknown>, annotations: Record<string, string> = {}): StoredObject => ({
    kind, apiVersion: 'x', namespace: some(['default'], ['Bad NS', 'a_b']), name, annotations, labels: {}, raw,
  });
  const objects: StoredObject[] = [];
  for (const svc of ['web', 'api']) {
    objects.push(obj('Service', svc, { spec: { ports: [{ name: 'http', port: 80 }] } }));
    objects.push({ ...obj('EndpointSlice', `${svc}-1`, { addressType: 'IPv4', ports: [{ name: 'http', port: 8080 }], endpoints: [{ addresses: [some(['10.0.0.1', '::1'], ['x y', '10.0.0.999'])] }] }), labels: { 'kubernetes.io/service-name': svc } });
  }
  objects.push(obj('Secret', 'tls', { type: 'kubernetes.io/tls', data: { 'tls.crt': Buffer.from(pem.cert).toString('base64'), 'tls.key': Buffer.from(pem.key).toString('base64') } }));
  objects.push(obj('ConfigMap', 'gatehouse', { data: Object.fromEntries(Array.from({ length: 3 }, () => [r.pick([...KEYS, 'client-timeout', 'https-redirect-port', 'ssl-min-version']), some(ANN, BAD_ANN)])) }));
  for (let i = 0; i < 4; i++) {
    const annotations = Object.fromEntries(Array.from({ length: r.int(4) }, () => [`gatehouse.io/${r.pick(KEYS)}`, some(ANN, BAD_ANN)]));
    const rules = Array.from({ length: 1 + r.int(3) }, () => ({
      host: some(HOSTS, BAD_HOSTS),
      http: { paths: Array.from({ length: 1 + r.int(3) }, () => ({ path: some(PATHS, BAD_PATHS), pathType: some(['Exact', 'Prefix', 'ImplementationSpecific'], ['Regex', 7]), backend: { service: { name: some(['web', 'api', 'nosuch'], NAMES), port: some([{ number: 80 }, { name: 'http' }], [{ number: 70000 }, { name: EVIL[0] }]) } } })) },
    }));
    const tls = [{ hosts: [some(HOSTS, BAD_HOSTS)], secretName: some(['tls', 'missing'], [EVIL[1]]) }];
    objects.push(obj('Ingress', some([`ing${i}`], NAMES), { spec: { ingressClassName: 'gatehouse', rules, tls } }, annotations));
  }
  return objects;
}

test('random hosts, paths, names and annotation values never produce a configuration haproxy -c rejects, nor unvalidated text', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-fuzz-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const sub of ['maps', 'certs', 'ca', 'run']) mkdirSync(join(dir, sub), { recursive: true });
  const cert = makeCert(['a.example.com']);
  writeFileSync(join(dir, 'certs', 'default.pem'), cert.pem);
  const L = layout(dir);
  const forbidden = ['lua-load', 'env(', '${', 'http-request deny\n', '\r', '\u0000', "'", 'é'];
  let routes = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const { model } = translate({ objects: randomObjects(seed, cert), ingressClass: 'gatehouse', configMap: { name: 'gatehouse' }, now: new Date() });
    routes += model.routes.length;
    const out = render({ model, slots: nextSlots(undefined, model), layout: L, listen: { address: '127.0.0.1', httpPort: 18080, httpsPort: 18443 }, flows: true });
    for (const [path, text] of out.files) writeFileSync(path, text);
    writeFileSync(L.config, out.config);
    for (const bad of forbidden) assert.ok(!out.config.includes(bad), `seed ${seed}: configuration contains ${JSON.stringify(bad)}`);
    for (const [name, entries] of Object.entries(out.maps)) {
      for (const [k, v] of entries) {
        assert.match(k, /^[a-z0-9.*-]*(\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*)?$/, `seed ${seed}: ${name} key ${JSON.stringify(k)}`);
        assert.match(v, /^([a-z0-9.*-]+|[R-]:[a-z0-9.-]+(_[a-z0-9.-]+){3}:(D|[EP]\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*))$/, `seed ${seed}: ${name} value ${JSON.stringify(v)}`);
      }
    }
    try {
      execFileSync('haproxy', ['-c', '-q', '-f', L.config], { stdio: 'pipe' });
    } catch (e) {
      assert.fail(`seed ${seed}: haproxy -c failed: ${(e as { stderr?: Buffer }).stderr?.toString()}\n${out.config}`);
    }
  }
  assert.ok(routes > 40, `the generator must produce valid routes too (got ${routes})`);
});
