/**
 * Allocate's answer for one container: the VFIO devices and the QAT<n> variables. Pure.
 *
 * A container given VFs 0000:6b:00.1 and 0000:6b:00.2 (IOMMU groups 12 and 13) gets the devices
 * /dev/vfio/vfio, /dev/vfio/12 and /dev/vfio/13 (rw) and QAT0=0000:6b:00.1, QAT1=0000:6b:00.2, the
 * variables QAT's user-space library (qatlib) and the OpenSSL QAT provider find their VFs by.
 */
import { join, posix, relative } from 'node:path';
import type { DeviceState } from './inventory.js';
import type { ContainerAllocateResponse, DeviceSpec } from './proto.js';

export const ENV_PREFIX = 'QAT';

/** A device Allocate must not hand out; `code` is the gRPC status to answer with. */
export class AllocationRefused extends Error {
  override name = 'AllocationRefused';
  constructor(
    readonly code: 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION',
    message: string,
  ) {
    super(message);
  }
}

/** A host path under the dev root → the same device's path in the container, under /dev. */
export function containerDevicePath(devRoot: string, hostPath: string): string {
  const rel = relative(devRoot, hostPath);
  if (rel === '' || rel.startsWith('..')) throw new Error(`${hostPath} is not under the dev root ${devRoot}`);
  return posix.join('/dev', ...rel.split(/[\\/]/));
}

export function containerAllocation(ids: readonly string[], devices: ReadonlyMap<string, DeviceState>, resource: string, devRoot: string): ContainerAllocateResponse {
  const unique = [...new Set(ids)];
  for (const id of unique) {
    const d = devices.get(id);
    if (d === undefined) throw new AllocationRefused('INVALID_ARGUMENT', `device ${JSON.stringify(id)} is not a ${resource} device on this node`);
    if (d.health !== 'Healthy') throw new AllocationRefused('FAILED_PRECONDITION', `device ${id} (${resource}) is Unhealthy: ${d.reason ?? 'no reason recorded'}`);
    if (d.vfioDevice === null) throw new AllocationRefused('FAILED_PRECONDITION', `device ${id} (${resource}) has no VFIO group device`);
  }
  const host = [join(devRoot, 'vfio', 'vfio'), ...unique.map((id) => devices.get(id)!.vfioDevice!)];
  const specs: DeviceSpec[] = [...new Set(host)].map((h) => ({ host_path: h, container_path: containerDevicePath(devRoot, h), permissions: 'rw' }));
  const envs: Record<string, string> = {};
  unique.forEach((id, i) => {
    envs[`${ENV_PREFIX}${i}`] = id;
  });
  return { envs, mounts: [], devices: specs, annotations: {}, cdi_devices: [] };
}
