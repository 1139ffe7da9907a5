import { test } from 'node:test';
import assert from 'node:assert/strict';
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
