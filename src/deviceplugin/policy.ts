/**
 * GetPreferredAllocation's policies: which of the free VFs a container should get. Pure. The
 * kubelet passes the free devices (available), the ones it has already settled on (must include)
 * and how many the container needs; the answer always holds every must-include device and
 * otherwise only available ones. VFs are grouped by their PF (a VF with no PF in sight is a group
 * of its own).
 *
 * - balanced: spread a container's VFs across PFs: each next VF comes from the PF this container
 *   has the fewest VFs on, then the PF with the most free VFs (the least used one), then by address.
 * - packed: fill one PF before the next: first the PFs the must-include devices are on, then the
 *   PF whose free VFs fit the rest most tightly; when none fits it all, the one with the most free
 *   VFs, and so on. Whole PFs stay free for containers that need many VFs.
 */
export type AllocationPolicy = 'balanced' | 'packed';
export const ALLOCATION_POLICIES: readonly AllocationPolicy[] = ['balanced', 'packed'];

export interface PreferenceRequest {
  available: readonly string[];
  mustInclude: readonly string[];
  size: number;
}

/** A request that cannot be answered: the message says why (INVALID_ARGUMENT). */
export class PreferenceError extends Error {
  override name = 'PreferenceError';
}

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function preferredDevices(policy: AllocationPolicy, req: PreferenceRequest, pfOf: (id: string) => string | null): string[] {
  const chosen = [...new Set(req.mustInclude)];
  const taken = new Set(chosen);
  const free = [...new Set(req.available)].filter((id) => !taken.has(id)).sort(byId);
  if (!Number.isInteger(req.size) || req.size < 0) throw new PreferenceError(`allocation_size ${req.size} is not a device count`);
  if (chosen.length >= req.size) return chosen;
  if (chosen.length + free.length < req.size) {
    throw new PreferenceError(`allocation_size ${req.size} is more than the ${chosen.length + free.length} devices available and must-include`);
  }

  const group = (id: string): string => pfOf(id) ?? `vf ${id}`;
  const groups = new Map<string, string[]>();
  for (const id of free) {
    const g = group(id);
    const list = groups.get(g);
    if (list) list.push(id);
    else groups.set(g, [id]);
  }
  const count = new Map<string, number>();
  for (const id of chosen) count.set(group(id), (count.get(group(id)) ?? 0) + 1);
  const mine = (g: string): number => count.get(g) ?? 0;
  const take = (g: string): void => {
    const id = groups.get(g)!.shift()!;
    chosen.push(id);
    count.set(g, mine(g) + 1);
    if (groups.get(g)!.length === 0) groups.delete(g);
  };

  if (policy === 'balanced') {
    while (chosen.length < req.size) {
      const [best] = [...groups.entries()].sort(([ga, a], [gb, b]) => mine(ga) - mine(gb) || b.length - a.length || byId(ga, gb));
      take(best![0]);
    }
    return chosen;
  }

  // packed
  while (chosen.length < req.size) {
    const need = req.size - chosen.length;
    const entries = [...groups.entries()];
    const started = entries.filter(([g]) => mine(g) > 0).sort(([ga], [gb]) => mine(gb) - mine(ga) || byId(ga, gb));
    const fits = entries.filter(([, ids]) => ids.length >= need).sort(([ga, a], [gb, b]) => a.length - b.length || byId(ga, gb));
    const largest = entries.sort(([ga, a], [gb, b]) => b.length - a.length || byId(ga, gb));
    const g = (started[0] ?? fits[0] ?? largest[0])![0];
    while (chosen.length < req.size && groups.has(g)) take(g);
  }
  return chosen;
}
