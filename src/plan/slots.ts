import type { Endpoint } from '../model/types.js';

/** A backend's server slots: an endpoint, or null for a free (disabled) slot. */
export type Slots = ReadonlyArray<Endpoint | null>;

const MIN_SLOTS = 4;

function endpointId(e: Endpoint): string {
  return `${e.address}|${e.port}`;
}

/** The smallest slot count for `n` endpoints when a backend is (re)created: a power of two, at least 4. */
export function slotCapacity(n: number): number {
  let cap = MIN_SLOTS;
  while (cap < n) cap *= 2;
  return cap;
}

/**
 * Places endpoints into server slots. An endpoint that already had a slot keeps it (its connections and
 * counters stay), new endpoints take free slots in order, and the slot count only grows when they do
 * not fit (which then needs a reload). Pure.
 */
export function assignSlots(previous: Slots | undefined, endpoints: readonly Endpoint[]): (Endpoint | null)[] {
  if (previous && samePlaces(previous, endpoints)) {
    let j = 0;
    return previous.map((e) => (e === null ? null : endpoints[j++]!));
  }
  const wanted = new Map(endpoints.map((e) => [endpointId(e), e]));
  const capacity = previous && endpoints.length <= previous.length ? previous.length : slotCapacity(endpoints.length);
  const slots: (Endpoint | null)[] = new Array<Endpoint | null>(capacity).fill(null);
  const placed = new Set<string>();
  previous?.forEach((e, i) => {
    if (!e || i >= capacity) return;
    const now = wanted.get(endpointId(e));
    if (now) {
      slots[i] = now;
      placed.add(endpointId(e));
    }
  });
  let free = 0;
  for (const e of endpoints) {
    if (placed.has(endpointId(e))) continue;
    while (slots[free] !== null) free++;
    slots[free] = e;
  }
  return slots;
}

/**
 * The endpoints are exactly those in `previous`, in slot order: each keeps its slot and nothing else
 * moves (what the general case gives too, found without a map per backend; most backends of a change
 * are like this).
 */
function samePlaces(previous: Slots, endpoints: readonly Endpoint[]): boolean {
  let j = 0;
  for (const e of previous) {
    if (e === null) continue;
    const now = endpoints[j++];
    if (now === undefined || now.address !== e.address || now.port !== e.port) return false;
  }
  return j === endpoints.length;
}
