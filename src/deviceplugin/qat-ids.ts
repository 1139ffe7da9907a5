/**
 * Intel QuickAssist (QAT) PCI IDs: each family's physical function (PF) and the virtual function
 * (VF) its SR-IOV creates. Vendor 0x8086. Gen4 and later (4xxx onward) can be configured per PF
 * for a set of services (`qat/cfg_services`), which gives the VFs their resource name.
 */
export const INTEL_VENDOR = '8086';

export interface QatFamily {
  /** As the kernel driver names it (the PF driver; the VF driver adds "vf"). */
  name: string;
  pf: string;
  vf: string;
  /** 4xxx and later: services configurable per PF. */
  gen4: boolean;
}

export const QAT_FAMILIES: readonly QatFamily[] = [
  { name: 'dh895xcc', pf: '0435', vf: '0443', gen4: false },
  { name: 'c6xx', pf: '37c8', vf: '37c9', gen4: false },
  { name: 'c3xxx', pf: '19e2', vf: '19e3', gen4: false },
  { name: '4xxx', pf: '4940', vf: '4941', gen4: true },
  { name: '401xx', pf: '4942', vf: '4943', gen4: true },
  { name: '402xx', pf: '4944', vf: '4945', gen4: true },
  { name: '420xx', pf: '4946', vf: '4947', gen4: true },
  { name: '6xxx', pf: '4948', vf: '4949', gen4: true },
];

const BY_PF = new Map(QAT_FAMILIES.map((f) => [f.pf, f]));
const BY_VF = new Map(QAT_FAMILIES.map((f) => [f.vf, f]));

/** `0x4940\n` (as sysfs writes it) → `4940`; anything else → null. */
export function pciId(text: string): string | null {
  const m = /^(?:0x)?([0-9a-f]{4})$/i.exec(text.trim());
  return m ? m[1]!.toLowerCase() : null;
}

export function pfFamily(vendor: string | null, device: string | null): QatFamily | undefined {
  return vendor === INTEL_VENDOR && device !== null ? BY_PF.get(device) : undefined;
}

export function vfFamily(vendor: string | null, device: string | null): QatFamily | undefined {
  return vendor === INTEL_VENDOR && device !== null ? BY_VF.get(device) : undefined;
}

/** The driver the VFs must be bound to, so a pod can own them through VFIO. */
export const VFIO_DRIVER = 'vfio-pci';

/** A PCI address as sysfs names devices: domain:bus:device.function, e.g. 0000:6b:00.1. */
export const BDF = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;
