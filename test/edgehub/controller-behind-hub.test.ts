/**
 * The gateway controller behind edge-hub, as on an edge node: real processes (controller, HAProxy,
 * edge-hub), echo backends, and the fake API server cut away for a whole offline period and a
 * controller restart — traffic keeps flowing the whole time, and changes flow again once the link
 * is back.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../helpers/backends.js';
import { answer, startController, until, type RunningController } from '../helpers/controller.js';
import { startEdgeHub } from '../helpers/edge-hub.js';
import { startFakeApiServer } from '../helpers/fake-apiserver.js';
import { ingress, service, type Obj } from '../helpers/manifests.js';
import { waitFor } from '../helpers/wait.js';

const ingressClass: Obj = { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'gatehouse' }, spec: { controller: 'gatehouse.io/ingress-controller' } };

describe('the gateway controller behind edge-hub', () => {
  let one: EchoBackend;
  let two: EchoBackend;
  before(async () => {
    one = await startEchoBackend('one');
    two = await startEchoBackend('two');
  });
  after(async () => {
    await one.close();
    await two.close();
  });

  it('keeps routing through a whole offline period and a restart, and follows changes once the link is back', async () => {
    const api = await startFakeApiServer();
    const hub = await startEdgeHub(api.kubeconfigPath);
    let ctl: RunningController | undefined;
    try {
      for (const o of [ingressClass, ...service('web', [{ port: one.port }], 'shop'),
        ingress('shop', { namespace: 'shop', rules: [{ host: 'shop.example', paths: [{ path: '/', service: 'web' }] }] })]) api.apply(o);
      await hub.waitState('online');
      // As the edge overlay runs it: its own credentials, the hub's https listener and certificate.
      const viaHub = ['--server', `https://127.0.0.1:${hub.httpsPort}`, '--certificate-authority', join(hub.dir, 'tls', 'tls.crt')];
      ctl = await startController(api.kubeconfigPath, { args: viaHub });
      await until(ctl, 'one', 'online, through the hub');

      await api.stop();
      await hub.waitState('offline');
      // The controller's watches ended with the link and came back as watches the hub holds.
      await waitFor(async () => (await hub.status()).heldWatches >= 5, 15_000, `the controller's watches held by the hub (${JSON.stringify(await hub.status())})`);
      assert.equal(await answer(ctl), 'one');
      assert.equal(await ctl.readyz(), 200);

      // A restart with no snapshot of its own: everything comes from the hub's cache.
      assert.equal(await ctl.stop(), 0);
      ctl = await startController(api.kubeconfigPath, { args: viaHub });
      await until(ctl, 'one', 'restarted while offline');
      const status = await ctl.status();
      assert.equal(status.kubernetes.synced, true);
      assert.equal(status.kubernetes.servingSnapshot, false, 'served from the hub\'s lists, not a local snapshot');
      assert.ok((await hub.status()).hits >= 5);

      await api.start();
      await hub.waitState('online');
      api.apply(service('web', [{ port: two.port }], 'shop')[1]!);
      await until(ctl, 'two', 'a change after the link came back');
    } finally {
      await ctl?.stop();
      await hub.stop();
      await api.close();
    }
  });
});
