import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { layout } from '../../src/haproxy/layout.js';
import { render, type RenderInput } from '../../src/haproxy/render.js';
import { nextSlots } from '../../src/plan/plan.js';
import { backend, certificate, model, route } from '../helpers/model.js';
import { makeCert } from '../helpers/certs.js';
import { builtinCrypto } from '../../src/crypto/settings.js';

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'golden');
const FAKE_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function fullModel(pem: string) {
  return model({
    settings: { clientTimeoutMs: 30000, httpsRedirectPort: 8443, sslMinVersion: 'TLSv1.2', workerThreads: 0, crypto: builtinCrypto() },
    backends: [
      backend('default_web_web_80', [['10.0.0.2', 8080], ['10.0.0.1', 8080]]),
      backend('shop_api_api_grpc', [['fd00::1', 9000]], {
        balance: { kind: 'header', header: 'X-User' },
        protocol: 'h2',
        upstreamTls: { caPem: pem, serverName: 'api.internal' },
        affinityCookie: 'GH',
        allowSourceRanges: ['10.0.0.0/8', '2001:db8::/32'],
        denySourceRanges: ['10.1.0.0/16'],
        rateLimitRps: 50,
        maxBodyBytes: 1048576,
        hsts: { maxAgeSeconds: 600, includeSubdomains: true, preload: true },
        serverTimeoutMs: 120000,
        connectTimeoutMs: 2000,
      }),
      backend('default_web_static_80', [], { balance: { kind: 'source' }, protocol: 'h2c', hsts: null }),
    ],
    routes: [
      route('a.example.com', 'Prefix', '/', 'default_web_web_80', true),
      route('a.example.com', 'Exact', '/api', 'shop_api_api_grpc', true),
      route('*.example.com', 'Prefix', '/static', 'default_web_static_80'),
      route('*', 'Default', '', 'default_web_static_80'),
    ],
    certificates: [certificate('default_web-tls', pem, ['*.example.com', 'a.example.com'])],
  });
}

function input(stateDir: string, pem: string): RenderInput {
  const m = fullModel(pem);
  return { model: m, slots: nextSlots(undefined, m), layout: layout(stateDir), listen: { address: '127.0.0.1', httpPort: 8080, httpsPort: 8443 }, flows: true };
}

test('the rendered configuration matches the golden file', () => {
  const out = render(input('/var/lib/gatehouse', FAKE_PEM));
  const golden = join(goldenDir, 'full.cfg');
  if (process.env.UPDATE_GOLDEN) writeFileSync(golden, out.config);
  assert.equal(out.config, readFileSync(golden, 'utf8'));
  assert.equal(out.files.get('/var/lib/gatehouse/maps/exact.map'), '*.example.com/static -:default_web_static_80:P/static\na.example.com/api R:shop_api_api_grpc:E/api\n');
  assert.equal(out.files.get('/var/lib/gatehouse/crt-list.txt'), '/var/lib/gatehouse/certs/default_web-tls.pem *.example.com a.example.com\n');
});

test('rendering is deterministic and the structure hides only server addresses', () => {
  const a = render(input('/var/lib/gatehouse', FAKE_PEM));
  const b = render(input('/var/lib/gatehouse', FAKE_PEM));
  assert.equal(a.config, b.config);
  const moved = input('/var/lib/gatehouse', FAKE_PEM);
  const m = { ...moved.model, backends: moved.model.backends.map((x) => (x.name === 'default_web_web_80' ? { ...x, endpoints: [{ address: '10.9.9.9', port: 80, state: 'ready' as const }] } : x)) };
  const c = render({ ...moved, model: m, slots: nextSlots(undefined, m) });
  assert.notEqual(c.config, a.config);
  assert.equal(c.structure, a.structure);
});

test('haproxy -c accepts the rendered configuration', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-render-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cert = makeCert(['a.example.com', '*.example.com']);
  const out = render(input(dir, cert.pem));
  for (const sub of ['maps', 'certs', 'ca', 'run']) mkdirSync(join(dir, sub), { recursive: true });
  for (const [path, text] of out.files) writeFileSync(path, text);
  writeFileSync(join(dir, 'certs', 'default.pem'), cert.pem);
  writeFileSync(join(dir, 'haproxy.cfg'), out.config);
  const result = execFileSync('haproxy', ['-c', '-f', join(dir, 'haproxy.cfg')], { encoding: 'utf8', stdio: 'pipe' });
  assert.match(result, /Configuration file is valid/);
});
