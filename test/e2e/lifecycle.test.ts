import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
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
