import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextInventory, sameAdvertisement, type Inventory, type InventoryOptions } from '../../src/deviceplugin/inventory.js';
import { QAT_FAMILIES } from '../../src/deviceplugin/qat-ids.js';
import type { Heartbeat, ScannedPf, ScannedVf, SysfsScan } from '../../src/deviceplugin/sysfs.js';

const GEN4 = QAT_FAMILIES.find((f) => f.name === '4xxx')!;
const C6XX = QAT_FAMILIES.find((f) => f.name === 'c6xx')!;

function pf(bdf: string, over: Partial<ScannedPf> = {}): ScannedPf {
  return { bdf, family: GEN4, driver: '4xxx', cfgServices: null, heartbeat: { state: 'absent' }, vfs: [], ...over };
}

function vf(bdf: string, over: Partial<ScannedVf> = {}): ScannedVf {
  const group = bdf.slice(-1);
  return { bdf, family: GEN4, pf: 'p', driver: 'vfio-pci', iommuGroup: group, vfioDevice: `/dev/vfio/${group}`, vfioDeviceExists: true, numaNode: 0, ...over };
}

const scan = (pfs: ScannedPf[], vfs: ScannedVf[]): SysfsScan => ({ pfs, vfs, problems: [] });
const GENERIC: InventoryOptions = { naming: 'generic' };
const EMPTY: Inventory = new Map();

/** resource → id → health (+ reason). */
function view(inv: Inventory): Record<string, Record<string, string>> {
  return Object.fromEntries([...inv].map(([r, devs]) => [r, Object.fromEntries([...devs.values()].map((d) => [d.id, d.reason ? `${d.health}: ${d.reason}` : d.health]))]));
}

describe('inventory', () => {
  it('lists the VFs on vfio-pci; a VF on its kernel driver is the host\'s and is not listed', () => {
    const { inventory } = nextInventory(EMPTY, scan([pf('p')], [vf('p.2'), vf('p.1'), vf('p.3', { driver: '4xxxvf' })]), GENERIC);
    assert.deepEqual(view(inventory), { 'qat.intel.com/generic': { 'p.1': 'Healthy', 'p.2': 'Healthy' } });
    const d = inventory.get('qat.intel.com/generic')!.get('p.1')!;
    assert.deepEqual(d, { id: 'p.1', resource: 'qat.intel.com/generic', pf: 'p', numaNode: 0, vfioDevice: '/dev/vfio/1', health: 'Healthy', reason: null });
  });

  it('keeps a listed VF as Unhealthy, with the reason, when it leaves vfio-pci, loses its group or device, its PF fails, or it disappears', () => {
    const ids = ['p.1', 'p.2', 'p.3', 'p.4', 'p.5', 'q.6'];
    const first = nextInventory(EMPTY, scan([pf('p'), pf('q')], ids.map((id) => vf(id, { pf: id[0] }))), GENERIC).inventory;
    const hb: Heartbeat = { state: 'failed', status: '-1' };
    const second = nextInventory(
      first,
      scan(
        [pf('p'), pf('q', { heartbeat: hb })],
        [vf('p.1', { driver: '4xxxvf' }), vf('p.2', { driver: null }), vf('p.3', { iommuGroup: null, vfioDevice: null, vfioDeviceExists: false }), vf('p.4', { vfioDeviceExists: false }), vf('q.6', { pf: 'q' })],
      ),
      GENERIC,
    ).inventory;
    assert.deepEqual(view(second), {
      'qat.intel.com/generic': {
        'p.1': 'Unhealthy: bound to 4xxxvf, not vfio-pci',
        'p.2': 'Unhealthy: bound to no driver, not vfio-pci',
        'p.3': 'Unhealthy: has no IOMMU group (is the IOMMU on? intel_iommu=on, or vfio noiommu mode)',
        'p.4': 'Unhealthy: its VFIO device /dev/vfio/4 does not exist',
        'p.5': "Unhealthy: is gone from sysfs (removed, or its PF's VFs were disabled)",
        'q.6': 'Unhealthy: its PF q reports a failed heartbeat (status -1)',
      },
    });
    const third = nextInventory(second, scan([pf('p'), pf('q')], ids.map((id) => vf(id, { pf: id[0] }))), GENERIC).inventory;
    assert.deepEqual(Object.values(view(third)['qat.intel.com/generic']!), ['Healthy', 'Healthy', 'Healthy', 'Healthy', 'Healthy', 'Healthy'], 'all recovered');
  });

  it('names Gen4 VFs by their PF\'s services, and moves a VF whose PF changed services (Unhealthy where it was)', () => {
    const opts: InventoryOptions = { naming: 'services' };
    const pfs = [pf('p', { cfgServices: 'sym;asym' }), pf('q', { cfgServices: 'dc' }), pf('c', { family: C6XX, cfgServices: 'dc' })];
    const vfs = [vf('p.1'), vf('q.2', { pf: 'q' }), vf('c.3', { pf: 'c', family: C6XX }), vf('v.4', { pf: null })];
    const first = nextInventory(EMPTY, scan(pfs, vfs), opts).inventory;
    assert.deepEqual(view(first), {
      'qat.intel.com/cy': { 'p.1': 'Healthy' },
      'qat.intel.com/dc': { 'q.2': 'Healthy' },
      'qat.intel.com/generic': { 'c.3': 'Healthy', 'v.4': 'Healthy' },
    });
    const moved = nextInventory(first, scan([pf('p', { cfgServices: 'dc' }), ...pfs.slice(1)], vfs), opts).inventory;
    assert.deepEqual(view(moved)['qat.intel.com/cy'], { 'p.1': 'Unhealthy: now advertised as qat.intel.com/dc (its PF\'s services changed)' });
    assert.deepEqual(view(moved)['qat.intel.com/dc'], { 'p.1': 'Healthy', 'q.2': 'Healthy' });
  });

  it('caps each resource at maxDevices, and a VF already listed keeps its place', () => {
    const { inventory, capped } = nextInventory(EMPTY, scan([pf('p')], [vf('p.1'), vf('p.2'), vf('p.3')]), { naming: 'generic', maxDevices: 2 });
    assert.deepEqual(Object.keys(view(inventory)['qat.intel.com/generic']!), ['p.1', 'p.2']);
    assert.deepEqual(capped, ['p.3']);
    const later = nextInventory(inventory, scan([pf('p')], [vf('p.0'), vf('p.1'), vf('p.2')]), { naming: 'generic', maxDevices: 2 });
    assert.deepEqual(Object.keys(view(later.inventory)['qat.intel.com/generic']!), ['p.1', 'p.2'], 'a newcomer does not push a listed VF out');
    assert.deepEqual(later.capped, ['p.0']);
  });

  it('tells whether the kubelet would see a difference (IDs, health, NUMA), not a path change', () => {
    const a = nextInventory(EMPTY, scan([pf('p')], [vf('p.1')]), GENERIC).inventory.get('qat.intel.com/generic');
    const b = nextInventory(EMPTY, scan([pf('p')], [vf('p.1', { vfioDevice: '/dev/vfio/noiommu-1' })]), GENERIC).inventory.get('qat.intel.com/generic');
    const c = nextInventory(EMPTY, scan([pf('p')], [vf('p.1', { numaNode: 1 })]), GENERIC).inventory.get('qat.intel.com/generic');
    assert.equal(sameAdvertisement(a, b), true);
    assert.equal(sameAdvertisement(a, c), false);
    assert.equal(sameAdvertisement(a, undefined), false);
  });
});
