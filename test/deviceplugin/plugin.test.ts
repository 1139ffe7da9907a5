/**
 * The device plugin against a kubelet stand-in (test/helpers/kubelet.ts) on a fixture sysfs: the
 * stand-in serves Registration, dials the plugin like the kubelet, keeps ListAndWatch open and
 * calls Allocate and GetPreferredAllocation. Health changes are made on the fixture tree and
 * waited for (bounded) on the stream.
 */
import assert from 'node:assert/strict';
import { existsSync, readlinkSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { QatDevicePlugin, type QatPluginOptions } from '../../src/deviceplugin/plugin.js';
import { FakeKubelet } from '../helpers/kubelet.js';
import { QatFixture } from '../helpers/qat-sysfs.js';
import { waitFor } from '../helpers/wait.js';

const GENERIC = 'qat.intel.com/generic';
const WAIT = 10_000;

interface Harness {
  fx: QatFixture;
  kubelet: FakeKubelet;
  plugin: QatDevicePlugin;
  logs: { level: string; msg: string }[];
  close(): Promise<void>;
}

/** The plugin's options for a fixture: generic names, balanced, no --bind, fast rescans and kubelet checks. */
function pluginOptions(fx: QatFixture, log: QatPluginOptions['log'], opts: Partial<QatPluginOptions> = {}): QatPluginOptions {
  return { sysfsRoot: fx.sysfs, devRoot: fx.dev, kubeletDir: fx.kubeletDir, naming: 'generic', policy: 'balanced', bind: false, rescanMs: 50, kubeletCheckMs: 50, log, ...opts };
}

async function harness(fx: QatFixture, opts: Partial<QatPluginOptions> = {}): Promise<Harness> {
  const kubelet = new FakeKubelet(fx.kubeletDir);
  await kubelet.start();
  const logs: { level: string; msg: string }[] = [];
  const plugin = new QatDevicePlugin(pluginOptions(fx, (level, msg) => logs.push({ level, msg }), opts));
  await plugin.start();
  return {
    fx,
    kubelet,
    plugin,
    logs,
    close: async () => {
      await plugin.stop();
      await kubelet.stop();
      fx.cleanup();
    },
  };
}

/** Two 4xxx PFs (NUMA 0 and 1) with VFs on vfio-pci, one VF left on 4xxxvf, and a NIC. */
function twoPfNode(): QatFixture {
  const fx = new QatFixture();
  fx.addOther('0000:01:00.0', '15b3', '101d');
  fx.addPf('0000:6b:00.0', { numa: 0, heartbeat: '0' });
  fx.addVf('0000:6b:00.1', { pf: '0000:6b:00.0', numa: 0 });
  fx.addVf('0000:6b:00.2', { pf: '0000:6b:00.0', numa: 0 });
  fx.addVf('0000:6b:00.3', { pf: '0000:6b:00.0', numa: 0 });
  fx.addVf('0000:6b:00.4', { pf: '0000:6b:00.0', numa: 0, driver: '4xxxvf' });
  fx.addPf('0000:70:00.0', { numa: 1 });
  fx.addVf('0000:70:00.1', { pf: '0000:70:00.0', numa: 1 });
  fx.addVf('0000:70:00.2', { pf: '0000:70:00.0', numa: 1 });
  return fx;
}

async function registered(h: Harness, resource: string, count = 1): Promise<void> {
  await waitFor(() => h.kubelet.registrations.filter((r) => r.resource_name === resource).length >= count && (h.kubelet.latest(resource)?.length ?? 0) > 0, WAIT, `registration ${count} of ${resource} and its device list`);
}

function grpcError(code: grpc.status, pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    const err = e as grpc.ServiceError;
    assert.equal(err.code, code, `gRPC status ${grpc.status[code]} expected, got ${grpc.status[err.code]}: ${err.details}`);
    assert.match(err.details, pattern);
    return true;
  };
}

