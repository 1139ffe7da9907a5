/**
 * Fuzz: random worlds of objects whose every field may be garbage (any JSON type, hostile strings).
 * translate must never throw, must be deterministic, and every string it puts in the model must
 * match a strict whitelist: nothing from a user's object reaches HAProxy unchecked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, makeCert, rng } from './helpers.js';
import { translate } from '../../src/translate/translate.js';
import { SETTINGS } from '../../src/translate/settings.js';
import { canonicalCidr, canonicalIp } from '../../src/translate/ip.js';
import type { Kind, StoredObject } from '../../src/store/objects.js';
import type { Model } from '../../src/model/types.js';

type R = () => number;
const pick = <T>(r: R, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;

const NASTY = [
  '', ' ', '  x', 'x ', '\t', '\n', '\r\n', 'a\nb', '"', "'", '`', '\\', '%[', '%[req.hdr(host)]', '%', '%2', '%zz', '#', ';', '{', '}', '$(x)', '${x}',
  'é', '日本語', '\u0000', '\u202e', '\ufeff', '🙂', 'a b', 'a"b', "a'b", 'x'.repeat(300), '/'.repeat(5), '*', '*.', '.', '..', '-', '_',
  'A.EXAMPLE.COM', 'a.example.com:80', '1.2.3.4', '1.2.3.4:80', '::1', '[::1]:443', 'http://x', 'a/b', 'true', 'false', '0', '-1', '1e9',
  '10.0.0.0/8', '10.0.0.0/8, ::1', '0.0.0.0/0', 'header:X-A', 'header:a b', 'cookie', 'none', 'HTTPS', 'grpc', '30s', '0s', '25h', '1k', '10m',
  '../../etc/passwd', 'web', 'default', 'kubernetes.io/tls', 'Exact', 'Prefix', 'ImplementationSpecific', 'Regex', 'gatehouse',
  'gatehouse.io/ingress-controller', '/', '/api', '/api/', '//', '/a b', '/a%20b', '/a#b', '/a?x=1', "/a'b", '/a;b', '/%[x]', 'IPv4', 'IPv6', 'FQDN',
];

function nasty(r: R): string {
  if (r() < 0.8) return pick(r, NASTY);
  const chars = 'aZ09-._~!$&\'()*+,;=:@/%[]#?"\\ \n\t\u00e9\u4e2d\u0000{}|^`<>';
  let s = '';
  const n = Math.floor(r() * 12);
  for (let i = 0; i < n; i++) s += chars[Math.floor(r() * chars.length)];
  return s;
}

function garbage(r: R, depth = 2): unknown {
  const k = Math.floor(r() * (depth > 0 ? 9 : 6));
  switch (k) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return pick(r, [0, -1, 1, 1.5, 80, 443, 65535, 65536, 1e308, -0, 2 ** 53]);
    case 3:
    case 4:
    case 5:
      return nasty(r);
    case 6:
    case 7: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 4);
      for (let i = 0; i < n; i++) o[pick(r, ['name', 'port', 'number', 'host', 'path', '__proto__', 'constructor', 'toString', nasty(r)])] = garbage(r, depth - 1);
      return o;
    }
    default:
      return Array.from({ length: Math.floor(r() * 3) }, () => garbage(r, depth - 1));
  }
}

/** How much garbage: each world picks a level, from almost clean to mostly garbage. */
let chaos = 0.25;
/** A good value most of the time, garbage otherwise. `p` is the chance of a good value at chaos 0.25. */
const maybe = (r: R, good: () => unknown, p = 0.75): unknown => {
  if (r() < 1 - (1 - p) * chaos * 4) return good();
  const g = good();
  return typeof g === 'string' && r() < 0.6 ? twist(r, g) : garbage(r);
};

const HOSTILE = [' ', '\n', '\r', '\t', '"', "'", '`', '\\', '%', '%[', '%zz', '#', ';', '?', '{', '}', '[', ']', '<', '>', '|', '^', '$', '*', ':', '/', ',', '=', '@', '!', '\u0000', 'é', '\u202e', '🙂', 'A', '_', '.', '-', '..'];

