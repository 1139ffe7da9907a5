/**
 * The crypto devices this pod was given. The device plugin hands a pod QAT virtual functions as
 * `QAT0…QATn-1` variables (their PCI addresses) and `/dev/vfio/<group>` devices; a TPM is
 * `/dev/tpmrm0` or a TCTI named in TPM2OPENSSL_TCTI (the tpm2 provider's own variable).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface CryptoDevices {
  /** QAT VFs by variable: `QAT0=0000:6b:00.1`. */
  qat: string[];
  /** `/dev/vfio/12`, `/dev/vfio/noiommu-3` (not the `/dev/vfio/vfio` container). */
  vfio: string[];
  /** `/dev/tpmrm0`, or `tcti:<TPM2OPENSSL_TCTI>`. */
  tpm: string[];
}

/** Everything found, one line each (for logs, /status and the metric). */
export function describeDevices(d: CryptoDevices): string[] {
  return [...d.qat, ...d.vfio, ...d.tpm];
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Reads the environment and `devRoot` (default /dev). */
export function detectDevices(env: NodeJS.ProcessEnv, devRoot = '/dev'): CryptoDevices {
  const qat = Object.keys(env)
    .filter((k) => /^QAT\d+$/.test(k) && (env[k] ?? '') !== '')
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)))
    .map((k) => `${k}=${env[k]}`);
  const vfio = list(join(devRoot, 'vfio'))
    .filter((n) => /^(noiommu-)?\d+$/.test(n))
    .map((n) => `/dev/vfio/${n}`);
  const tpm = list(devRoot)
    .filter((n) => /^tpmrm\d+$/.test(n))
    .map((n) => `/dev/${n}`);
  const tcti = env['TPM2OPENSSL_TCTI'];
  if (tcti) tpm.push(`tcti:${tcti}`);
  return { qat, vfio, tpm };
}
