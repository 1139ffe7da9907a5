/** Leader election through the real client against the fake API server's Leases. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { LeaderElector, leaderTiming } from '../../src/sources/kubernetes/leader.js';
import { startFakeApiServer, type FakeApiServer } from '../helpers/fake-apiserver.js';
import { waitFor } from '../helpers/wait.js';

describe('LeaderElector', () => {
  let api: FakeApiServer;
  before(async () => {
    api = await startFakeApiServer();
  });
  after(async () => {
    await api.close();
  });

  function elector(identity: string, name: string, changes: string[]): LeaderElector {
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    return new LeaderElector({
      kc, namespace: 'gatehouse', name, identity, ...leaderTiming(1), log: () => {},
      onChange: (leading) => changes.push(`${identity}:${leading ? 'leads' : 'follows'}`),
    });
  }

  const spec = (name: string) => api.get('coordination.k8s.io/v1', 'Lease', 'gatehouse', name)?.['spec'] as Record<string, unknown> | undefined;

  it('elects exactly one of three; a crashed leader is replaced only after the lease duration', async () => {
    const changes: string[] = [];
    const all = ['a', 'b', 'c'].map((id) => elector(id, 'crash', changes));
    try {
      for (const e of all) e.start();
      await waitFor(() => all.some((e) => e.leading), 5000, 'a leader');
      // Several renew periods later there is still exactly one.
      const first = spec('crash')!['renewTime'];
      await waitFor(() => spec('crash')!['renewTime'] !== first, 5000, 'a renewal');
      assert.equal(all.filter((e) => e.leading).length, 1);
      const leader = all.find((e) => e.leading)!;
      const holder = String(spec('crash')!['holderIdentity']);
      assert.ok(changes.includes(`${holder}:leads`));
      assert.match(String(spec('crash')!['renewTime']), /\.\d{6}Z$/, 'MicroTime, six digits');
      // A crash: no release. The others wait out the lease duration (1 s) from when they last saw it change.
      const crashedAt = Date.now();
      await leader.stop({ release: false });
      await waitFor(() => all.some((e) => e !== leader && e.leading), 5000, 'a new leader');
      assert.ok(Date.now() - crashedAt >= 900, `took over after ${Date.now() - crashedAt} ms, not before the lease expired`);
      assert.equal(all.filter((e) => e.leading).length, 1);
      assert.equal(spec('crash')!['leaseTransitions'], 1);
      assert.notEqual(spec('crash')!['holderIdentity'], holder);
    } finally {
      for (const e of all) await e.stop();
    }
  });

  it('a leader that stops cleanly releases the Lease and the other takes over at once', async () => {
    const changes: string[] = [];
    const a = elector('a', 'clean', changes);
    a.start();
    await waitFor(() => a.leading, 5000, 'a leads');
    const b = elector('b', 'clean', changes);
    try {
      b.start();
      await a.stop();
      assert.equal(spec('clean')!['holderIdentity'], '', 'released');
      await waitFor(() => b.leading, 5000, 'b leads');
      assert.deepEqual(changes, ['a:leads', 'a:follows', 'b:leads']);
    } finally {
      await b.stop();
    }
  });
});