/** A valid value with a hostile character added, replaced or appended: the near misses. */
function twist(r: R, s: string): string {
  const c = pick(r, HOSTILE);
  const i = Math.floor(r() * (s.length + 1));
  switch (Math.floor(r() * 3)) {
    case 0:
      return s.slice(0, i) + c + s.slice(i);
    case 1:
      return s.slice(0, i) + c + s.slice(i + 1);
    default:
      return s + c;
  }
}

const HOSTS = ['a.example.com', 'B.Example.com', '*.w.example.com', 'x.w.example.com', 'localhost'];
const PATHS = ['/', '/api', '/api/', '/x/y', '//', "/a-._~!$&'()*+,;=:@%2F"];
const SERVICES = ['web', 'api', 'ghost'];
const NAMESPACES = ['default', 'default', 'default', 'default', 'prod'];
const SECRETS = ['a-tls', 'b-tls', 'ca', 'ghost-tls'];

const CERT = makeCert('a.example.com', ['a.example.com', '*.w.example.com']);
const OTHER = makeCert('b.example.com', ['b.example.com']);

function backendRef(r: R): unknown {
  return maybe(r, () => ({
    service: maybe(r, () => ({
      name: maybe(r, () => pick(r, ['web', 'web', 'api', 'api', 'ghost']), 0.85),
      port: maybe(r, () => (r() < 0.6 ? { number: maybe(r, () => pick(r, [80, 8080]), 0.85) } : { name: maybe(r, () => pick(r, ['http', 'metrics']), 0.85) })),
    })),
  }));
}

const GOOD_VALUES: Readonly<Record<string, readonly string[]>> = {
  'ssl-redirect': ['true', 'false'],
  hsts: ['true', 'false'],
  'hsts-max-age': ['0', '600'],
  'hsts-include-subdomains': ['true'],
  'hsts-preload': ['true'],
  'server-timeout': ['30s', '1500ms', '2m'],
  'connect-timeout': ['1s', '5'],
  'load-balance': ['leastconn', 'source', 'header:X-Tenant', "header:x-a!#$%&'*+.^_`|~"],
  'session-affinity': ['cookie', 'none'],
  'session-cookie-name': ['SID', "a!#$%&'*+.^_`|~-z"],
  'allow-source-ranges': ['10.0.0.0/8', '10.1.2.3/8, 2001:DB8::1/48', '192.168.0.1'],
  'deny-source-ranges': ['::1', '0.0.0.0/0'],
  'rate-limit-rps': ['0', '100'],
  'max-body-size': ['1m', '512k', '100'],
  'backend-protocol': ['HTTPS', 'grpcs', 'H2C', 'http'],
  'backend-tls-verify': ['true', 'false'],
  'backend-ca-secret': ['ca'],
  'backend-tls-server-name': ['API.internal', 'svc.prod.svc.cluster.local'],
  'client-timeout': ['30s'],
  'https-redirect-port': ['8443'],
  'ssl-min-version': ['TLSv1.3'],
};

function settingValue(r: R, name: string): unknown {
  const x = r();
  const good = pick(r, GOOD_VALUES[name] ?? ['x']);
  if (x < 1 - chaos * 2) return good;
  if (x < 1 - chaos) return twist(r, good);
  return x < 1 - chaos / 2 ? nasty(r) : garbage(r);
}

