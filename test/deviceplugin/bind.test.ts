import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bindToVfio } from '../../src/deviceplugin/bind.js';
import { QatFixture } from '../helpers/qat-sysfs.js';

describe('bindToVfio on a fixture sysfs', () => {
  let fx: QatFixture;
  before(() => {
    fx = new QatFixture();
    fx.addPf('0000:6b:00.0');
    fx.addVf('0000:6b:00.1', { pf: '0000:6b:00.0', driver: '4xxxvf' });
    fx.addVf('0000:6b:00.2', { pf: '0000:6b:00.0', driver: null });
  });
  after(() => fx.cleanup());

  it('writes vfio-pci to driver_override, the address to the current driver\'s unbind and to drivers_probe', async () => {
    await bindToVfio(fx.sysfs, { bdf: '0000:6b:00.1', driver: '4xxxvf' });
    assert.equal(fx.read(join(fx.deviceDir('0000:6b:00.1'), 'driver_override')), 'vfio-pci');
    assert.equal(fx.read(fx.path('sys/bus/pci/drivers/4xxxvf/unbind')), '0000:6b:00.1');
    assert.equal(fx.read(fx.path('sys/bus/pci/drivers_probe')), '0000:6b:00.1');
  });

  it('skips unbind for a VF bound to no driver', async () => {
    await bindToVfio(fx.sysfs, { bdf: '0000:6b:00.2', driver: null });
    assert.equal(fx.read(join(fx.deviceDir('0000:6b:00.2'), 'driver_override')), 'vfio-pci');
    assert.equal(fx.read(fx.path('sys/bus/pci/drivers/4xxxvf/unbind')), '0000:6b:00.1', 'unchanged');
    assert.equal(fx.read(fx.path('sys/bus/pci/drivers_probe')), '0000:6b:00.2');
  });

  it('names the file it could not write', async () => {
    const override = join(fx.deviceDir('0000:6b:00.2'), 'driver_override');
    rmSync(override);
    mkdirSync(override);
    await assert.rejects(bindToVfio(fx.sysfs, { bdf: '0000:6b:00.2', driver: null }), {
      message: `writing ${fx.path('sys/bus/pci/devices/0000:6b:00.2/driver_override')} failed (EISDIR)`,
    });
  });

  it('says to load vfio-pci when the driver is not there', async () => {
    rmSync(fx.path('sys/bus/pci/drivers/vfio-pci'), { recursive: true });
    await assert.rejects(bindToVfio(fx.sysfs, { bdf: '0000:6b:00.1', driver: '4xxxvf' }), /the vfio-pci driver is not loaded .*modprobe vfio-pci/);
  });
});