describe('device plugin: registration and ListAndWatch', () => {
  let h: Harness;
  before(async () => {
    h = await harness(twoPfNode());
    await registered(h, GENERIC);
  });
  after(() => h.close());

  it('registers qat.intel.com/generic with v1beta1, its socket\'s name and its options, once serving', async () => {
    assert.deepEqual(h.kubelet.refused, [], 'the stand-in dials the plugin before accepting: it was serving');
    const [r] = h.kubelet.registrations;
    assert.deepEqual(r, {
      version: 'v1beta1',
      endpoint: 'gatehouse-qat-generic.sock',
      resource_name: GENERIC,
      options: { pre_start_required: false, get_preferred_allocation_available: true },
    });
    assert.ok(statSync(join(h.fx.kubeletDir, r!.endpoint)).isSocket(), 'the endpoint is a socket in the kubelet directory');
    assert.deepEqual(await h.kubelet.options(GENERIC), r!.options, 'GetDevicePluginOptions says the same');
    assert.deepEqual(await h.kubelet.preStart(GENERIC, ['0000:6b:00.1']), {});
  });

  it('lists the VFs on vfio-pci at once, by PCI address, Healthy, with their NUMA node; not the VF on its kernel driver, not the NIC', () => {
    const list = h.kubelet.plugins.get(GENERIC)!.lists[0]!;
    assert.deepEqual(
      list.map((d) => [d.ID, d.health, d.topology?.nodes.map((n) => n.ID)]),
      [
        ['0000:6b:00.1', 'Healthy', [0]],
        ['0000:6b:00.2', 'Healthy', [0]],
        ['0000:6b:00.3', 'Healthy', [0]],
        ['0000:70:00.1', 'Healthy', [1]],
        ['0000:70:00.2', 'Healthy', [1]],
      ],
    );
  });

  it('turns a VF Unhealthy when it is unbound from vfio-pci, and Healthy when bound again', async () => {
    const sent = h.kubelet.plugins.get(GENERIC)!.lists.length;
    h.fx.setDriver('0000:6b:00.2', '4xxxvf');
    await waitFor(() => h.kubelet.health(GENERIC)['0000:6b:00.2'] === 'Unhealthy', WAIT, '0000:6b:00.2 Unhealthy');
    assert.equal(h.kubelet.plugins.get(GENERIC)!.lists.length, sent + 1, 'one new list for one change');
    assert.equal(h.kubelet.health(GENERIC)['0000:6b:00.1'], 'Healthy', 'the others stay Healthy');
    assert.ok(h.logs.some((l) => l.level === 'warn' && /0000:6b:00\.2 .*Unhealthy: bound to 4xxxvf, not vfio-pci/.test(l.msg)), 'the reason is logged');
    h.fx.setDriver('0000:6b:00.2', 'vfio-pci');
    await waitFor(() => h.kubelet.health(GENERIC)['0000:6b:00.2'] === 'Healthy', WAIT, '0000:6b:00.2 Healthy again');
  });

  it('turns every VF of a PF Unhealthy when its heartbeat fails, and Healthy when it recovers', async () => {
    h.fx.setHeartbeat('0000:6b:00.0', '-1');
    await waitFor(() => ['0000:6b:00.1', '0000:6b:00.2', '0000:6b:00.3'].every((id) => h.kubelet.health(GENERIC)[id] === 'Unhealthy'), WAIT, 'the PF\'s VFs Unhealthy');
    assert.equal(h.kubelet.health(GENERIC)['0000:70:00.1'], 'Healthy', 'the other PF\'s VFs stay Healthy');
    h.fx.setHeartbeat('0000:6b:00.0', '0');
    await waitFor(() => ['0000:6b:00.1', '0000:6b:00.2', '0000:6b:00.3'].every((id) => h.kubelet.health(GENERIC)[id] === 'Healthy'), WAIT, 'the PF\'s VFs Healthy again');
  });

  it('keeps a VF that disappeared in the list as Unhealthy, and Healthy once it is back', async () => {
    h.fx.removeVf('0000:70:00.2');
    await waitFor(() => h.kubelet.health(GENERIC)['0000:70:00.2'] === 'Unhealthy', WAIT, '0000:70:00.2 Unhealthy');
    assert.equal(h.kubelet.latest(GENERIC)!.length, 5, 'still listed');
    h.fx.addVf('0000:70:00.2', { pf: '0000:70:00.0', numa: 1 });
    await waitFor(() => h.kubelet.health(GENERIC)['0000:70:00.2'] === 'Healthy', WAIT, '0000:70:00.2 Healthy again');
  });

  it('Allocate: /dev/vfio/vfio and each VF\'s group device (rw), and QAT0… numbered per container', async () => {
    const res = await h.kubelet.allocate(GENERIC, [['0000:6b:00.1', '0000:70:00.1'], ['0000:6b:00.3']]);
    const group = (bdf: string) => readLinkBase(join(h.fx.deviceDir(bdf), 'iommu_group'));
    const [a, b] = res.container_responses;
    assert.deepEqual(a!.envs, { QAT0: '0000:6b:00.1', QAT1: '0000:70:00.1' });
    assert.deepEqual(b!.envs, { QAT0: '0000:6b:00.3' });
    assert.deepEqual(a!.devices, [
      { host_path: join(h.fx.dev, 'vfio/vfio'), container_path: '/dev/vfio/vfio', permissions: 'rw' },
      { host_path: join(h.fx.dev, 'vfio', group('0000:6b:00.1')), container_path: `/dev/vfio/${group('0000:6b:00.1')}`, permissions: 'rw' },
      { host_path: join(h.fx.dev, 'vfio', group('0000:70:00.1')), container_path: `/dev/vfio/${group('0000:70:00.1')}`, permissions: 'rw' },
    ]);
    assert.deepEqual(b!.devices.map((d) => d.container_path), ['/dev/vfio/vfio', `/dev/vfio/${group('0000:6b:00.3')}`]);
    assert.deepEqual(a!.mounts, []);
    assert.deepEqual(a!.cdi_devices, []);
  });

  it('Allocate refuses an unknown device (INVALID_ARGUMENT) and an Unhealthy one (FAILED_PRECONDITION), naming it and why', async () => {
    await assert.rejects(h.kubelet.allocate(GENERIC, [['0000:6b:00.1', '0000:99:00.1']]), grpcError(grpc.status.INVALID_ARGUMENT, /0000:99:00\.1.*not a qat\.intel\.com\/generic device/));
    await assert.rejects(h.kubelet.allocate(GENERIC, [['0000:6b:00.4']]), grpcError(grpc.status.INVALID_ARGUMENT, /0000:6b:00\.4/), 'a VF never on vfio-pci is not ours');
    h.fx.setDriver('0000:6b:00.3', null);
    await waitFor(() => h.kubelet.health(GENERIC)['0000:6b:00.3'] === 'Unhealthy', WAIT, '0000:6b:00.3 Unhealthy');
    await assert.rejects(h.kubelet.allocate(GENERIC, [['0000:6b:00.3']]), grpcError(grpc.status.FAILED_PRECONDITION, /0000:6b:00\.3 .*Unhealthy: bound to no driver, not vfio-pci/));
    h.fx.setDriver('0000:6b:00.3', 'vfio-pci');
    await waitFor(() => h.kubelet.health(GENERIC)['0000:6b:00.3'] === 'Healthy', WAIT, '0000:6b:00.3 Healthy again');
    const ok = await h.kubelet.allocate(GENERIC, [['0000:6b:00.3']]);
    assert.deepEqual(ok.container_responses[0]!.envs, { QAT0: '0000:6b:00.3' });
  });

  it('GetPreferredAllocation (balanced) spreads over the PFs, keeps must-include devices, picks only available ones', async () => {
    const all = ['0000:6b:00.1', '0000:6b:00.2', '0000:6b:00.3', '0000:70:00.1', '0000:70:00.2'];
    const res = await h.kubelet.preferred(GENERIC, [
      { available_deviceIDs: all, must_include_deviceIDs: [], allocation_size: 2 },
      { available_deviceIDs: all, must_include_deviceIDs: ['0000:6b:00.2'], allocation_size: 3 },
      { available_deviceIDs: ['0000:6b:00.1', '0000:6b:00.3', '0000:70:00.2'], must_include_deviceIDs: [], allocation_size: 2 },
    ]);
    assert.deepEqual(
      res.container_responses.map((r) => r.deviceIDs),
      [
        ['0000:6b:00.1', '0000:70:00.1'],
        ['0000:6b:00.2', '0000:70:00.1', '0000:6b:00.1'],
        ['0000:6b:00.1', '0000:70:00.2'],
      ],
    );
    await assert.rejects(h.kubelet.preferred(GENERIC, [{ available_deviceIDs: all.slice(0, 1), must_include_deviceIDs: [], allocation_size: 2 }]), grpcError(grpc.status.INVALID_ARGUMENT, /allocation_size 2 is more than the 1 devices/));
  });

  it('registers again after a kubelet restart (sockets deleted, kubelet.sock recreated), on a new socket', async () => {
    const before = h.kubelet.registrations.length;
    await h.kubelet.restart();
    assert.equal(h.kubelet.plugins.size, 0, 'the restarted stand-in knows no plugin');
    await waitFor(() => h.kubelet.registrations.length > before && (h.kubelet.latest(GENERIC)?.length ?? 0) > 0, WAIT, 'registration after the restart');
    assert.equal(h.kubelet.registrations.at(-1)!.resource_name, GENERIC);
    assert.deepEqual(h.kubelet.refused, []);
    assert.ok(existsSync(join(h.fx.kubeletDir, 'gatehouse-qat-generic.sock')), 'the socket is back');
    assert.equal(h.kubelet.latest(GENERIC)!.length, 5, 'the new stream has the devices');
    // The stand-in records a registration before its answer reaches the plugin: wait for that too.
    await waitFor(() => h.plugin.registered.includes(GENERIC), WAIT, 'the plugin to take the answer');
  });
});