function annotations(r: R): Record<string, unknown> {
  const a: Record<string, unknown> = {};
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) {
    if (r() < 1 - chaos) {
      const name = pick(r, SETTINGS).name;
      a[`gatehouse.io/${name}`] = settingValue(r, name);
    } else {
      a[pick(r, ['gatehouse.io/typo', 'kubernetes.io/ingress.class', nasty(r)])] = r() < 0.5 ? nasty(r) : garbage(r);
    }
  }
  if (a['gatehouse.io/backend-tls-verify'] === 'true' && r() < 0.8) {
    a['gatehouse.io/backend-protocol'] = 'HTTPS';
    a['gatehouse.io/backend-ca-secret'] = 'ca';
  }
  // Bundles that make a string reach the model, with a near miss half of the time.
  const near = (name: string) => {
    const good = pick(r, GOOD_VALUES[name]!);
    return r() < 0.5 ? good : twist(r, good);
  };
  if (r() < 0.25) {
    a['gatehouse.io/session-affinity'] = 'cookie';
    a['gatehouse.io/session-cookie-name'] = near('session-cookie-name');
  }
  if (r() < 0.25) a['gatehouse.io/load-balance'] = near('load-balance');
  if (r() < 0.25) a[`gatehouse.io/${pick(r, ['allow', 'deny'])}-source-ranges`] = near('allow-source-ranges');
  if (r() < 0.2) {
    a['gatehouse.io/backend-protocol'] = pick(r, ['HTTPS', 'GRPCS']);
    a['gatehouse.io/backend-tls-verify'] = 'true';
    a['gatehouse.io/backend-ca-secret'] = 'ca';
    a['gatehouse.io/backend-tls-server-name'] = near('backend-tls-server-name');
  }
  return a;
}

function envelope(r: R, kind: Kind, name: string, raw: Record<string, unknown>, extra: Partial<StoredObject> = {}): StoredObject {
  const o = {
    kind,
    apiVersion: 'v1',
    namespace: kind === 'IngressClass' ? '' : r() < 1 - chaos / 2 ? pick(r, NAMESPACES) : nasty(r),
    name: r() < 1 - chaos / 2 ? name : nasty(r),
    annotations: r() < 0.95 ? annotations(r) : garbage(r),
    labels: {},
    raw,
    ...extra,
  } as StoredObject;
  if (r() < 0.6) o.creationTimestamp = r() < 0.8 ? `2024-0${1 + Math.floor(r() * 9)}-01T00:00:0${Math.floor(r() * 3)}Z` : (garbage(r) as string);
  return o;
}

