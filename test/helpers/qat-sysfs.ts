/**
 * A fixture QAT node in a temp dir, laid out the way the kernel lays out sysfs:
 *
 *   sys/devices/pci0000:00/<BDF>/                 the device directories (vendor, device, numa_node, …)
 *   sys/bus/pci/devices/<BDF> → ../../../devices/pci0000:00/<BDF>
 *   sys/bus/pci/drivers/<name>/{bind,unbind}      drivers (vfio-pci, 4xxx, 4xxxvf, …); drivers_probe
 *   <dev>/driver → ../../../bus/pci/drivers/<name>
 *   <PF>/virtfn<N> → ../<VF>, <VF>/physfn → ../<PF>
 *   <VF>/iommu_group → ../../../kernel/iommu_groups/<N>
 *   <PF>/qat/cfg_services, <PF>/qat/state
 *   sys/kernel/debug/qat_<family>_<PF>/heartbeat/status
 *   dev/vfio/vfio, dev/vfio/<N>
 *   kubelet/                                      the kubelet's device-plugins directory
 *
 * Changes a test makes (unbind, remove, heartbeat) are plain file operations on the tree.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

export interface PfSpec {
  /** PCI device ID (default 4940, a 4xxx). */
  device?: string;
  /** Kernel driver (default: the family's, e.g. 4xxx). */
  driver?: string | null;
  numa?: number;
  /** qat/cfg_services (Gen4+). */
  services?: string;
  /** heartbeat/status in debugfs; absent when undefined. */
  heartbeat?: string;
  /** The family name in the debugfs directory (default 4xxx). */
  family?: string;
}

export interface VfSpec {
  /** PCI device ID (default 4941). */
  device?: string;
  /** The PF; it gets a virtfn<N> link (N = its count of VFs so far). None: a VF passed through to a VM. */
  pf?: string;
  driver?: string | null;
  /** IOMMU group (null: none); default: a new number. */
  group?: string | null;
  numa?: number;
  /** Whether /dev/vfio/<group> exists (default true); 'noiommu' creates /dev/vfio/noiommu-<group>. */
  devNode?: boolean | 'noiommu';
}

export class QatFixture {
  readonly root: string;
  readonly sysfs: string;
  readonly dev: string;
  readonly kubeletDir: string;
  private nextGroup = 10;
  private readonly virtfns = new Map<string, number>();
  private readonly families = new Map<string, string>();

  constructor(prefix = 'gatehouse-qat-') {
    this.root = mkdtempSync(join(tmpdir(), prefix));
    this.sysfs = join(this.root, 'sys');
    this.dev = join(this.root, 'dev');
    this.kubeletDir = join(this.root, 'kubelet');
    for (const d of [join(this.sysfs, 'bus/pci/devices'), join(this.sysfs, 'devices/pci0000:00'), join(this.sysfs, 'kernel/iommu_groups'), join(this.dev, 'vfio'), this.kubeletDir]) {
      mkdirSync(d, { recursive: true });
    }
    writeFileSync(join(this.sysfs, 'bus/pci/drivers_probe'), '');
    writeFileSync(join(this.dev, 'vfio/vfio'), '');
    this.driver('vfio-pci');
  }

