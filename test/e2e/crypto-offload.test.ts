import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEchoBackend, type EchoBackend } from '../helpers/backends.js';
import { makeCert } from '../helpers/certs.js';
import { request } from '../helpers/client.js';
import { startGateway, type GatewayStatusDoc, type RunningGateway } from '../helpers/gateway.js';
import { configMap, ingress, service, tlsSecret, yamlOf } from '../helpers/manifests.js';
import { waitFor } from '../helpers/wait.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

type CryptoDoc = { mode: string; setting: string; providers: string[]; devices: string[]; reason: string };
const crypto = async (gw: RunningGateway): Promise<CryptoDoc> => ((await gw.status()) as GatewayStatusDoc & { crypto: CryptoDoc }).crypto;

/** The environment without accelerator variables; `extra` adds some (what the device plugin sets). */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^QAT\d+$/.test(k) && k !== 'TPM2OPENSSL_TCTI'));
  return { ...e, ...extra };
}

/** The variables the device plugin's Allocate gives a container with two QAT VFs. */
const PLUGIN_ENV = { QAT0: '0000:6b:00.1', QAT1: '0000:6b:00.2' };

describe('TLS offload in the running gateway', () => {
  const cert = makeCert(['secure.test']);
  let web: EchoBackend;
  let devRoot: string;
  const gateways: RunningGateway[] = [];
  const site = (cm: Record<string, string> = {}) =>
    yamlOf(
      configMap(cm),
      ...service('web', [{ port: web.port }]),
      tlsSecret('secure-tls', cert.cert, cert.key),
      ingress('secure', { tls: [{ hosts: ['secure.test'], secretName: 'secure-tls' }], rules: [{ host: 'secure.test', paths: [{ path: '/', service: 'web' }] }] }),
    );
  const https = () => ({ host: 'secure.test', tls: { servername: 'secure.test' } });
  const start = async (args: string[], extraEnv: Record<string, string> = {}, cm: Record<string, string> = {}, wait: 'ready' | 'applied' = 'ready') => {
    const gw = await startGateway(site(cm), ['--dev-root', devRoot, ...args], { env: env(extraEnv), wait });
    gateways.push(gw);
    return gw;
  };

  before(async () => {
    web = await startEchoBackend('web');
    devRoot = mkdtempSync(join(tmpdir(), 'gh-dev-'));
  });
  after(async () => {
    for (const gw of gateways) await gw.stop();
    await web?.close();
    rmSync(devRoot, { recursive: true, force: true });
  });

  test('nothing configured: software, said in /status, the metric and the log', async () => {
    const gw = await start([]);
    const c = await crypto(gw);
    assert.deepEqual([c.mode, c.setting, c.providers, c.devices], ['software', 'auto', [], []]);
    assert.match(c.reason, /no ssl-provider or ssl-engine is set/);
    assert.match(await gw.metrics(), /gatehouse_crypto_offload_info\{mode="software",setting="auto",provider="none",devices="0"\} 1/);
    assert.match(gw.logs(), /"msg":"TLS offload: software: no ssl-provider or ssl-engine is set/);
    assert.match(gw.logs(), /"msg":"HAProxy 2\.\d+[^"]* on OpenSSL 3/);
    assert.equal((await request(gw.httpsPort, https())).status, 200);
    await gw.stop();
  });

  test('auto with the plugin\'s devices and a provider that loads: offloaded, and back to software when the ConfigMap turns it off', async () => {
    // `legacy` stands in for the accelerator's provider (a real provider that HAProxy loads); the
    // handshake through a provider that holds the key is test/crypto/tpm-provider.test.ts.
    const gw = await start(['--ssl-provider', 'legacy'], PLUGIN_ENV);
    const c = await crypto(gw);
    assert.equal(c.mode, 'offload', c.reason);
    assert.deepEqual(c.providers, ['legacy']);
    assert.deepEqual(c.devices, ['QAT0=0000:6b:00.1', 'QAT1=0000:6b:00.2']);
    assert.match(await gw.metrics(), /gatehouse_crypto_offload_info\{mode="offload",setting="auto",provider="legacy",devices="2"\} 1/);
    const cfg = () => readFileSync(join(gw.dir, 'state', 'haproxy.cfg'), 'utf8');
    assert.match(cfg(), /\n  ssl-provider legacy\n  ssl-provider default\n/);
    const reply = await request(gw.httpsPort, https());
    assert.equal(reply.status, 200);
    assert.equal(reply.certCN, 'secure.test');

    await gw.update(site({ 'crypto-offload': 'off' }), (s) => (s as { crypto?: CryptoDoc }).crypto?.mode === 'software');
    assert.doesNotMatch(cfg(), /ssl-provider/);
    assert.match((await crypto(gw)).reason, /crypto-offload is off/);
    assert.match(await gw.metrics(), /gatehouse_crypto_offload_info\{mode="software",setting="off",provider="legacy",devices="2"\} 1/);
    assert.equal((await request(gw.httpsPort, https())).status, 200);
    await gw.stop();
  });

  test('auto with a provider that does not load: software, with HAProxy\'s reason, still serving', async () => {
    const gw = await start(['--ssl-provider', 'qatprovider', '--ssl-provider-path', devRoot], PLUGIN_ENV);
    const c = await crypto(gw);
    assert.equal(c.mode, 'software');
    assert.match(c.reason, /HAProxy could not load qatprovider: .*qatprovider.*: TLS is done in software/);
    assert.match(gw.logs(), /"level":"warn","msg":"TLS offload: software: HAProxy could not load qatprovider/);
    assert.equal((await request(gw.httpsPort, https())).status, 200);
    await gw.stop();
  });

  test('required without devices: no HTTPS and not ready, HTTP still served; allowed again by the ConfigMap', async () => {
    const gw = await start([], {}, { 'crypto-offload': 'required', 'ssl-provider': 'legacy', 'ssl-redirect': 'false' }, 'applied');
    const c = await crypto(gw);
    assert.equal(c.mode, 'refused');
    assert.match(c.reason, /^crypto-offload is required, but this pod has no accelerator device/);
    assert.equal((await fetch(`http://127.0.0.1:${gw.adminPort}/readyz`)).status, 503);
    assert.equal((await gw.status()).ready, false);
    await assert.rejects(request(gw.httpsPort, https()), /ECONNREFUSED/);
    assert.equal((await request(gw.httpPort, { host: 'secure.test' })).status, 200);
    assert.match(gw.logs(), /"level":"error","msg":"TLS offload: refused: crypto-offload is required/);

    await gw.update(site({ 'crypto-offload': 'auto', 'ssl-provider': 'legacy', 'ssl-redirect': 'false' }), (s) => s.ready);
    assert.equal((await crypto(gw)).mode, 'software');
    await waitFor(async () => (await request(gw.httpsPort, https()).catch(() => null))?.status === 200, 5000, 'HTTPS served again');
    await gw.stop();
  });

  test('ssl-engine in the ConfigMap on an HAProxy without ENGINE: the key is refused with a pointer to providers, the rest serves', async () => {
    const gw = await start([], {}, { 'ssl-engine': 'qat', 'client-timeout': '30s' });
    const d = (await gw.status()).diagnostics.find((x) => x.field === 'data["ssl-engine"]');
    assert.ok(d, 'a diagnostic for data["ssl-engine"]');
    assert.equal(d.severity, 'error');
    assert.equal(d.object.kind, 'ConfigMap');
    assert.match(d.message, /has none \("haproxy -vv" lists -ENGINE\).*set ssl-provider instead/);
    assert.equal((await crypto(gw)).mode, 'software');
    assert.equal((await request(gw.httpsPort, https())).status, 200);
    await gw.stop();
  });

  test('--ssl-engine on the command line: exit 2 with the same explanation', () => {
    const r = spawnSync(process.execPath, [CLI, 'run', '--manifests', devRoot, '--ssl-engine', 'qat'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--ssl-engine: ssl-engine needs an HAProxy built with ENGINE support.*ssl-provider "qatprovider"/);
    const bad = spawnSync(process.execPath, [CLI, 'run', '--manifests', devRoot, '--crypto-offload', 'always'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--crypto-offload: "always" is not an offload mode: write auto, required or off/);
  });
});
