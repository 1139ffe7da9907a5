import type { Endpoint, Model } from '../model/types.js';
import type { Layout } from '../haproxy/layout.js';
import { MAP_NAMES, type MapName } from '../haproxy/maps.js';
import type { Rendered } from '../haproxy/render.js';
import { assignSlots, type Slots } from './slots.js';

/** What was (or will be) in the data plane: the model, its server slots and its rendering. */
export interface DataPlaneState {
  model: Model;
  slots: ReadonlyMap<string, Slots>;
  rendered: Rendered;
}

export type RuntimeOp =
  | { kind: 'server'; backend: string; server: string; endpoint: Endpoint | null }
  | { kind: 'map'; map: MapName; path: string; entries: Array<[string, string]> }
  | { kind: 'cert'; path: string; pem: string }
  | { kind: 'crt-list-add'; path: string; hosts: string[] }
  | { kind: 'crt-list-del'; path: string }
  | { kind: 'cert-del'; path: string };

/** Why HAProxy reloads; `runtime-failed`: a Runtime API operation failed, so the files are loaded instead. */
export type ReloadReason = 'initial' | 'settings' | 'backends' | 'backend-settings' | 'capacity' | 'backend-ca' | 'runtime-failed';

/** Either a reload (with why) or the Runtime API operations that bring HAProxy to the new state. */
export type Plan = { reload: ReloadReason[]; ops: [] } | { reload: []; ops: RuntimeOp[] };

/** Server slots for every backend of `model`, keeping each endpoint where it was (plan/slots.ts). */
export function nextSlots(previous: ReadonlyMap<string, Slots> | undefined, model: Model): Map<string, Slots> {
  return new Map(model.backends.map((b) => [b.name, assignSlots(previous?.get(b.name), b.endpoints)]));
}

/**
 * The smallest change from `prev` to `next`. Pure. Endpoint changes, route changes and certificate
 * additions, rotations and removals are Runtime API operations; anything that changes the
 * configuration's structure (global settings, the set of backends, a backend's settings or slot count,
 * a backend's CA bundle) needs a reload.
 */
export function plan(prev: DataPlaneState | undefined, next: DataPlaneState, layout: Layout): Plan {
  if (!prev) return { reload: ['initial'], ops: [] };
  const reasons = reloadReasons(prev, next);
  if (reasons.length > 0) return { reload: reasons, ops: [] };
  return { reload: [], ops: [...certificateOps(prev, next, layout, 'before'), ...serverOps(prev, next), ...mapOps(prev, next, layout), ...certificateOps(prev, next, layout, 'after')] };
}

function reloadReasons(prev: DataPlaneState, next: DataPlaneState): ReloadReason[] {
  const reasons = new Set<ReloadReason>();
  if (prev.rendered.structure !== next.rendered.structure) {
    const before = new Map(prev.model.backends.map((b) => [b.name, b]));
    const after = new Map(next.model.backends.map((b) => [b.name, b]));
    if (JSON.stringify(prev.model.settings) !== JSON.stringify(next.model.settings)) reasons.add('settings');
    if (before.size !== after.size || [...after.keys()].some((name) => !before.has(name))) reasons.add('backends');
    for (const [name, b] of after) {
      const old = before.get(name);
      if (!old) continue;
      if (JSON.stringify(old.policy) !== JSON.stringify(b.policy)) reasons.add('backend-settings');
      if ((prev.slots.get(name)?.length ?? 0) !== (next.slots.get(name)?.length ?? 0)) reasons.add('capacity');
    }
    if (reasons.size === 0) reasons.add('settings');
  }
  for (const [path, text] of next.rendered.files) {
    if (path.endsWith('.pem') && path.includes('/ca/') && prev.rendered.files.get(path) !== text) reasons.add('backend-ca');
  }
  return [...reasons].sort();
}

function serverOps(prev: DataPlaneState, next: DataPlaneState): RuntimeOp[] {
  const ops: RuntimeOp[] = [];
  for (const [backend, slots] of next.slots) {
    const old = prev.slots.get(backend) ?? [];
    slots.forEach((endpoint, i) => {
      const was = old[i] ?? null;
      if (sameEndpoint(was, endpoint)) return;
      ops.push({ kind: 'server', backend, server: `s${i + 1}`, endpoint });
    });
  }
  return ops;
}

function sameEndpoint(a: Endpoint | null, b: Endpoint | null): boolean {
  return a === b || (a !== null && b !== null && a.address === b.address && a.port === b.port);
}

function mapOps(prev: DataPlaneState, next: DataPlaneState, layout: Layout): RuntimeOp[] {
  const paths: Record<MapName, string> = { hosts: layout.hostsMap, exact: layout.exactMap, prefix: layout.prefixMap, default: layout.defaultMap };
  // Hosts last: a new host becomes visible only when its paths are in place.
  const order: MapName[] = [...MAP_NAMES.filter((m) => m !== 'hosts'), 'hosts'];
  return order
    .filter((m) => JSON.stringify(prev.rendered.maps[m]) !== JSON.stringify(next.rendered.maps[m]))
    .map((m) => ({ kind: 'map', map: m, path: paths[m], entries: next.rendered.maps[m] }));
}

/** 'before' routes change: new and rotated certificates; 'after': removed ones. */
function certificateOps(prev: DataPlaneState, next: DataPlaneState, layout: Layout, phase: 'before' | 'after'): RuntimeOp[] {
  const before = new Map(prev.model.certificates.map((c) => [c.name, c]));
  const after = new Map(next.model.certificates.map((c) => [c.name, c]));
  const ops: RuntimeOp[] = [];
  if (phase === 'before') {
    for (const [name, cert] of after) {
      const path = layout.certFile(name);
      const old = before.get(name);
      if (!old || old.pem !== cert.pem) ops.push({ kind: 'cert', path, pem: cert.pem });
      if (old && old.hosts.join(' ') !== cert.hosts.join(' ')) ops.push({ kind: 'crt-list-del', path });
      if (!old || old.hosts.join(' ') !== cert.hosts.join(' ')) ops.push({ kind: 'crt-list-add', path, hosts: cert.hosts });
    }
  } else {
    for (const name of before.keys()) {
      if (after.has(name)) continue;
      const path = layout.certFile(name);
      ops.push({ kind: 'crt-list-del', path }, { kind: 'cert-del', path });
    }
  }
  return ops;
}