describe('device plugin: started before the kubelet', () => {
  it('serves, says it waits for kubelet.sock, and registers once the kubelet is there', async () => {
    const fx = twoPfNode();
    const logs: string[] = [];
    const plugin = new QatDevicePlugin(pluginOptions(fx, (_level, msg) => logs.push(msg)));
    const kubelet = new FakeKubelet(fx.kubeletDir);
    try {
      await plugin.start();
      assert.ok(existsSync(join(fx.kubeletDir, 'gatehouse-qat-generic.sock')), 'serving before any kubelet');
      assert.ok(logs.includes(`no ${join(fx.kubeletDir, 'kubelet.sock')}: waiting for the kubelet to register with it`), logs.join('\n'));
      assert.deepEqual(plugin.registered, []);
      await kubelet.start();
      await waitFor(() => (kubelet.latest(GENERIC)?.length ?? 0) === 5, WAIT, 'registration once the kubelet is up');
      assert.equal(kubelet.registrations.length, 1);
    } finally {
      await plugin.stop();
      await kubelet.stop();
      fx.cleanup();
    }
  });
});

describe('device plugin: packed policy', () => {
  it('GetPreferredAllocation (packed) fills one PF first', async () => {
    const h = await harness(twoPfNode(), { policy: 'packed' });
    try {
      await registered(h, GENERIC);
      const all = ['0000:6b:00.1', '0000:6b:00.2', '0000:6b:00.3', '0000:70:00.1', '0000:70:00.2'];
      const res = await h.kubelet.preferred(GENERIC, [
        { available_deviceIDs: all, must_include_deviceIDs: [], allocation_size: 2 },
        { available_deviceIDs: all, must_include_deviceIDs: ['0000:6b:00.3'], allocation_size: 2 },
        { available_deviceIDs: all, must_include_deviceIDs: [], allocation_size: 4 },
      ]);
      assert.deepEqual(
        res.container_responses.map((r) => r.deviceIDs),
        [
          ['0000:70:00.1', '0000:70:00.2'],
          ['0000:6b:00.3', '0000:6b:00.1'],
          ['0000:6b:00.1', '0000:6b:00.2', '0000:6b:00.3', '0000:70:00.1'],
        ],
      );
    } finally {
      await h.close();
    }
  });
});

