#!/usr/bin/env node
/**
 * `npm run quickstart`: starts two demo backends on 127.0.0.1:9001 and :9002, writes a self-signed
 * TLS Secret for demo.localhost, runs the gateway on examples/ and prints what to try.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGateway } from './run.js';

const root = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const stateDir = join(root, '.gatehouse');
const secretDir = join(stateDir, 'quickstart');

function demoBackend(name: string, port: number): Promise<void> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`Hello from ${name} (${req.method} ${req.url}, Host: ${req.headers.host}, X-Forwarded-For: ${req.headers['x-forwarded-for']}, X-Forwarded-Proto: ${req.headers['x-forwarded-proto']})\n`);
  });
  return new Promise((done, fail) => {
    server.once('error', (e) => fail(new Error(`demo backend ${name} cannot listen on 127.0.0.1:${port}: ${e.message}`)));
    server.listen(port, '127.0.0.1', () => done());
    server.unref();
  });
}

function writeDemoSecret(): void {
  const file = join(secretDir, 'demo-tls.yaml');
  if (existsSync(file)) return;
  mkdirSync(secretDir, { recursive: true, mode: 0o700 });
  const tmp = mkdtempSync(join(secretDir, '.tmp-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '365',
      '-subj', '/CN=demo.localhost', '-addext', 'subjectAltName=DNS:demo.localhost',
      '-keyout', join(tmp, 'key.pem'), '-out', join(tmp, 'cert.pem'),
    ], { stdio: 'pipe' });
    const b64 = (f: string) => readFileSync(join(tmp, f)).toString('base64');
    writeFileSync(file, [
      'apiVersion: v1', 'kind: Secret', 'type: kubernetes.io/tls',
      'metadata: { name: demo-tls, namespace: default }',
      'data:', `  tls.crt: ${b64('cert.pem')}`, `  tls.key: ${b64('key.pem')}`, '',
    ].join('\n'), { mode: 0o600 });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  await demoBackend('web', 9001);
  await demoBackend('api', 9002);
  writeDemoSecret();
  const tryThis = [
    '',
    'Gatehouse is running on examples/ (Ctrl-C stops it). Try:',
    '  curl -i http://127.0.0.1:8080/                                   # no-host rule → web',
    '  curl -i -H "Host: demo.localhost" http://127.0.0.1:8080/         # TLS host: 308 to HTTPS',
    '  curl -ik --resolve demo.localhost:8443:127.0.0.1 https://demo.localhost:8443/api/users   # → api, with HSTS',
    '  curl -s http://127.0.0.1:9180/status | head -40                  # what is served, and what was rejected',
    '  curl -s http://127.0.0.1:9180/metrics | grep ^gatehouse_',
    '  npx gatehouse observe --last 10                                   # what happened to those requests',
    '  npx gatehouse check --manifests examples/                         # the same checks, as a linter',
    'Open http://127.0.0.1:9180/ in a browser for the dashboard: routes, certificates, live flows.',
    'Edit examples/demo.yaml: the change is live within a second, without a restart.',
    '',
  ].join('\n');
  return runGateway(['--manifests', join(root, 'examples'), '--manifests', secretDir, '--state-dir', stateDir], {
    onStarted: (ready) => process.stdout.write(ready ? tryThis : '\nGatehouse started but is not ready: see the log above.\n'),
  });
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`quickstart: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
