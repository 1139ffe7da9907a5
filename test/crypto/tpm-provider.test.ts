import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, type SecureVersion } from 'node:tls';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import {
  makeTpmKeyAndCert,
  providerModuleDir,
  startMasterWorkerHaproxy,
  startSoftwareTpm,
  tpmToolsMissing,
  type SoftwareTpm,
  type TpmHaproxy,
  type TpmKeyAndCert,
} from '../helpers/tpm.js';

// HAProxy 2.6 + OpenSSL 3.0 + tpm2-openssl (provider) + swtpm behind tpm2-abrmd: the TLS private key
// lives in the TPM and never in a file. docs/tpm-provider.md has the why of each setting used here.

const CN = 'tpm.gatehouse.test';

interface Handshake {
  protocol: string | null;
  /** SPKI PEM of the certificate the server presented. */
  servedPublicKey: string;
  status: number;
  body: string;
}

/** A full TLS handshake (no session reuse) at exactly `version`, verifying the chain against `ca`, then GET /. */
function handshake(port: number, version: SecureVersion, ca: string): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: CN, ca, minVersion: version, maxVersion: version });
    socket.setTimeout(30_000, () => socket.destroy(new Error(`TLS ${version} to :${port} timed out`)));
    let raw = '';
    let result: Omit<Handshake, 'status' | 'body'> | undefined;
    socket.on('secureConnect', () => {
      const cert = new X509Certificate(socket.getPeerCertificate(true).raw);
      result = { protocol: socket.getProtocol(), servedPublicKey: spki(cert.publicKey.export({ type: 'spki', format: 'pem' }).toString()) };
      socket.write(`GET / HTTP/1.1\r\nHost: ${CN}\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', (d: Buffer) => (raw += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      if (!result) return reject(new Error(`TLS ${version} to :${port} closed before the handshake finished`));
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
      resolve({ ...result, status, body: raw.slice(raw.indexOf('\r\n\r\n') + 4) });
    });
  });
}

/** A public key in one canonical SPKI PEM form, to compare keys from different tools. */
function spki(pem: string): string {
  return createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();
}

/** Resolves once HAProxy's log (stdout) has a line matching `pattern`; the log line trails the client's error. */
async function logged(h: TpmHaproxy, pattern: RegExp): Promise<void> {
  await waitFor(() => pattern.test(h.output()), 10_000, `HAProxy to log ${pattern}; it logged:\n${h.output()}`);
}

interface ConfigOpts {
  propquery?: boolean;
}

/**
 * The global section the gateway must render for a TPM key (see docs/tpm-provider.md): both providers,
 * `?provider=tpm2` so the signature is done by the TPM (OpenSSL 3.0 would otherwise pick the default
 * provider's RSA and export a public-only key to it), and one thread (tpm2-openssl 1.1.1 shares one
 * ESYS context between threads without a lock).
 */
function config(dir: string, port: number, pem: string, opts: ConfigOpts = {}): string {
  return `global
  nbthread 1
  ssl-provider-path ${providerModuleDir()}
  ssl-provider tpm2
  ssl-provider default
${opts.propquery === false ? '' : '  ssl-propquery ?provider=tpm2\n'}  stats socket ${dir}/admin.sock mode 600 level admin
  log stdout format raw local0
defaults
  mode http
  log global
  option httplog
  error-log-format "tls-error %ci:%cp %[fc_err_str] %[ssl_fc_err_str]"
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:${port} ssl crt ${pem}
  http-request return status 200 content-type text/plain string "served with the TPM key\\n"
`;
}

describe('HAProxy 2.6 with the tpm2 OpenSSL provider and a key inside a software TPM', () => {
  let dir: string;
  let tpm: SoftwareTpm | undefined;
  let rsa: TpmKeyAndCert;
  let ec: TpmKeyAndCert;
  const haproxies: TpmHaproxy[] = [];

  before(async () => {
    const missing = tpmToolsMissing();
    assert.deepEqual(missing, [], `missing for the TPM tests: ${missing.join(', ')}; run scripts/setup.sh (it installs them from Debian)`);
    dir = mkdtempSync(join(tmpdir(), 'gh-tpm-'));
    tpm = await startSoftwareTpm(dir);
    rsa = await makeTpmKeyAndCert(tpm, dir, { cn: CN, keyType: 'rsa' });
    ec = await makeTpmKeyAndCert(tpm, dir, { cn: CN, keyType: 'ec' });
  });

  after(async () => {
    for (const h of haproxies) await h.stop();
    await tpm?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function haproxy(name: string, pem: string, opts: ConfigOpts = {}): Promise<{ h: TpmHaproxy; port: number }> {
    const hdir = join(dir, name);
    mkdirSync(hdir);
    const port = await freePort();
    const h = await startMasterWorkerHaproxy(hdir, config(hdir, port, pem, opts), tpm!.env);
    haproxies.push(h);
    return { h, port };
  }

  it('keeps no private key in the clear: the key file is a TPM-wrapped TSS2 blob', () => {
    const pem = readFileSync(rsa.keyPath, 'utf8');
    assert.match(pem, /^-----BEGIN TSS2 PRIVATE KEY-----\n/);
    const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    // SEQUENCE { OID 2.23.133.10.1.3 (TPM2 loadable key), … parent, public, encrypted private }
    assert.ok(der.subarray(0, 16).includes(Buffer.from('0606678105 0a0103'.replace(/ /g, ''), 'hex')), 'TSS2 loadable-key OID');
    assert.throws(() => createPrivateKey(pem), 'no software implementation can use the key');
  });

  it('serves TLS 1.3 and TLS 1.2 from a master-worker HAProxy, signing with the TPM key', async () => {
    const { port } = await haproxy('rsa', rsa.pemPath);
    const ca = readFileSync(rsa.certPath, 'utf8');
    for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
      const r = await handshake(port, version, ca);
      assert.equal(r.protocol, version);
      assert.equal(r.status, 200, r.body);
      assert.equal(r.body, 'served with the TPM key\n');
      assert.equal(r.servedPublicKey, spki(rsa.publicKeyPem), 'the served certificate carries the TPM key');
    }
  });

  it('completes 20 sequential and 10 concurrent full handshakes, then again after a master CLI reload', async () => {
    const { h, port } = await haproxy('load', rsa.pemPath);
    const ca = readFileSync(rsa.certPath, 'utf8');
    const round = async (): Promise<void> => {
      for (let i = 0; i < 20; i++) {
        const r = await handshake(port, i % 2 === 0 ? 'TLSv1.3' : 'TLSv1.2', ca);
        assert.equal(r.status, 200, `sequential handshake ${i}`);
      }
      const concurrent = await Promise.all(Array.from({ length: 10 }, (_, i) => handshake(port, i % 2 === 0 ? 'TLSv1.3' : 'TLSv1.2', ca)));
      assert.deepEqual(concurrent.map((r) => r.status), Array(10).fill(200));
    };
    await round();
    const before = await h.workerPid();
    await h.reload();
    assert.notEqual(await h.workerPid(), before, 'a new worker serves after the reload');
    await round();
    assert.doesNotMatch(h.output(), /tls-error/, 'no handshake failed');
  });

  it('with a TPM EC key serves TLS 1.3 but OpenSSL 3.0 finds no usable cipher for TLS 1.2 (known limit)', async () => {
    const { h, port } = await haproxy('ec', ec.pemPath);
    const ca = readFileSync(ec.certPath, 'utf8');
    const r13 = await handshake(port, 'TLSv1.3', ca);
    assert.equal(r13.status, 200);
    assert.equal(r13.servedPublicKey, spki(ec.publicKeyPem));
    await assert.rejects(handshake(port, 'TLSv1.2', ca), /handshake failure|alert/i,
      'if TLS 1.2 now works with a TPM EC key, update docs/tpm-provider.md and this test');
    await logged(h, /tls-error .*no shared cipher/);
  });

  it('without ssl-propquery ?provider=tpm2 the handshake fails: the default provider gets a public-only key', async () => {
    const { h, port } = await haproxy('nopropq', rsa.pemPath, { propquery: false });
    await assert.rejects(handshake(port, 'TLSv1.3', readFileSync(rsa.certPath, 'utf8')), /alert|socket hang up|ECONNRESET/i);
    await logged(h, /tls-error .*missing private key/);
  });

  it('fails new full handshakes once the TPM is gone, with the key file unchanged', async () => {
    const { h, port } = await haproxy('gone', rsa.pemPath);
    const ca = readFileSync(rsa.certPath, 'utf8');
    const digest = (): string => createHash('sha256').update(readFileSync(rsa.pemPath)).digest('hex');
    const pemBefore = digest();
    assert.equal((await handshake(port, 'TLSv1.3', ca)).status, 200, 'serves while the TPM runs');
    await tpm!.stopSwtpm();
    for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
      await assert.rejects(handshake(port, version, ca), /alert|socket hang up|ECONNRESET/i, `TLS ${version} without the TPM`);
    }
    assert.equal(digest(), pemBefore, 'the PEM HAProxy loaded did not change');
    await logged(h, /tls-error .*tpm2::/); // the failure comes from the tpm2 provider
  });
});
