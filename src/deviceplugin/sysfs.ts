/**
 * The sysfs scanner: what the kernel says about the node's QAT devices, read as it is, with no
 * judgement (that is inventory.ts). Nothing here writes.
 *
 *   <sysfs>/bus/pci/devices/<BDF>/            one entry per PCI function (a link to its device dir)
 *     vendor, device                          0x8086, 0x4940 …: a QAT PF or VF (qat-ids.ts)
 *     virtfn<N> → ../<VF BDF>                 on a PF: its SR-IOV VFs
 *     physfn → ../<PF BDF>                    on a VF: its PF (absent inside a VM)
 *     driver → …/bus/pci/drivers/<name>       the bound driver (vfio-pci, 4xxxvf, …), absent if none
 *     iommu_group → …/kernel/iommu_groups/<N> the VF's IOMMU group: /dev/vfio/<N>
 *     numa_node                               -1 when the platform has no NUMA information
 *     qat/cfg_services                        on a Gen4+ PF: sym;asym, dc, …
 *   <sysfs>/kernel/debug/qat_<dev>_<PF BDF>/heartbeat/status   0 ok, -1 failed (debugfs, root only)
 *   <dev>/vfio/<N> or <dev>/vfio/noiommu-<N>  the VFIO group device a pod is given
 */
import { access, readdir, readFile, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BDF, pciId, pfFamily, vfFamily, type QatFamily } from './qat-ids.js';

export interface ScanRoots {
  sysfsRoot: string;
  devRoot: string;
}

export type Heartbeat = { state: 'ok' } | { state: 'absent' } | { state: 'failed'; status: string };

export interface ScannedPf {
  bdf: string;
  family: QatFamily;
  driver: string | null;
  /** qat/cfg_services, Gen4+ only; null when absent or unreadable. */
  cfgServices: string | null;
  heartbeat: Heartbeat;
  /** The VFs its virtfn links name, in virtfn order. */
  vfs: string[];
}

export interface ScannedVf {
  bdf: string;
  family: QatFamily;
  /** The PF's address; null for a VF with no PF in sight (a VF passed through to a VM). */
  pf: string | null;
  driver: string | null;
  iommuGroup: string | null;
  /** Host path of the VFIO group device (under the dev root), when there is a group. */
  vfioDevice: string | null;
  vfioDeviceExists: boolean;
  numaNode: number | null;
}

