import { Counter, Gauge, type Registry } from 'prom-client';

/** The cluster source's metrics, registered in the gateway's registry. */
export class KubernetesMetrics {
  readonly reconnects: Counter<'kind' | 'reason'>;
  readonly lists: Counter<'kind'>;
  readonly syncLag: Gauge;

  constructor(registry: Registry, syncLagSeconds: () => number) {
    this.reconnects = new Counter({
      name: 'gatehouse_kubernetes_watch_reconnects_total',
      help: 'Watches opened again, by kind and reason: closed (ended by the server), error (failed or cut), expired (410 Gone: listed again).',
      labelNames: ['kind', 'reason'] as const,
      registers: [registry],
    });
    this.lists = new Counter({
      name: 'gatehouse_kubernetes_lists_total',
      help: 'Full lists of a kind from the API server (the first one, and one after each 410 Gone).',
      labelNames: ['kind'] as const,
      registers: [registry],
    });
    this.syncLag = new Gauge({
      name: 'gatehouse_kubernetes_sync_lag_seconds',
      help: 'How far behind the API server the served state may be: 0 while every watch is open, else the seconds since the least recent watch last heard from the API server.',
      registers: [registry],
      collect() {
        this.set(syncLagSeconds());
      },
    });
  }
}
