/**
 * Resource names: which extended resource a VF is advertised as. The names and the grouping of
 * services follow Intel's QAT device plugin, so pods written for it ask for the same resources.
 *
 *   --resource-naming generic   every VF is qat.intel.com/generic
 *   --resource-naming services  Gen4 and later VFs by their PF's configured services
 *                               (qat/cfg_services): sym;asym → cy, dc → dc, sym → sym, asym → asym,
 *                               asym;dc → asym-dc, sym;dc → sym-dc (either order); anything else,
 *                               older families and VFs without a visible PF → generic
 */
export const RESOURCE_PREFIX = 'qat.intel.com/';
export const GENERIC = 'generic';

export type ResourceNaming = 'generic' | 'services';
export const RESOURCE_NAMINGS: readonly ResourceNaming[] = ['generic', 'services'];

/** cfg_services (e.g. `sym;asym\n`) → the resource suffix, or null when it is not one Gatehouse names. */
export function servicesSuffix(cfgServices: string): string | null {
  const services = cfgServices
    .trim()
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const set = new Set(services);
  if (set.size !== services.length) return null;
  const key = [...set].sort().join(';');
  switch (key) {
    case 'asym;sym':
      return 'cy';
    case 'dc':
      return 'dc';
    case 'sym':
      return 'sym';
    case 'asym':
      return 'asym';
    case 'asym;dc':
      return 'asym-dc';
    case 'dc;sym':
      return 'sym-dc';
    default:
      return null;
  }
}

/** What the resource name of one VF depends on. */
export interface NamingInput {
  gen4: boolean;
  /** The PF's qat/cfg_services, when there is a PF and the file could be read. */
  cfgServices: string | null;
}

/** The full resource name of a VF: `qat.intel.com/<suffix>`. */
export function resourceName(naming: ResourceNaming, vf: NamingInput): string {
  if (naming === 'generic' || !vf.gen4 || vf.cfgServices === null) return RESOURCE_PREFIX + GENERIC;
  return RESOURCE_PREFIX + (servicesSuffix(vf.cfgServices) ?? GENERIC);
}

/** The plugin's socket file name for a resource, in the kubelet's device-plugins directory. */
export function socketName(resource: string): string {
  return `gatehouse-qat-${resource.slice(resource.indexOf('/') + 1)}.sock`;
}
