import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseHeartbeat, parseNumaNode, scanSysfs, type SysfsScan } from '../../src/deviceplugin/sysfs.js';
import { QatFixture } from '../helpers/qat-sysfs.js';

describe('sysfs scanner on a fixture node', () => {
  let fx: QatFixture;
  let scan: SysfsScan;
  before(async () => {
    fx = new QatFixture();
    fx.addOther('0000:01:00.0', '15b3', '101d');
    fx.addPf('0000:3d:00.0', { device: '37c8', family: 'c6xx', numa: 0, heartbeat: '-1' });
    fx.addVf('0000:3d:01.0', { device: '37c9', pf: '0000:3d:00.0', numa: 0, group: '40' });
    fx.addVf('0000:3d:01.1', { device: '37c9', pf: '0000:3d:00.0', numa: 0, group: '41', driver: 'c6xxvf' });
    fx.addPf('0000:6b:00.0', { numa: 1, services: 'sym;asym', heartbeat: '0' });
    fx.addVf('0000:6b:00.1', { pf: '0000:6b:00.0', numa: 1, group: '60' });
    fx.addVf('0000:6b:00.2', { pf: '0000:6b:00.0', numa: 1, group: '61', devNode: 'noiommu' });
    fx.addVf('0000:6b:00.3', { pf: '0000:6b:00.0', numa: 1, group: null });
    fx.addVf('0000:6b:00.4', { pf: '0000:6b:00.0', numa: 1, group: '63', devNode: false });
    fx.addVf('0000:0a:00.0', { numa: -1, group: '5' });
    scan = await scanSysfs({ sysfsRoot: fx.sysfs, devRoot: fx.dev });
  });
  after(() => fx.cleanup());

  it('finds the QAT PFs by vendor and device ID, with driver, services and heartbeat; not the NIC', () => {
    assert.deepEqual(
      scan.pfs.map((p) => ({ bdf: p.bdf, family: p.family.name, driver: p.driver, cfg: p.cfgServices, hb: p.heartbeat, vfs: p.vfs })),
      [
        { bdf: '0000:3d:00.0', family: 'c6xx', driver: 'c6xx', cfg: null, hb: { state: 'failed', status: '-1' }, vfs: ['0000:3d:01.0', '0000:3d:01.1'] },
        { bdf: '0000:6b:00.0', family: '4xxx', driver: '4xxx', cfg: 'sym;asym', hb: { state: 'ok' }, vfs: ['0000:6b:00.1', '0000:6b:00.2', '0000:6b:00.3', '0000:6b:00.4'] },
      ],
    );
    assert.deepEqual(scan.problems, []);
  });

  it('finds each PF\'s VFs through its virtfn links, and a VF with no PF (a VM) on its own', () => {
    assert.deepEqual(
      scan.vfs.map((v) => [v.bdf, v.family.name, v.pf, v.driver, v.iommuGroup, v.numaNode]),
      [
        ['0000:3d:01.0', 'c6xx', '0000:3d:00.0', 'vfio-pci', '40', 0],
        ['0000:3d:01.1', 'c6xx', '0000:3d:00.0', 'c6xxvf', '41', 0],
        ['0000:6b:00.1', '4xxx', '0000:6b:00.0', 'vfio-pci', '60', 1],
        ['0000:6b:00.2', '4xxx', '0000:6b:00.0', 'vfio-pci', '61', 1],
        ['0000:6b:00.3', '4xxx', '0000:6b:00.0', 'vfio-pci', null, 1],
        ['0000:6b:00.4', '4xxx', '0000:6b:00.0', 'vfio-pci', '63', 1],
        ['0000:0a:00.0', '4xxx', null, 'vfio-pci', '5', null],
      ],
    );
  });

  it('finds the VFIO group device under the dev root: noiommu-<group> when that is the one there', () => {
    const vfio = Object.fromEntries(scan.vfs.map((v) => [v.bdf, [v.vfioDevice, v.vfioDeviceExists]]));
    assert.deepEqual(vfio['0000:6b:00.1'], [join(fx.dev, 'vfio/60'), true]);
    assert.deepEqual(vfio['0000:6b:00.2'], [join(fx.dev, 'vfio/noiommu-61'), true]);
    assert.deepEqual(vfio['0000:6b:00.3'], [null, false], 'no IOMMU group');
    assert.deepEqual(vfio['0000:6b:00.4'], [join(fx.dev, 'vfio/63'), false], 'group without its device node');
  });

  it('stops seeing a removed VF, and says when the PCI directory itself is missing', async () => {
    fx.removeVf('0000:6b:00.4');
    const again = await scanSysfs({ sysfsRoot: fx.sysfs, devRoot: fx.dev });
    assert.ok(!again.vfs.some((v) => v.bdf === '0000:6b:00.4'));
    assert.deepEqual(again.pfs[1]!.vfs, ['0000:6b:00.1', '0000:6b:00.2', '0000:6b:00.3']);
    const none = await scanSysfs({ sysfsRoot: join(fx.root, 'nothing'), devRoot: fx.dev });
    assert.deepEqual([none.pfs, none.vfs], [[], []]);
    assert.match(none.problems[0]!, /cannot list .*nothing\/bus\/pci\/devices: ENOENT/);
  });
});

describe('sysfs values', () => {
  it('numa_node: -1, absent or garbage mean no NUMA node', () => {
    assert.equal(parseNumaNode('0\n'), 0);
    assert.equal(parseNumaNode('3'), 3);
    assert.equal(parseNumaNode('-1\n'), null);
    assert.equal(parseNumaNode(null), null);
    assert.equal(parseNumaNode('x'), null);
  });

  it('heartbeat/status: 0 alive, another number failed, absent or unreadable assumed fine', () => {
    assert.deepEqual(parseHeartbeat('0\n'), { state: 'ok' });
    assert.deepEqual(parseHeartbeat('-1\n'), { state: 'failed', status: '-1' });
    assert.deepEqual(parseHeartbeat(null), { state: 'absent' });
    assert.deepEqual(parseHeartbeat(''), { state: 'absent' });
  });
});
