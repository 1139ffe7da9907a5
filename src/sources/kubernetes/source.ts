/**
 * The cluster as a source: one Reflector per watched kind, all filling the one ObjectStore. Knows
 * whether everything has been listed (synced) and how stale the state may be (sync lag).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Log } from '../../haproxy/dataplane.js';
import type { ObjectStore } from '../../store/store.js';
import { KubernetesMetrics } from './metrics.js';
import { Reflector, type ReflectorTiming } from './reflector.js';
import { watchedResources, type Scope } from './resources.js';

export interface ClusterSourceOptions {
  kc: KubeConfig;
  scope: Scope;
  store: ObjectStore;
  registry: Registry;
  log: Log;
  timing?: Partial<ReflectorTiming>;
  /** Called whenever a list completes and every kind has been listed (the first sync, and after relists). */
  onSynced?: () => void;
}

export class ClusterSource {
  readonly reflectors: Reflector[];
  readonly metrics: KubernetesMetrics;
  readonly #started = Date.now();
  readonly #firstOutcome: Promise<'synced' | 'unreachable'>;
  #settleFirst: (v: 'synced' | 'unreachable') => void = () => {};

  constructor(opts: ClusterSourceOptions) {
    const { kc, scope, store, registry, log } = opts;
    this.metrics = new KubernetesMetrics(registry, () => this.syncLagSeconds());
    this.#firstOutcome = new Promise((resolve) => (this.#settleFirst = resolve));
    this.reflectors = watchedResources(kc, scope).map((resource) => {
      const kind = resource.kind;
      return new Reflector(
        kc,
        resource,
        {
          replace: (objects) => store.replaceKind(kind, objects),
          upsert: (o) => store.upsert(o),
          remove: (o) => store.delete(o),
        },
        {
          onList: () => {
            this.metrics.lists.inc({ kind });
            if (!this.synced) return;
            this.#settleFirst('synced');
            opts.onSynced?.();
          },
          onReconnect: (reason) => this.metrics.reconnects.inc({ kind, reason }),
          onListFailed: () => this.#settleFirst('unreachable'),
          log,
        },
        opts.timing,
      );
    });
  }

  start(): void {
    for (const r of this.reflectors) r.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.reflectors.map((r) => r.stop()));
  }

  /** Every kind has been listed: the store holds the cluster's state, not a partial one. */
  get synced(): boolean {
    return this.reflectors.every((r) => r.synced);
  }

  /**
   * Resolves 'synced' once every kind is listed, or 'unreachable' as soon as a request fails before
   * that (the reflectors keep retrying either way).
   */
  firstOutcome(): Promise<'synced' | 'unreachable'> {
    return this.#firstOutcome;
  }

  /** 0 while every watch is open; else seconds since the least recent contact (or since start). */
  syncLagSeconds(now = Date.now()): number {
    if (this.reflectors.every((r) => r.watching)) return 0;
    const oldest = Math.min(...this.reflectors.map((r) => r.lastContact || this.#started));
    return Math.max(0, (now - oldest) / 1000);
  }
}