function world(r: R): StoredObject[] {
  chaos = pick(r, [0.01, 0.03, 0.1, 0.25]);
  const out: StoredObject[] = [];
  const nIng = 1 + Math.floor(r() * 5);
  for (let i = 0; i < nIng; i++) {
    const spec: Record<string, unknown> = {
      ingressClassName: maybe(r, () => pick(r, ['gatehouse', 'gatehouse', 'edge', 'nginx']), 0.9),
    };
    if (r() < 0.8) {
      spec['rules'] = maybe(r, () =>
        Array.from({ length: 1 + Math.floor(r() * 3) }, () =>
          maybe(r, () => ({
            host: maybe(r, () => pick(r, HOSTS), 0.8),
            http: maybe(r, () => ({
              paths: maybe(r, () =>
                Array.from({ length: 1 + Math.floor(r() * 3) }, () =>
                  maybe(r, () => ({
                    path: maybe(r, () => pick(r, PATHS), 0.8),
                    pathType: maybe(r, () => pick(r, ['Prefix', 'Exact', 'ImplementationSpecific']), 0.85),
                    backend: backendRef(r),
                  })),
                ),
              ),
            })),
          })),
        ),
      );
    }
    if (r() < 0.4) spec['defaultBackend'] = backendRef(r);
    if (r() < 0.5) {
      spec['tls'] = maybe(r, () => [
        maybe(r, () => ({ hosts: maybe(r, () => [pick(r, HOSTS), maybe(r, () => pick(r, HOSTS))]), secretName: maybe(r, () => pick(r, SECRETS), 0.8) })),
      ]);
    }
    out.push(envelope(r, 'Ingress', `ing-${i}`, r() < 0.95 ? { spec: maybe(r, () => spec, 0.9) } : (garbage(r, 3) as Record<string, unknown>) ?? {}));
  }
  for (const svc of SERVICES.slice(0, 2)) {
    if (r() < 0.9) {
      out.push(envelope(r, 'Service', svc, { spec: maybe(r, () => ({ type: maybe(r, () => pick(r, ['ClusterIP', 'ExternalName']), 0.9), ports: maybe(r, () => [{ port: 80, name: maybe(r, () => 'http', 0.9) }, { port: 8080, name: 'metrics' }]) })) }));
    }
    const nSlices = 1 + Math.floor(r() * 3);
    for (let j = 0; j < nSlices; j++) {
      out.push(
        envelope(
          r,
          'EndpointSlice',
          `${svc}-${j}`,
          {
            addressType: maybe(r, () => pick(r, ['IPv4', 'IPv4', 'IPv4', 'IPv6', 'FQDN']), 0.9),
            ports: maybe(r, () =>
              r() < 0.7
                ? [{ name: 'http', port: pick(r, [8080, 8081]) }, { name: 'metrics', port: 9000 }]
                : [{ name: maybe(r, () => pick(r, ['http', 'metrics', ''])), port: maybe(r, () => pick(r, [8080, 9000]), 0.9) }],
            ),
            endpoints: maybe(r, () =>
              Array.from({ length: 1 + Math.floor(r() * 4) }, () =>
                maybe(r, () => ({
                  addresses: maybe(r, () => [maybe(r, () => pick(r, ['10.0.0.1', '10.0.0.2', '10.0.0.3', 'fd00::1', '2001:DB8::0:1', '010.0.0.1', 'fe80::1%eth0', 'a.example.com']), 0.8)]),
                  conditions: maybe(r, () => ({ ready: maybe(r, () => r() < 0.4), serving: maybe(r, () => r() < 0.5), terminating: maybe(r, () => r() < 0.5) })),
                })),
              ),
            ),
          },
          { labels: (r() < 0.9 ? { 'kubernetes.io/service-name': svc } : garbage(r)) as Record<string, string> },
        ),
      );
    }
  }
  for (const s of SECRETS.slice(0, 3)) {
    if (r() < 0.2) continue;
    const pair = r() < 0.8 ? CERT : { cert: CERT.cert, key: OTHER.key };
    const data: Record<string, unknown> = {
      'tls.crt': maybe(r, () => b64(pair.cert), 0.8),
      'tls.key': maybe(r, () => b64(pair.key), 0.8),
    };
    if (s === 'ca') data['ca.crt'] = maybe(r, () => b64(OTHER.cert));
    out.push(envelope(r, 'Secret', s, { type: maybe(r, () => 'kubernetes.io/tls', 0.85), data: maybe(r, () => data, 0.9), ...(r() < 0.1 ? { stringData: garbage(r) } : {}) }));
  }
  if (r() < 0.7) {
    const data: Record<string, unknown> = {};
    const n = Math.floor(r() * 5);
    for (let i = 0; i < n; i++) {
      const name = r() < 0.9 ? pick(r, SETTINGS).name : nasty(r);
      data[name] = settingValue(r, name);
    }
    out.push(envelope(r, 'ConfigMap', 'gatehouse', { data: maybe(r, () => data, 0.9) }));
  }
  if (r() < 0.5) out.push(envelope(r, 'IngressClass', pick(r, ['edge', 'gatehouse', 'nginx']), { spec: maybe(r, () => ({ controller: pick(r, ['gatehouse.io/ingress-controller', 'k8s.io/ingress-nginx']) })) }));
  return out;
}

// The whitelists: what the renderer may rely on.
const LABEL = '[a-z0-9]([a-z0-9-]*[a-z0-9])?';
const DNS = `${LABEL}(\\.${LABEL})*`;
const HOST = new RegExp(`^(\\*|(\\*\\.)?${DNS})$`);
const SERVER_NAME = new RegExp(`^${DNS}$`);
const PATH = /^\/([A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2}){0,1023}$/;
const BACKEND = /^[a-z0-9-]{1,63}_[a-z0-9.-]{1,253}_[a-z][a-z0-9-]{0,62}_([0-9]{1,5}|[a-z0-9-]{1,15})$/;
const CERT_NAME = /^[a-z0-9-]{1,63}_[a-z0-9.-]{1,253}$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]{1,128}$/;
const COOKIE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
const PEM = /^(-----BEGIN (CERTIFICATE|PRIVATE KEY)-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END \2-----\n)+$/;
const PRINTABLE = /^[\x20-\x7e]*$/;

