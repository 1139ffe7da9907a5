import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/client.js';
import { startEchoBackend } from '../helpers/backends.js';
import { startGateway } from '../helpers/gateway.js';
import { ingress, service, yamlOf } from '../helpers/manifests.js';
import { waitFor } from '../helpers/wait.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('SIGTERM stops the gateway and HAProxy cleanly, exit code 0', async (t) => {
  const web = await startEchoBackend('web');
  t.after(() => web.close());
  const gw = await startGateway(yamlOf(...service('web', [{ port: web.port }]), ingress('a', { rules: [{ host: 'a.test', paths: [{ path: '/', service: 'web' }] }] })));
  t.after(() => gw.stop());
  const { haproxy } = await gw.status();
  assert.ok(haproxy.masterPid && haproxy.workerPid);
  const exited = new Promise<number | null>((resolve) => gw.process.once('exit', (code) => resolve(code)));
  gw.process.kill('SIGTERM');
  assert.equal(await exited, 0);
  await waitFor(() => !alive(haproxy.masterPid!) && !alive(haproxy.workerPid!), 5000, 'HAProxy to exit');
  assert.match(gw.logs(), /"msg":"stopped"/);
});

test('a change on disk is served within a second, without a restart', async (t) => {
  const web = await startEchoBackend('web');
  t.after(() => web.close());
  const objects = (hosts: string[]) => yamlOf(...service('web', [{ port: web.port }]), ingress('a', { rules: hosts.map((h) => ({ host: h, paths: [{ path: '/', service: 'web' }] })) }));
  const gw = await startGateway(objects(['a.test']));
  t.after(() => gw.stop());
  const pid = (await gw.status()).haproxy.masterPid;
  writeFileSync(gw.manifests, objects(['a.test', 'b.test']));
  await waitFor(async () => (await request(gw.httpPort, { host: 'b.test' })).status === 200, 1000, 'the new route within a second of the write');
  assert.equal((await gw.status()).haproxy.masterPid, pid);
});

test('a port that is taken stops gatehouse with exit code 1 and HAProxy\'s reason', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const taken = (blocker.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'gh-taken-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'm.yaml'), yamlOf(...service('web', [{ port: 1 }])));
  const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
  const args = ['run', '--manifests', join(dir, 'm.yaml'), '--listen-address', '127.0.0.1', '--http-port', String(taken), '--https-port', String(await freePort()), '--admin-port', String(await freePort()), '--state-dir', join(dir, 'state')];
  const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
  assert.equal(result.code, 1);
  assert.match(result.out, /HAProxy could not start.*Address already in use/);
});
