import type { GatewayMetrics } from '../admin/metrics.js';
import type { Log } from '../haproxy/dataplane.js';
import type { CryptoDevices } from './devices.js';
import { decideOffload, offloadConfig, needsProbe, type OffloadState, type ProbeResult } from './offload.js';
import { probeOffload } from './probe.js';
import type { CryptoSettings } from './settings.js';

export interface ResolverOptions {
  /** The HAProxy binary the providers are probed with. */
  binary: string;
  /** The devices this pod has (crypto/devices.ts); fixed for the pod's life. */
  devices: CryptoDevices;
  /** Where the probe's configuration is written. */
  dir: string;
  log: Log;
  metrics: GatewayMetrics;
}

/**
 * Turns the crypto settings into how TLS is to be done (crypto/offload.ts), probing HAProxy once for
 * each provider set that loads (a failure is probed again at the next sync), and reports each
 * change once HAProxy serves it: a log line and the gatehouse_crypto_offload_info metric.
 */
export class OffloadResolver {
  private reported: string | null = null;
  private readonly loaded = new Set<string>();

  constructor(private readonly opts: ResolverOptions) {}

  async resolve(settings: CryptoSettings): Promise<OffloadState> {
    const { devices } = this.opts;
    let probe: ProbeResult | null = null;
    if (needsProbe(settings, devices)) {
      const key = JSON.stringify(offloadConfig(settings));
      probe = this.loaded.has(key) ? { ok: true } : await probeOffload(this.opts.binary, offloadConfig(settings), this.opts.dir);
      if (probe.ok) this.loaded.add(key);
    }
    return decideOffload(settings, devices, probe);
  }

  /** Called with the state HAProxy now serves; logs and sets the metric when it changed. */
  report(s: OffloadState): void {
    const text = JSON.stringify(s);
    if (text === this.reported) return;
    this.reported = text;
    const { log, metrics } = this.opts;
    const level = s.mode === 'refused' ? 'error' : s.mode === 'software' && s.providers.length > 0 && s.setting !== 'off' ? 'warn' : 'info';
    log(level, `TLS offload: ${s.mode}: ${s.reason}`, { setting: s.setting, providers: s.providers, devices: s.devices });
    metrics.cryptoOffload.reset();
    metrics.cryptoOffload.set({ mode: s.mode, setting: s.setting, provider: s.providers.join(',') || 'none', devices: String(s.devices.length) }, 1);
  }
}