function checkModel(m: Model, where: string): void {
  const ok = (cond: boolean, what: string) => assert.ok(cond, `${where}: ${what}`);
  const int = (n: number, lo: number, hi: number) => Number.isSafeInteger(n) && n >= lo && n <= hi;
  ok(int(m.settings.clientTimeoutMs, 1, 86_400_000) && int(m.settings.httpsRedirectPort, 1, 65535), 'global settings');
  ok(m.settings.sslMinVersion === 'TLSv1.2' || m.settings.sslMinVersion === 'TLSv1.3', 'ssl min version');
  const names = new Set(m.backends.map((b) => b.name));
  for (const x of m.routes) {
    ok(HOST.test(x.host), `route host ${JSON.stringify(x.host)}`);
    ok(x.pathType === 'Default' ? x.path === '' : PATH.test(x.path), `route path ${JSON.stringify(x.path)}`);
    ok(x.pathType !== 'Prefix' || x.path === '/' || !x.path.endsWith('/'), `prefix normalised ${x.path}`);
    ok(BACKEND.test(x.backend) && names.has(x.backend), `route backend ${JSON.stringify(x.backend)}`);
    ok(typeof x.redirectToHttps === 'boolean' && (x.host !== '*' || !x.redirectToHttps), 'redirect');
  }
  for (const b of m.backends) {
    ok(BACKEND.test(b.name), `backend name ${JSON.stringify(b.name)}`);
    ok(b.name === `${b.service.namespace}_${b.source.name}_${b.service.name}_${b.service.port}`, 'backend name parts');
    for (const e of b.endpoints) {
      ok(canonicalIp(e.address) === e.address, `endpoint address ${JSON.stringify(e.address)}`);
      ok(int(e.port, 1, 65535) && (e.state === 'ready' || e.state === 'terminating'), 'endpoint port/state');
    }
    ok(new Set(b.endpoints.map((e) => `${e.address}|${e.port}`)).size === b.endpoints.length, 'endpoints unique');
    ok(b.endpoints.every((e) => e.state === b.endpoints[0]!.state), 'one endpoint state per backend');
    ok(b.problem === undefined || (PRINTABLE.test(b.problem) && b.endpoints.length === 0), `problem ${JSON.stringify(b.problem)}`);
    const p = b.policy;
    ok(['roundrobin', 'leastconn', 'source', 'header'].includes(p.balance.kind), 'balance');
    if (p.balance.kind === 'header') ok(TOKEN.test(p.balance.header), `header ${JSON.stringify(p.balance.header)}`);
    ok(p.affinityCookie === null || COOKIE.test(p.affinityCookie), `cookie ${JSON.stringify(p.affinityCookie)}`);
    ok(['http', 'https', 'h2c', 'h2'].includes(p.protocol), 'protocol');
    if (p.upstreamTls) {
      ok(p.protocol === 'https' || p.protocol === 'h2', 'upstream TLS only with TLS protocols');
      ok(PEM.test(p.upstreamTls.caPem), 'CA PEM');
      ok(p.upstreamTls.serverName === null || SERVER_NAME.test(p.upstreamTls.serverName), `server name ${JSON.stringify(p.upstreamTls.serverName)}`);
    }
    ok(int(p.serverTimeoutMs, 1, 86_400_000) && int(p.connectTimeoutMs, 1, 86_400_000), 'timeouts');
    for (const c of [...p.allowSourceRanges, ...p.denySourceRanges]) ok(/^[0-9a-f.:]+\/[0-9]{1,3}$/.test(c) && canonicalCidr(c) === c, `cidr ${JSON.stringify(c)}`);
    ok(int(p.rateLimitRps, 0, 1_000_000) && int(p.maxBodyBytes, 0, Number.MAX_SAFE_INTEGER), 'limits');
    if (p.hsts) ok(int(p.hsts.maxAgeSeconds, 0, 2 ** 31 - 1), 'hsts');
  }
  for (const c of m.certificates) {
    ok(CERT_NAME.test(c.name) && c.name === `${c.secret.namespace}_${c.secret.name}`, `cert name ${JSON.stringify(c.name)}`);
    ok(c.hosts.length > 0 && c.hosts.every((h) => h !== '*' && HOST.test(h)), `cert hosts ${JSON.stringify(c.hosts)}`);
    ok(PEM.test(c.pem) && c.pem.includes('PRIVATE KEY'), 'cert PEM');
    ok(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(c.notAfter), 'notAfter');
  }
}

