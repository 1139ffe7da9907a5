import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startEchoBackend, type EchoBackend } from '../helpers/backends.js';
import { makeCert } from '../helpers/certs.js';
import { request } from '../helpers/client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { configMap, ingress, service, tlsSecret, yamlOf } from '../helpers/manifests.js';

describe('TLS termination', () => {
  const exact = makeCert(['a.example.com']);
  const wild = makeCert(['*.example.com']);
  let web: EchoBackend;
  let gw: RunningGateway;

  before(async () => {
    web = await startEchoBackend('web');
    gw = await startGateway(
      yamlOf(
        configMap({ 'https-redirect-port': '8443' }),
        ...service('web', [{ port: web.port }]),
        tlsSecret('exact-tls', exact.cert, exact.key),
        tlsSecret('wild-tls', wild.cert, wild.key),
        ingress('secure', {
          tls: [{ hosts: ['a.example.com'], secretName: 'exact-tls' }, { hosts: ['*.example.com'], secretName: 'wild-tls' }],
          rules: [{ host: 'a.example.com', paths: [{ path: '/', service: 'web' }] }, { host: '*.example.com', paths: [{ path: '/', service: 'web' }] }],
        }),
        ingress('plain', {
          annotations: { 'gatehouse.io/ssl-redirect': 'false', 'gatehouse.io/hsts': 'false' },
          rules: [{ host: 'plain.test', paths: [{ path: '/', service: 'web' }] }],
        }),
      ),
    );
  });
  after(async () => {
    await gw?.stop();
    await web?.close();
  });

  test('the certificate is chosen by SNI: exact, wildcard (one label), else the default', async () => {
    // No SNI: Node sends none for an IP address.
    const cn = async (servername: string) => (await request(gw.httpsPort, { host: servername || '127.0.0.1', tls: { servername } })).certCN;
    assert.equal(await cn('a.example.com'), 'a.example.com');
    assert.equal(await cn('b.example.com'), '*.example.com');
    assert.equal(await cn('x.b.example.com'), 'gatehouse-default');
    assert.equal(await cn('unknown.test'), 'gatehouse-default');
    assert.equal(await cn(''), 'gatehouse-default');
  });

  test('the default certificate was generated once into the state directory, mode 0600', () => {
    const mode = statSync(join(gw.dir, 'state', 'certs', 'default.pem')).mode & 0o777;
    assert.equal(mode, 0o600);
  });

  test('HTTP to a TLS host is redirected with 308 to HTTPS, keeping path and query', async () => {
    const reply = await request(gw.httpPort, { host: 'a.example.com:8080', path: '/x/y?q=1' });
    assert.equal(reply.status, 308);
    assert.equal(reply.headers.location, 'https://a.example.com:8443/x/y?q=1');
    const wildcard = await request(gw.httpPort, { host: 'b.example.com', path: '/' });
    assert.equal(wildcard.status, 308);
  });

  test('a host without TLS, or with ssl-redirect off, is served over HTTP', async () => {
    const reply = await request(gw.httpPort, { host: 'plain.test', path: '/' });
    assert.equal(reply.status, 200);
    assert.equal(reply.backend, 'web');
  });

  test('HTTPS responses carry HSTS; HTTP ones and hsts=false do not', async () => {
    const secure = await request(gw.httpsPort, { host: 'a.example.com', tls: { servername: 'a.example.com' } });
    assert.equal(secure.status, 200);
    assert.equal(secure.headers['strict-transport-security'], 'max-age=31536000');
    assert.equal(JSON.parse(secure.body).forwardedProto, 'https');
    const plain = await request(gw.httpsPort, { host: 'plain.test', tls: { servername: 'plain.test' } });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['strict-transport-security'], undefined);
  });

  // The backend lives in this process: clients run asynchronously so it can answer.
  const curl = async (args: string[]) =>
    (await promisify(execFile)('curl', ['-sk', '--max-time', '5', '-o', '/dev/null', '--connect-to', `a.example.com:443:127.0.0.1:${gw.httpsPort}`, ...args, 'https://a.example.com/'], { encoding: 'utf8' })).stdout;

  test('ALPN offers h2 and http/1.1; TLS 1.3 is the default', async () => {
    assert.equal(await curl(['--http2', '-w', '%{http_version}']), '2');
    assert.equal(await curl(['--http1.1', '-w', '%{http_version}']), '1.1');
    const out = await sClient([]);
    assert.match(out.stdout, /TLSv1\.3/);
  });

  /** openssl s_client: handshakes, sends `input` (if any), prints the session, exits. */
  const sClient = (args: string[], input = '') =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${gw.httpsPort}`, '-servername', 'a.example.com', ...args], { stdio: ['pipe', 'pipe', 'pipe'], timeout: 10000 });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdin.end(input);
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });

  test('TLS 1.1 and 1.0 are refused; TLS 1.2 works with ECDHE+AEAD only', async () => {
    // SECLEVEL=0 lets this client offer TLS 1.1, so the refusal is the server's.
    const tls11 = await sClient(['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    assert.notEqual(tls11.status, 0);
    assert.match(tls11.stdout + tls11.stderr, /alert protocol version|no protocols available|unsupported protocol/i);
    const tls12 = await sClient(['-tls1_2']);
    assert.equal(tls12.status, 0, tls12.stderr);
    assert.match(tls12.stdout, /Cipher is ECDHE-(ECDSA|RSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)/);
    const cbc = await sClient(['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA256:AES128-SHA:AES128-GCM-SHA256']);
    assert.notEqual(cbc.status, 0, 'CBC and RSA key exchange ciphers must be refused');
    const tls13 = await sClient(['-tls1_3']);
    assert.equal(tls13.status, 0);
    assert.match(tls13.stdout, /TLSv1\.3/);
  });

  test('sessions are resumed (TLS 1.2 and 1.3)', async () => {
    for (const version of ['-tls1_2', '-tls1_3']) {
      const session = join(gw.dir, `session${version}.pem`);
      // A whole request, so a TLS 1.3 ticket (sent after the handshake) arrives before the end.
      const get = 'GET / HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n';
      const first = await sClient([version, '-ign_eof', '-sess_out', session], get);
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stdout, /^New, /m);
      const second = await sClient([version, '-ign_eof', '-sess_in', session], get);
      assert.equal(second.status, 0, second.stderr);
      assert.match(second.stdout, /^Reused, /m, `${version}: ${second.stdout.slice(0, 2000)}`);
    }
  });
});
