import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AllocationRefused, containerAllocation, containerDevicePath } from '../../src/deviceplugin/allocate.js';
import type { DeviceState } from '../../src/deviceplugin/inventory.js';

const R = 'qat.intel.com/generic';
const dev = (id: string, vfioDevice: string | null, health: DeviceState['health'] = 'Healthy', reason: string | null = null): [string, DeviceState] => [
  id,
  { id, resource: R, pf: 'p', numaNode: 0, vfioDevice, health, reason },
];

const DEVICES = new Map([
  dev('0000:6b:00.1', '/host/dev/vfio/12'),
  dev('0000:6b:00.2', '/host/dev/vfio/noiommu-13'),
  dev('0000:6b:00.3', '/host/dev/vfio/12'),
  dev('0000:6b:00.4', '/host/dev/vfio/14', 'Unhealthy', 'bound to 4xxxvf, not vfio-pci'),
]);

describe('Allocate (one container)', () => {
  it('gives /dev/vfio/vfio and each group device once, host paths under the dev root, container paths under /dev', () => {
    const r = containerAllocation(['0000:6b:00.1', '0000:6b:00.2', '0000:6b:00.3'], DEVICES, R, '/host/dev');
    assert.deepEqual(r.devices, [
      { host_path: '/host/dev/vfio/vfio', container_path: '/dev/vfio/vfio', permissions: 'rw' },
      { host_path: '/host/dev/vfio/12', container_path: '/dev/vfio/12', permissions: 'rw' },
      { host_path: '/host/dev/vfio/noiommu-13', container_path: '/dev/vfio/noiommu-13', permissions: 'rw' },
    ]);
    assert.deepEqual(r.envs, { QAT0: '0000:6b:00.1', QAT1: '0000:6b:00.2', QAT2: '0000:6b:00.3' });
    assert.deepEqual([r.mounts, r.annotations, r.cdi_devices], [[], {}, []]);
  });

  it('refuses an unknown device with INVALID_ARGUMENT and an Unhealthy one with FAILED_PRECONDITION, saying which and why', () => {
    assert.throws(
      () => containerAllocation(['0000:6b:00.1', '0000:ff:00.1'], DEVICES, R, '/host/dev'),
      (e: unknown) => e instanceof AllocationRefused && e.code === 'INVALID_ARGUMENT' && e.message === 'device "0000:ff:00.1" is not a qat.intel.com/generic device on this node',
    );
    assert.throws(
      () => containerAllocation(['0000:6b:00.4'], DEVICES, R, '/host/dev'),
      (e: unknown) => e instanceof AllocationRefused && e.code === 'FAILED_PRECONDITION' && e.message === 'device 0000:6b:00.4 (qat.intel.com/generic) is Unhealthy: bound to 4xxxvf, not vfio-pci',
    );
  });

  it('maps dev-root paths to /dev, and refuses one outside the dev root', () => {
    assert.equal(containerDevicePath('/dev', '/dev/vfio/7'), '/dev/vfio/7');
    assert.equal(containerDevicePath('/tmp/x/dev', '/tmp/x/dev/vfio/vfio'), '/dev/vfio/vfio');
    assert.throws(() => containerDevicePath('/tmp/x/dev', '/dev/vfio/7'), /not under the dev root/);
  });
});