describe('device plugin: resources by service (Gen4), a VF in a VM, --max-devices', () => {
  it('serves and registers one resource per service group, each on its own socket; a VF without a PF is generic', async () => {
    const fx = new QatFixture();
    fx.addPf('0000:6b:00.0', { services: 'sym;asym', numa: 0 });
    fx.addVf('0000:6b:00.1', { pf: '0000:6b:00.0', numa: 0 });
    fx.addVf('0000:6b:00.2', { pf: '0000:6b:00.0', numa: 0 });
    fx.addPf('0000:70:00.0', { services: 'dc', numa: 1 });
    fx.addVf('0000:70:00.1', { pf: '0000:70:00.0', numa: 1 });
    fx.addVf('0000:0a:00.0', { numa: -1 });
    const h = await harness(fx, { naming: 'services' });
    try {
      for (const r of ['qat.intel.com/cy', 'qat.intel.com/dc', GENERIC]) await registered(h, r);
      assert.deepEqual(h.kubelet.registrations.map((r) => [r.resource_name, r.endpoint]).sort(), [
        ['qat.intel.com/cy', 'gatehouse-qat-cy.sock'],
        ['qat.intel.com/dc', 'gatehouse-qat-dc.sock'],
        [GENERIC, 'gatehouse-qat-generic.sock'],
      ]);
      assert.deepEqual(h.kubelet.health('qat.intel.com/cy'), { '0000:6b:00.1': 'Healthy', '0000:6b:00.2': 'Healthy' });
      assert.deepEqual(h.kubelet.health('qat.intel.com/dc'), { '0000:70:00.1': 'Healthy' });
      assert.deepEqual(h.kubelet.latest(GENERIC), [{ ID: '0000:0a:00.0', health: 'Healthy', topology: null }], 'no NUMA node: no topology');
      const vm = await h.kubelet.allocate(GENERIC, [['0000:0a:00.0']]);
      assert.deepEqual(vm.container_responses[0]!.envs, { QAT0: '0000:0a:00.0' });
      await assert.rejects(h.kubelet.allocate('qat.intel.com/dc', [['0000:6b:00.1']]), grpcError(grpc.status.INVALID_ARGUMENT, /not a qat\.intel\.com\/dc device/), 'a cy VF is not a dc device');
    } finally {
      await h.close();
    }
  });

  it('advertises at most --max-devices per resource, and says which VFs it left out', async () => {
    const h = await harness(twoPfNode(), { maxDevices: 2 });
    try {
      await registered(h, GENERIC);
      assert.deepEqual(Object.keys(h.kubelet.health(GENERIC)), ['0000:6b:00.1', '0000:6b:00.2']);
      assert.ok(h.logs.some((l) => /0000:70:00\.1 is not advertised: .*--max-devices 2/.test(l.msg)));
    } finally {
      await h.close();
    }
  });
});