  /** The device directory of a PCI function. */
  deviceDir(bdf: string): string {
    return join(this.sysfs, 'devices/pci0000:00', bdf);
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  read(path: string): string | null {
    return existsSync(path) ? readFileSync(path, 'utf8') : null;
  }

  private driver(name: string): void {
    const d = join(this.sysfs, 'bus/pci/drivers', name);
    if (existsSync(d)) return;
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'bind'), '');
    writeFileSync(join(d, 'unbind'), '');
  }

  /** Creates or replaces a symlink in one step (rename), so a scan never sees it missing midway. */
  private link(target: string, path: string): void {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.new`;
    rmSync(tmp, { force: true });
    symlinkSync(target, tmp);
    renameSync(tmp, path);
  }

  private pciFunction(bdf: string, device: string, numa: number | undefined): string {
    const dir = this.deviceDir(bdf);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'vendor'), '0x8086\n');
    writeFileSync(join(dir, 'device'), `0x${device}\n`);
    writeFileSync(join(dir, 'numa_node'), `${numa ?? -1}\n`);
    this.link(`../../../devices/pci0000:00/${bdf}`, join(this.sysfs, 'bus/pci/devices', bdf));
    return dir;
  }

  /** A non-QAT PCI function (say, a NIC), which the scanner must pass over. */
  addOther(bdf: string, vendor: string, device: string): void {
    const dir = this.pciFunction(bdf, device, 0);
    writeFileSync(join(dir, 'vendor'), `0x${vendor}\n`);
  }

  addPf(bdf: string, spec: PfSpec = {}): void {
    this.pciFunction(bdf, spec.device ?? '4940', spec.numa);
    const family = spec.family ?? '4xxx';
    this.setDriver(bdf, spec.driver === undefined ? family : spec.driver);
    if (spec.services !== undefined) this.setServices(bdf, spec.services);
    this.families.set(bdf, family);
    if (spec.heartbeat !== undefined) this.setHeartbeat(bdf, spec.heartbeat);
    this.virtfns.set(bdf, 0);
  }

  addVf(bdf: string, spec: VfSpec = {}): void {
    const dir = this.pciFunction(bdf, spec.device ?? '4941', spec.numa);
    this.setDriver(bdf, spec.driver === undefined ? 'vfio-pci' : spec.driver);
    if (spec.pf !== undefined) {
      const n = this.virtfns.get(spec.pf) ?? 0;
      this.virtfns.set(spec.pf, n + 1);
      this.link(`../${bdf}`, join(this.deviceDir(spec.pf), `virtfn${n}`));
      this.link(`../${spec.pf}`, join(dir, 'physfn'));
    }
    const group = spec.group === undefined ? String(this.nextGroup++) : spec.group;
    if (group !== null) {
      mkdirSync(join(this.sysfs, 'kernel/iommu_groups', group), { recursive: true });
      this.link(`../../../kernel/iommu_groups/${group}`, join(dir, 'iommu_group'));
      const node = spec.devNode ?? true;
      if (node !== false) writeFileSync(join(this.dev, 'vfio', node === 'noiommu' ? `noiommu-${group}` : group), '');
    }
  }

  /** Binds a function to `driver` (a link to bus/pci/drivers/<driver>), or unbinds it (null). */
  setDriver(bdf: string, driver: string | null): void {
    const link = join(this.deviceDir(bdf), 'driver');
    if (driver === null) {
      rmSync(link, { force: true });
      return;
    }
    this.driver(driver);
    this.link(`../../../bus/pci/drivers/${driver}`, link);
  }

  setServices(pf: string, services: string): void {
    mkdirSync(join(this.deviceDir(pf), 'qat'), { recursive: true });
    writeFileSync(join(this.deviceDir(pf), 'qat/cfg_services'), `${services}\n`);
    writeFileSync(join(this.deviceDir(pf), 'qat/state'), 'up\n');
  }

  /** Writes the PF's debugfs heartbeat/status (0 alive, -1 failed). */
  setHeartbeat(pf: string, status: string): void {
    const family = this.families.get(pf) ?? '4xxx';
    const dir = join(this.sysfs, 'kernel/debug', `qat_${family}_${pf}`, 'heartbeat');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'status'), `${status}\n`);
  }

  /** Removes a VF the way disabling SR-IOV does: its bus entry, its PF's virtfn link and its device dir. */
  removeVf(bdf: string): void {
    rmSync(join(this.sysfs, 'bus/pci/devices', bdf), { force: true });
    for (const [pf, n] of this.virtfns) {
      for (let i = 0; i < n; i++) {
        const l = join(this.deviceDir(pf), `virtfn${i}`);
        if (linkBase(l) === bdf) rmSync(l, { force: true });
      }
    }
    rmSync(this.deviceDir(bdf), { recursive: true, force: true });
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

function linkBase(path: string): string | null {
  try {
    return basename(readlinkSync(path));
  } catch {
    return null;
  }
}
