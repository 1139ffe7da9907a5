import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** What the gauges are read from when /metrics is scraped. */
export interface AutonomyGauges {
  /** Nodes whose pods get autonomy tolerations now. */
  autonomousNodes(): number;
  /** Nodes whose autonomy annotation cannot be read (their pods are left as they are). */
  invalidNodes(): number;
  /** Pods carrying gatehouse.io/autonomy-original-tolerations (changed by this controller). */
  managedPods(): number;
}

/** The autonomy controller's Prometheus metrics, all prefixed `gatehouse_`, in their own registry. */
export class AutonomyMetrics {
  readonly registry = new Registry();
  readonly podUpdates = new Counter({
    name: 'gatehouse_autonomy_pod_updates_total',
    help: 'Pods written, by action: set (autonomy tolerations applied or their duration changed), restore (original tolerations put back).',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });
  readonly conflicts = new Counter({
    name: 'gatehouse_autonomy_write_conflicts_total',
    help: 'Pod writes refused with 409 Conflict (the pod changed meanwhile); each is read again and retried.',
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'gatehouse_autonomy_errors_total',
    help: 'Problems, by reason: node-annotation (a new unreadable autonomy annotation on a node), originals (a pod\'s recorded tolerations cannot be read), ' +
      'invalid (the API server refused a write with 422), conflict (still conflicting after the retries), api (any other failed request; retried).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly lists = new Counter({
    name: 'gatehouse_autonomy_lists_total',
    help: 'Full lists of a kind from the API server (the first one, and one after each 410 Gone).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly reconnects = new Counter({
    name: 'gatehouse_autonomy_watch_reconnects_total',
    help: 'Watches opened again, by kind and reason: closed (ended by the server), error (failed or cut), expired (410 Gone: listed again).',
    labelNames: ['kind', 'reason'] as const,
    registers: [this.registry],
  });

  constructor(gauges: AutonomyGauges) {
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    gauge('gatehouse_autonomy_nodes', 'Autonomous nodes: their pods tolerate the node being NotReady or unreachable for the node\'s autonomy duration.', () => gauges.autonomousNodes());
    gauge('gatehouse_autonomy_invalid_annotations', 'Nodes whose autonomy annotation cannot be read; their pods are left as they are until it is fixed (see the log or /status).', () => gauges.invalidNodes());
    gauge('gatehouse_autonomy_pods', 'Pods whose tolerations this controller changed (they carry gatehouse.io/autonomy-original-tolerations).', () => gauges.managedPods());
    collectDefaultMetrics({ register: this.registry, prefix: 'gatehouse_' });
  }
}
