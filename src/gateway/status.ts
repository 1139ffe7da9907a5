import type { OffloadState } from '../crypto/offload.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { Model } from '../model/types.js';
import { displayName } from '../store/objects.js';

/** The `/status` document: what the gateway serves and what it rejected. */
export interface GatewayStatus {
  generation: number;
  ready: boolean;
  haproxy: { masterPid: number | undefined; workerPid: number | undefined; reloads: number; restarts: number };
  reloads: Record<string, number>;
  lastError: string | null;
  /** How TLS private-key work is done (crypto/); software when no offload is set up. */
  crypto: CryptoStatus;
  routes: Array<{ host: string; pathType: string; path: string; backend: string; redirectToHttps: boolean; ingress: string }>;
  backends: Array<{ name: string; ingress: string; service: string; port: string; endpoints: Array<{ address: string; port: number; state: string }>; healthy: boolean; problem: string | null }>;
  certificates: Array<{ name: string; secret: string; hosts: string[]; notAfter: string; daysToExpiry: number }>;
  rejected: Array<{ kind: string; namespace: string; name: string; diagnostics: Diagnostic[] }>;
  diagnostics: Diagnostic[];
}

export type CryptoStatus = Omit<OffloadState, 'config'>;

/** The /status view of the offload state (before the first sync: software, as nothing was asked). */
export function cryptoStatus(s: OffloadState | null | undefined): CryptoStatus {
  if (!s) return { mode: 'software', setting: 'auto', providers: [], devices: [], reason: 'not decided yet' };
  const { config: _config, ...rest } = s;
  return rest;
}

export type ModelDescription = Pick<GatewayStatus, 'routes' | 'backends' | 'rejected' | 'diagnostics'> & {
  certificates: Array<Omit<GatewayStatus['certificates'][number], 'daysToExpiry'>>;
};

/** The parts of the status that come from a model and its diagnostics. Pure. */
export function describeModel(model: Model, diagnostics: readonly Diagnostic[]): ModelDescription {
  const rejected = new Map<string, GatewayStatus['rejected'][number]>();
  for (const d of diagnostics) {
    if (d.severity !== 'error') continue;
    const key = `${d.object.kind}/${d.object.namespace}/${d.object.name}`;
    const entry = rejected.get(key) ?? { kind: d.object.kind, namespace: d.object.namespace, name: d.object.name, diagnostics: [] };
    entry.diagnostics.push(d);
    rejected.set(key, entry);
  }
  return {
    routes: model.routes.map((r) => ({ host: r.host, pathType: r.pathType, path: r.path, backend: r.backend, redirectToHttps: r.redirectToHttps, ingress: displayName(r.source) })),
    backends: model.backends.map((b) => ({
      name: b.name,
      ingress: displayName(b.source),
      service: displayName(b.service),
      port: b.service.port,
      endpoints: b.endpoints.map((e) => ({ address: e.address, port: e.port, state: e.state })),
      healthy: b.endpoints.length > 0,
      problem: b.problem ?? null,
    })),
    certificates: model.certificates.map((c) => ({ name: c.name, secret: displayName(c.secret), hosts: c.hosts, notAfter: c.notAfter })),
    rejected: [...rejected.values()],
    diagnostics: [...diagnostics],
  };
}
