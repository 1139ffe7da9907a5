/**
 * `--bind`: moves a VF from its kernel driver (4xxxvf, c6xxvf, …) to vfio-pci, the way the kernel
 * documents it (Documentation/ABI/testing/sysfs-bus-pci, driver_override):
 *
 *   echo vfio-pci     > /sys/bus/pci/devices/<BDF>/driver_override   only vfio-pci may take it now
 *   echo <BDF>        > /sys/bus/pci/devices/<BDF>/driver/unbind     let go of the current driver
 *   echo <BDF>        > /sys/bus/pci/drivers_probe                   probe again: vfio-pci takes it
 *
 * It needs a writable /sys and root; the accelerated overlay's DaemonSet mounts /sys read-only and
 * leaves binding to the node's administrator.
 */
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VFIO_DRIVER } from './qat-ids.js';

export interface BindTarget {
  bdf: string;
  /** The driver bound now, if any. */
  driver: string | null;
}

function explain(path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const hint =
    code === 'EROFS'
      ? ': /sys is read-only here; bind the VFs on the host, or mount /sys writable for --bind'
      : code === 'EACCES' || code === 'EPERM'
        ? ': permission denied; --bind needs root'
        : '';
  return `writing ${path} failed (${code ?? String(e)})${hint}`;
}

/** Rebinds one VF to vfio-pci; rejects with a message naming the file that could not be written. */
export async function bindToVfio(sysfsRoot: string, vf: BindTarget): Promise<void> {
  const pci = join(sysfsRoot, 'bus', 'pci');
  try {
    await access(join(pci, 'drivers', VFIO_DRIVER));
  } catch {
    throw new Error(`the ${VFIO_DRIVER} driver is not loaded (no ${join(pci, 'drivers', VFIO_DRIVER)}): run "modprobe ${VFIO_DRIVER}" on the node`);
  }
  const dev = join(pci, 'devices', vf.bdf);
  const steps: [string, string][] = [[join(dev, 'driver_override'), VFIO_DRIVER]];
  if (vf.driver !== null) steps.push([join(dev, 'driver', 'unbind'), vf.bdf]);
  steps.push([join(pci, 'drivers_probe'), vf.bdf]);
  for (const [path, value] of steps) {
    try {
      await writeFile(path, value);
    } catch (e) {
      throw new Error(explain(path, e));
    }
  }
}
