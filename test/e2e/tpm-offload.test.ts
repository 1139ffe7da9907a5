import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type SecureVersion } from 'node:tls';
import { startEchoBackend, type EchoBackend } from '../helpers/backends.js';
import { startGateway, type GatewayStatusDoc, type RunningGateway } from '../helpers/gateway.js';
import { configMap, ingress, service, tlsSecret, yamlOf } from '../helpers/manifests.js';
import { makeTpmKeyAndCert, startSoftwareTpm, type SoftwareTpm, type TpmKeyAndCert } from '../helpers/tpm.js';

const HOST = 'tpm.gatehouse.test';
type CryptoDoc = { mode: string; setting: string; providers: string[]; devices: string[]; reason: string };

/** A full handshake at `version` (no resumption), then GET /: the served key, the status and the body. */
function get(port: number, version: SecureVersion, ca: string): Promise<{ spki: Buffer; status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername: HOST, ca, minVersion: version, maxVersion: version });
    s.setTimeout(30_000, () => s.destroy(new Error('timed out')));
    let raw = '';
    let spki: Buffer | undefined;
    s.on('secureConnect', () => {
      spki = new X509Certificate(s.getPeerCertificate(true).raw).publicKey.export({ type: 'spki', format: 'der' });
      s.write(`GET /hello HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
    });
    s.on('data', (d: Buffer) => (raw += d.toString()));
    s.on('error', reject);
    s.on('close', () => {
      if (!spki) return reject(new Error('closed before the handshake finished'));
      resolve({ spki, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0), body: raw.slice(raw.indexOf('\r\n\r\n') + 4) });
    });
  });
}

/**
 * The whole gateway (`gatehouse run`, its HAProxy in master-worker mode) serving TLS with a key that
 * exists only inside a TPM (swtpm behind tpm2-abrmd), through the tpm2 OpenSSL provider: the
 * provider path end to end, as the QAT provider would be used (docs/acceleration.md).
 */
describe('TLS offload to a TPM through the gateway', () => {
  let dir: string;
  let tpm: SoftwareTpm;
  let key: TpmKeyAndCert;
  let web: EchoBackend;
  let gw: RunningGateway;
  const site = (cm: Record<string, string>) =>
    yamlOf(
      configMap(cm),
      ...service('web', [{ port: web.port }]),
      tlsSecret('tpm-tls', readFileSync(key.certPath, 'utf8'), readFileSync(key.keyPath, 'utf8')),
      ingress('tpm', { tls: [{ hosts: [HOST], secretName: 'tpm-tls' }], rules: [{ host: HOST, paths: [{ path: '/', service: 'web' }] }] }),
    );
  const TPM_SETTINGS = { 'ssl-provider': 'tpm2', 'ssl-propquery': '?provider=tpm2', 'crypto-offload': 'required', 'worker-threads': '1' };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-tpm-e2e-'));
    tpm = await startSoftwareTpm(dir);
    key = await makeTpmKeyAndCert(tpm, dir, { cn: HOST });
    web = await startEchoBackend('web');
    gw = await startGateway(site(TPM_SETTINGS), ['--dev-root', dir], { env: { ...process.env, ...tpm.env } });
  });
  after(async () => {
    await gw?.stop();
    await web?.close();
    await tpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is offloaded, and says so in /status, the metric and the log', async () => {
    const c = ((await gw.status()) as GatewayStatusDoc & { crypto: CryptoDoc }).crypto;
    assert.equal(c.mode, 'offload', c.reason);
    assert.equal(c.setting, 'required');
    assert.deepEqual(c.providers, ['tpm2']);
    assert.deepEqual(c.devices, [`tcti:${tpm.tcti}`]);
    assert.match(await gw.metrics(), /gatehouse_crypto_offload_info\{mode="offload",setting="required",provider="tpm2",devices="1"\} 1/);
    assert.match(gw.logs(), /"msg":"TLS offload: offload: tpm2 loaded, with 1 device"/);
    const cfg = readFileSync(join(gw.dir, 'state', 'haproxy.cfg'), 'utf8');
    assert.match(cfg, /\n  nbthread 1\n  ssl-provider tpm2\n  ssl-provider default\n  ssl-propquery \?provider=tpm2\n/);
  });

  it('serves TLS 1.3 and 1.2 with the TPM\'s key, the request reaching the backend', async () => {
    const ca = readFileSync(key.certPath, 'utf8');
    const tpmKey = createPublicKey(key.publicKeyPem).export({ type: 'spki', format: 'der' });
    for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
      for (let i = 0; i < 3; i++) {
        const r = await get(gw.httpsPort, version, ca);
        assert.ok(r.spki.equals(tpmKey), `${version}: the served certificate carries the TPM's public key`);
        assert.equal(r.status, 200, version);
        assert.match(r.body, /"backend":"web"/);
      }
    }
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => get(gw.httpsPort, 'TLSv1.3', ca)));
    assert.deepEqual(concurrent.map((r) => r.status), [200, 200, 200, 200, 200]);
  });

  it('the TPM Secret is refused, with what to set, once crypto-offload is no longer required', async () => {
    const status = await gw.update(site({ ...TPM_SETTINGS, 'crypto-offload': 'auto' }), (s) => s.diagnostics.some((d) => d.object.kind === 'Secret'));
    const d = status.diagnostics.find((x) => x.object.kind === 'Secret')!;
    assert.equal(d.object.name, 'tpm-tls');
    assert.match(d.message, /TPM-wrapped key.*crypto-offload "required"/);
    assert.equal(status.lastError, null, 'HAProxy was never given a key it could not load');
    await gw.update(site(TPM_SETTINGS), (s) => !s.diagnostics.some((x) => x.object.kind === 'Secret'));
  });

  it('fails new handshakes once the TPM is gone: the key was only ever in the TPM', async () => {
    const ca = readFileSync(key.certPath, 'utf8');
    assert.equal((await get(gw.httpsPort, 'TLSv1.3', ca)).status, 200);
    await tpm.stopSwtpm();
    await assert.rejects(get(gw.httpsPort, 'TLSv1.3', ca));
    await assert.rejects(get(gw.httpsPort, 'TLSv1.2', ca));
  });
});
