import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** What the cache gauges show, read at scrape time. */
export interface CacheFigures {
  bytes: number;
  maxBytes: number;
  entries: number;
  evictions: number;
  corrupt: number;
  writeErrors: number;
}

/** A gauge set from the cache's figures whenever it is scraped. */
function cacheGauge(registry: Registry, figures: () => CacheFigures, field: keyof CacheFigures, name: string, help: string): Gauge {
  return new Gauge({ name, help, registers: [registry], collect() {
    this.set(figures()[field]);
  } });
}

/** edge-hub's Prometheus metrics, prefixed `gatehouse_edgehub_`. */
export class EdgeHubMetrics {
  readonly registry = new Registry();
  readonly online = new Gauge({ name: 'gatehouse_edgehub_online', help: '1 while the API server is reachable, 0 while edge-hub serves from its cache.', registers: [this.registry] });
  readonly transitions = new Counter({ name: 'gatehouse_edgehub_link_transitions_total', help: 'Changes of the link state, by the state entered.', labelNames: ['state'] as const, registers: [this.registry] });
  readonly probeFailures = new Counter({ name: 'gatehouse_edgehub_probe_failures_total', help: 'Probes of the API server\'s /readyz that failed.', registers: [this.registry] });
  readonly requests = new Counter({ name: 'gatehouse_edgehub_requests_total', help: 'Requests from clients, by verb and by what answered them: upstream (forwarded), cache, or refused.', labelNames: ['verb', 'answer'] as const, registers: [this.registry] });
  readonly hits = new Counter({ name: 'gatehouse_edgehub_cache_hits_total', help: 'Offline reads answered from the cache.', labelNames: ['verb'] as const, registers: [this.registry] });
  readonly misses = new Counter({ name: 'gatehouse_edgehub_cache_misses_total', help: 'Offline reads the cache could not answer (503).', labelNames: ['verb'] as const, registers: [this.registry] });
  readonly refusedWrites = new Counter({ name: 'gatehouse_edgehub_refused_writes_total', help: 'Writes refused with 503 while offline (nothing was applied).', registers: [this.registry] });
  readonly heldWatches = new Gauge({ name: 'gatehouse_edgehub_held_watches', help: 'Watches held open while offline.', registers: [this.registry] });

  constructor(figures: () => CacheFigures) {
    const g = (field: keyof CacheFigures, name: string, help: string) => cacheGauge(this.registry, figures, field, name, help);
    g('bytes', 'gatehouse_edgehub_cache_bytes', 'Bytes of the cache on disk.');
    g('maxBytes', 'gatehouse_edgehub_cache_max_bytes', 'The cache size limit (--cache-size).');
    g('entries', 'gatehouse_edgehub_cache_entries', 'Entries (objects, lists, discovery answers) in the cache.');
    g('evictions', 'gatehouse_edgehub_cache_evictions', 'Entries evicted (least recently used) to stay under the size limit, since start.');
    g('corrupt', 'gatehouse_edgehub_cache_corrupt_entries', 'Corrupt cache files found and dropped, since start.');
    g('writeErrors', 'gatehouse_edgehub_cache_write_errors', 'Cache writes that failed on disk, since start.');
    collectDefaultMetrics({ register: this.registry, prefix: 'gatehouse_edgehub_' });
  }
}
