import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** The gateway's Prometheus metrics, all prefixed `gatehouse_`, in one registry per gateway. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly reloads = new Counter({ name: 'gatehouse_haproxy_reloads_total', help: 'HAProxy reloads, by why they were needed.', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly restarts = new Counter({ name: 'gatehouse_haproxy_restarts_total', help: 'Times HAProxy died and was started again.', registers: [this.registry] });
  readonly runtimeUpdates = new Counter({ name: 'gatehouse_runtime_updates_total', help: 'Changes applied through the HAProxy Runtime API without a reload, by kind.', labelNames: ['kind'] as const, registers: [this.registry] });
  readonly configRejected = new Counter({ name: 'gatehouse_config_rejected_total', help: 'Rendered configurations that failed haproxy -c (the last good one kept serving).', registers: [this.registry] });
  readonly rejectedObjects = new Gauge({ name: 'gatehouse_rejected_objects', help: 'Objects rejected by the last translation, by kind.', labelNames: ['kind'] as const, registers: [this.registry] });
  readonly generation = new Gauge({ name: 'gatehouse_config_generation', help: 'Generation of the configuration HAProxy serves (increments on every applied change).', registers: [this.registry] });
  readonly cryptoOffload = new Gauge({ name: 'gatehouse_crypto_offload_info', help: 'How TLS private-key work is done (1 for the current state): mode offload, software or refused; the crypto-offload setting; the providers; the number of accelerator devices.', labelNames: ['mode', 'setting', 'provider', 'devices'] as const, registers: [this.registry] });
  readonly certificateExpiry = new Gauge({ name: 'gatehouse_tls_certificate_expiry_timestamp_seconds', help: 'Expiry (notAfter) of each served certificate, as a Unix time.', labelNames: ['namespace', 'secret'] as const, registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'gatehouse_' });
  }
}
