/**
 * The inventory: from what sysfs says (sysfs.ts) to the devices each resource advertises, with
 * their health. Pure: the previous inventory and a scan in, the next inventory out.
 *
 * - A VF joins its resource's list when it is first seen bound to vfio-pci (a VF the host keeps
 *   on its kernel driver is the host's, not the kubelet's), up to --max-devices per resource.
 * - Once listed, it stays listed for the life of the process, so the kubelet sees it turn
 *   Unhealthy (and back) rather than vanish: when it is unbound from vfio-pci, loses its IOMMU
 *   group or VFIO device, its PF's heartbeat fails, or it disappears from sysfs.
 */
import { resourceName, type ResourceNaming } from './resources.js';
import { VFIO_DRIVER } from './qat-ids.js';
import type { ScannedPf, ScannedVf, SysfsScan } from './sysfs.js';

export type Health = 'Healthy' | 'Unhealthy';

export interface DeviceState {
  /** The VF's PCI address: the device ID the kubelet knows it by. */
  id: string;
  resource: string;
  /** The PF's address; null for a VF with no PF in sight (a VM). */
  pf: string | null;
  numaNode: number | null;
  /** Host path of the VFIO group device, e.g. /dev/vfio/12. */
  vfioDevice: string | null;
  health: Health;
  /** Why it is Unhealthy (null when Healthy), for the log and for a refused Allocate. */
  reason: string | null;
}

/** resource → device ID → state; devices in address order. */
export type Inventory = ReadonlyMap<string, ReadonlyMap<string, DeviceState>>;

export interface InventoryOptions {
  naming: ResourceNaming;
  /** At most this many devices per resource; undefined: no cap. */
  maxDevices?: number | undefined;
}

export interface InventoryUpdate {
  inventory: Inventory;
  /** VFs on vfio-pci left out because their resource is at --max-devices. */
  capped: string[];
}

/** Why a VF that is present cannot be handed to a pod, or null when it can. */
export function unhealthyReason(vf: ScannedVf, pf: ScannedPf | undefined): string | null {
  if (vf.driver !== VFIO_DRIVER) return vf.driver === null ? `bound to no driver, not ${VFIO_DRIVER}` : `bound to ${vf.driver}, not ${VFIO_DRIVER}`;
  if (vf.iommuGroup === null) return 'has no IOMMU group (is the IOMMU on? intel_iommu=on, or vfio noiommu mode)';
  if (!vf.vfioDeviceExists) return `its VFIO device ${vf.vfioDevice} does not exist`;
  if (pf?.heartbeat.state === 'failed') return `its PF ${pf.bdf} reports a failed heartbeat (status ${pf.heartbeat.status})`;
  return null;
}

export function nextInventory(prev: Inventory, scan: SysfsScan, opts: InventoryOptions): InventoryUpdate {
  const pfs = new Map(scan.pfs.map((p) => [p.bdf, p]));
  const next = new Map<string, Map<string, DeviceState>>();
  const capped: string[] = [];
  const where = new Map<string, string>();
  const listOf = (resource: string): Map<string, DeviceState> => {
    let list = next.get(resource);
    if (!list) next.set(resource, (list = new Map()));
    return list;
  };
  for (const resource of prev.keys()) listOf(resource);

  // Known devices first, so a newcomer never takes the place of one the kubelet already counts.
  const present = [...scan.vfs].sort((a, b) => Number(isKnown(prev, b)) - Number(isKnown(prev, a)));
  for (const vf of present) {
    const pf = vf.pf === null ? undefined : pfs.get(vf.pf);
    const resource = resourceName(opts.naming, { gen4: vf.family.gen4, cfgServices: pf?.cfgServices ?? null });
    const known = prev.get(resource)?.has(vf.bdf) ?? false;
    if (!known && vf.driver !== VFIO_DRIVER) continue;
    const list = listOf(resource);
    if (!known && opts.maxDevices !== undefined && list.size >= opts.maxDevices) {
      capped.push(vf.bdf);
      continue;
    }
    const reason = unhealthyReason(vf, pf);
    list.set(vf.bdf, { id: vf.bdf, resource, pf: vf.pf, numaNode: vf.numaNode, vfioDevice: vf.vfioDevice, health: reason === null ? 'Healthy' : 'Unhealthy', reason });
    where.set(vf.bdf, resource);
  }

  // Listed before, not listed now under the same resource: gone, or moved to another resource.
  for (const [resource, devices] of prev) {
    const list = listOf(resource);
    for (const [id, d] of devices) {
      if (list.has(id)) continue;
      const now = where.get(id);
      const reason = now !== undefined ? `now advertised as ${now} (its PF's services changed)` : 'is gone from sysfs (removed, or its PF\'s VFs were disabled)';
      list.set(id, { ...d, health: 'Unhealthy', reason });
    }
  }

  const sorted = new Map<string, ReadonlyMap<string, DeviceState>>();
  for (const resource of [...next.keys()].sort()) {
    const list = next.get(resource)!;
    sorted.set(resource, new Map([...list.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  }
  return { inventory: sorted, capped };
}

function isKnown(prev: Inventory, vf: ScannedVf): boolean {
  for (const devices of prev.values()) if (devices.has(vf.bdf)) return true;
  return false;
}

/** Whether two device lists say the same to the kubelet (IDs, health, topology). */
export function sameAdvertisement(a: ReadonlyMap<string, DeviceState> | undefined, b: ReadonlyMap<string, DeviceState> | undefined): boolean {
  const x = [...(a?.values() ?? [])];
  const y = [...(b?.values() ?? [])];
  return x.length === y.length && x.every((d, i) => d.id === y[i]!.id && d.health === y[i]!.health && d.numaNode === y[i]!.numaNode);
}