test('fuzz: garbage in every field never throws, is deterministic, and the model holds only whitelisted strings', () => {
  const now = new Date();
  let routes = 0;
  let certs = 0;
  let errors = 0;
  const features = { header: 0, cookie: 0, cidr: 0, upstreamTls: 0, endpoints: 0, terminating: 0, redirect: 0, defaultRoute: 0, fallback: 0 };
  const N = 1000;
  for (let seed = 1; seed <= N; seed++) {
    const r = rng(seed);
    const objects = world(r);
    const input = { objects, ingressClass: 'gatehouse', configMap: { name: 'gatehouse' }, now };
    let result;
    try {
      result = translate(input);
    } catch (e) {
      assert.fail(`seed ${seed}: translate threw ${(e as Error).stack}`);
    }
    checkModel(result.model, `seed ${seed}`);
    for (const d of result.diagnostics) {
      assert.ok(d.severity === 'error' || d.severity === 'warning');
      assert.ok(!/[\u0000-\u001f]/.test(d.message) && !/[\u0000-\u001f]/.test(d.field), `seed ${seed}: control characters in ${JSON.stringify(d)}`);
    }
    const again = translate({ ...input, objects: [...objects].reverse(), lastAccepted: undefined });
    assert.deepEqual(again, result, `seed ${seed}: order changed the result`);
    // A next round where some Ingresses and Secrets were edited, some badly: lastAccepted in use.
    const edited = objects.map((o) => (o.kind !== 'Ingress' && o.kind !== 'Secret') || r() < 0.6 ? o : { ...o, raw: r() < 0.5 ? { ...o.raw, spec: garbage(r) } : { ...o.raw, data: garbage(r), type: garbage(r) } });
    const next = translate({ ...input, objects: edited, lastAccepted: result.accepted });
    checkModel(next.model, `seed ${seed} with lastAccepted`);
    for (const b of result.model.backends) {
      if (b.policy.balance.kind === 'header') features.header++;
      if (b.policy.affinityCookie) features.cookie++;
      if (b.policy.allowSourceRanges.length + b.policy.denySourceRanges.length) features.cidr++;
      if (b.policy.upstreamTls) features.upstreamTls++;
      features.endpoints += b.endpoints.length;
      if (b.endpoints.some((e) => e.state === 'terminating')) features.terminating++;
    }
    features.redirect += result.model.routes.filter((x) => x.redirectToHttps).length;
    features.defaultRoute += result.model.routes.filter((x) => x.pathType === 'Default').length;
    features.fallback += next.diagnostics.filter((d) => d.message.startsWith('serving the last')).length;
    routes += result.model.routes.length;
    certs += result.model.certificates.length;
    errors += result.diagnostics.filter((d) => d.severity === 'error').length;
  }
  if (process.env.FUZZ_STATS) console.log({ routes, certs, errors, ...features });
  // The generator must reach the interesting parts, or this test proves nothing.
  assert.ok(routes > N / 2, `routes produced: ${routes}`);
  assert.ok(certs > 5, `certificates produced: ${certs}`);
  assert.ok(errors > N, `errors produced: ${errors}`);
  for (const [k, v] of Object.entries(features)) assert.ok(v > 0, `the fuzz never produced ${k}`);
});

test('fuzz: lastAccepted holding garbage never throws', () => {
  const r = rng(777);
  for (let i = 0; i < 100; i++) {
    const objects = world(r);
    const last = new Map<string, StoredObject>();
    for (const o of objects) last.set(`${o.kind}/${o.namespace}/${o.name}`, { ...o, raw: r() < 0.5 ? (garbage(r, 3) as Record<string, unknown>) : o.raw });
    const res = translate({ objects: world(r), ingressClass: 'gatehouse', configMap: { name: 'gatehouse' }, now: new Date(), lastAccepted: last });
    checkModel(res.model, `lastAccepted ${i}`);
  }
});
