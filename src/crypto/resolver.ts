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
 * Turns the crypto settings into how TLS is done now (crypto/offload.ts), probing HAProxy once for
 * each provider set that loads (a failure is probed again at the next sync), and reports every
 * change: a log line, the gatehouse_crypto_offload_info metric, and `current` for /status.
 */
export class OffloadResolver {
  private state: OffloadState | null = null;
  private readonly loaded = new Set<string>();

  constructor(private readonly opts: ResolverOptions) {}

  get current(): OffloadState | null {
    return this.state;
  }

  async resolve(settings: CryptoSettings): Promise<OffloadState> {
    const { devices } = this.opts;
    let probe: ProbeResult | null = null;
    if (needsProbe(settings, devices)) {
      const key = JSON.stringify(offloadConfig(settings));
      probe = this.loaded.has(key) ? { ok: true } : await probeOffload(this.opts.binary, offloadConfig(settings), this.opts.dir);
      if (probe.ok) this.loaded.add(key);
    }
    const next = decideOffload(settings, devices, probe);
    if (JSON.stringify(next) !== JSON.stringify(this.state)) this.report(next);
    this.state = next;
    return next;
  }

  private report(s: OffloadState): void {
    const { log, metrics } = this.opts;
    const level = s.mode === 'refused' ? 'error' : s.mode === 'software' && s.providers.length > 0 && s.setting !== 'off' ? 'warn' : 'info';
    log(level, `TLS offload: ${s.mode}: ${s.reason}`, { setting: s.setting, providers: s.providers, devices: s.devices });
    metrics.cryptoOffload.reset();
    metrics.cryptoOffload.set({ mode: s.mode, setting: s.setting, provider: s.providers.join(',') || 'none', devices: String(s.devices.length) }, 1);
  }
}