describe('device plugin: --bind', () => {
  it('moves VFs off their kernel driver: driver_override, driver/unbind, drivers_probe; without --bind it writes nothing', async () => {
    const fx = new QatFixture();
    fx.addPf('0000:6b:00.0');
    fx.addVf('0000:6b:00.1', { pf: '0000:6b:00.0', driver: '4xxxvf' });
    fx.addVf('0000:6b:00.2', { pf: '0000:6b:00.0', driver: null });
    fx.addVf('0000:6b:00.3', { pf: '0000:6b:00.0' });
    const unbind = fx.path('sys/bus/pci/drivers/4xxxvf/unbind');
    const probe = fx.path('sys/bus/pci/drivers_probe');

    const plain = await harness(fx);
    try {
      await registered(plain, GENERIC);
      assert.equal(fx.read(join(fx.deviceDir('0000:6b:00.1'), 'driver_override')), null, 'no driver_override written without --bind');
      assert.equal(fx.read(unbind), '');
      assert.equal(fx.read(probe), '');
      assert.deepEqual(Object.keys(plain.kubelet.health(GENERIC)), ['0000:6b:00.3']);
    } finally {
      await plain.plugin.stop();
      await plain.kubelet.stop();
    }

    const bound = await harness(fx, { bind: true });
    try {
      await waitFor(() => fx.read(join(fx.deviceDir('0000:6b:00.2'), 'driver_override')) === 'vfio-pci', WAIT, 'driver_override of the driverless VF');
      assert.equal(fx.read(join(fx.deviceDir('0000:6b:00.1'), 'driver_override')), 'vfio-pci');
      assert.equal(fx.read(unbind), '0000:6b:00.1', 'the VF on 4xxxvf is unbound from it');
      assert.match(fx.read(probe) ?? '', /^0000:6b:00\.[12]$/, 'and probed again');
      assert.equal(fx.read(join(fx.deviceDir('0000:6b:00.3'), 'driver_override')), null, 'a VF already on vfio-pci is left alone');
      assert.ok(bound.logs.some((l) => l.msg === 'bound 0000:6b:00.1 to vfio-pci'));
    } finally {
      await bound.close();
    }
  });
});

function readLinkBase(path: string): string {
  return basename(readlinkSync(path));
}