export interface SysfsScan {
  pfs: ScannedPf[];
  vfs: ScannedVf[];
  /** Things that could not be read, for the log (missing directories, unreadable files). */
  problems: string[];
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

async function linkBase(path: string): Promise<string | null> {
  try {
    return basename(await readlink(path));
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** `numa_node` text → the node, or null for -1, absent or garbage. */
export function parseNumaNode(text: string | null): number | null {
  if (text === null || !/^\s*-?\d+\s*$/.test(text)) return null;
  const n = Number(text.trim());
  return n >= 0 ? n : null;
}

/** `heartbeat/status` text → its meaning: 0 is alive; any other number failed; unreadable is treated as absent. */
export function parseHeartbeat(text: string | null): Heartbeat {
  if (text === null) return { state: 'absent' };
  const first = text.split('\n')[0]!.trim();
  if (!/^-?\d+$/.test(first)) return { state: 'absent' };
  return Number(first) === 0 ? { state: 'ok' } : { state: 'failed', status: first };
}

/** The debugfs directory of each PF that has one: PF BDF → `<debugfs>/qat_<dev>_<BDF>`. */
async function debugfsDirs(sysfsRoot: string): Promise<Map<string, string>> {
  const root = join(sysfsRoot, 'kernel', 'debug');
  const dirs = new Map<string, string>();
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return dirs;
  }
  for (const name of names) {
    const m = /^qat_[0-9a-z]+_([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])$/.exec(name);
    if (m) dirs.set(m[1]!, join(root, name));
  }
  return dirs;
}

async function pciIds(dir: string): Promise<{ vendor: string | null; device: string | null }> {
  const [vendor, device] = await Promise.all([readText(join(dir, 'vendor')), readText(join(dir, 'device'))]);
  return { vendor: vendor === null ? null : pciId(vendor), device: device === null ? null : pciId(device) };
}

function virtfnIndex(name: string): number {
  return Number(name.slice('virtfn'.length));
}

async function scanPf(dir: string, bdf: string, family: QatFamily, debugfs: Map<string, string>): Promise<ScannedPf> {
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    // gone meanwhile: no VFs
  }
  const virtfns = names.filter((n) => /^virtfn\d+$/.test(n)).sort((a, b) => virtfnIndex(a) - virtfnIndex(b));
  const vfs = (await Promise.all(virtfns.map((n) => linkBase(join(dir, n))))).filter((v): v is string => v !== null && BDF.test(v));
  const hbDir = debugfs.get(bdf);
  const [driver, cfgServices, heartbeat] = await Promise.all([
    linkBase(join(dir, 'driver')),
    family.gen4 ? readText(join(dir, 'qat', 'cfg_services')) : Promise.resolve(null),
    hbDir === undefined ? Promise.resolve(null) : readText(join(hbDir, 'heartbeat', 'status')),
  ]);
  return { bdf, family, driver, cfgServices: cfgServices?.trim() || null, heartbeat: parseHeartbeat(heartbeat), vfs };
}

async function scanVf(dir: string, bdf: string, family: QatFamily, pf: string | null, devRoot: string): Promise<ScannedVf> {
  const [driver, iommuGroup, numa] = await Promise.all([linkBase(join(dir, 'driver')), linkBase(join(dir, 'iommu_group')), readText(join(dir, 'numa_node'))]);
  let vfioDevice: string | null = null;
  let vfioDeviceExists = false;
  if (iommuGroup !== null) {
    const noiommu = join(devRoot, 'vfio', `noiommu-${iommuGroup}`);
    if (await exists(noiommu)) {
      vfioDevice = noiommu;
      vfioDeviceExists = true;
    } else {
      vfioDevice = join(devRoot, 'vfio', iommuGroup);
      vfioDeviceExists = await exists(vfioDevice);
    }
  }
  return { bdf, family, pf, driver, iommuGroup, vfioDevice, vfioDeviceExists, numaNode: parseNumaNode(numa) };
}

/** Every QAT PF and VF under `<sysfs>/bus/pci/devices`, in address order (VFs of a PF in virtfn order). */
export async function scanSysfs(roots: ScanRoots): Promise<SysfsScan> {
  const devicesDir = join(roots.sysfsRoot, 'bus', 'pci', 'devices');
  const problems: string[] = [];
  let names: string[];
  try {
    names = (await readdir(devicesDir)).filter((n) => BDF.test(n)).sort();
  } catch (e) {
    problems.push(`cannot list ${devicesDir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    return { pfs: [], vfs: [], problems };
  }
  const ids = await Promise.all(names.map((n) => pciIds(join(devicesDir, n))));
  const debugfs = await debugfsDirs(roots.sysfsRoot);

  const pfs: ScannedPf[] = [];
  const looseVfs = new Map<string, QatFamily>();
  for (const [i, name] of names.entries()) {
    const { vendor, device } = ids[i]!;
    const pf = pfFamily(vendor, device);
    if (pf) pfs.push(await scanPf(join(devicesDir, name), name, pf, debugfs));
    const vf = vfFamily(vendor, device);
    if (vf) looseVfs.set(name, vf);
  }

  const present = new Set(names);
  const vfs: ScannedVf[] = [];
  const seen = new Set<string>();
  for (const pf of pfs) {
    for (const bdf of pf.vfs) {
      if (seen.has(bdf)) continue;
      // Listed by its PF but not under bus/pci/devices: removed meanwhile.
      if (!present.has(bdf)) continue;
      seen.add(bdf);
      vfs.push(await scanVf(join(devicesDir, bdf), bdf, looseVfs.get(bdf) ?? pf.family, pf.bdf, roots.devRoot));
    }
  }
  // VFs no visible PF lists: passed through to this machine (a VM), or whose PF is not a QAT PF we know.
  for (const [bdf, family] of looseVfs) {
    if (seen.has(bdf)) continue;
    const physfn = await linkBase(join(devicesDir, bdf, 'physfn'));
    const pf = physfn !== null && pfs.some((p) => p.bdf === physfn) ? physfn : null;
    vfs.push(await scanVf(join(devicesDir, bdf), bdf, family, pf, roots.devRoot));
  }
  return { pfs, vfs, problems };
}
