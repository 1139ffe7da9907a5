/**
 * Deciding how TLS private-key work is done: on the accelerator (through the configured provider or
 * engine) or in software, from the settings, the devices the pod was given and whether HAProxy
 * loads the provider. Pure.
 */
import { describeDevices, type CryptoDevices } from './devices.js';
import type { CryptoSettings, OffloadMode } from './settings.js';

/**
 * What HAProxy's global section gets for TLS offload (the settings' values, with `default` added to
 * the providers when they name neither default nor fips), and whether HTTPS is served at all (false
 * only when offload is required and not available).
 */
export type OffloadConfig = Omit<CryptoSettings, 'offload'> & { serveHttps: boolean };

/** TLS in software: OpenSSL's default provider, nothing in the global section. */
export const SOFTWARE: OffloadConfig = { providers: [], providerPath: null, propquery: null, modeAsync: false, engine: null, engineAlgos: [], serveHttps: true };

/** How TLS keys are handled now: for /status, the metric and the log. */
export interface OffloadState {
  /** offload: the configured provider/engine does it; software: OpenSSL's default provider; refused: required but not available, so no HTTPS. */
  mode: 'offload' | 'software' | 'refused';
  /** The crypto-offload setting. */
  setting: OffloadMode;
  /** The providers (or `engine:<name>`) configured. */
  providers: string[];
  /** The devices found in the pod. */
  devices: string[];
  /** Why this mode, in a sentence. */
  reason: string;
  config: OffloadConfig;
}

/** Outcome of loading the providers (or engine) in HAProxy: null when not tried. */
export type ProbeResult = { ok: true } | { ok: false; error: string };

/** What HAProxy gets when the configured providers (or engine) are used. */
export function offloadConfig({ offload: _offload, ...c }: CryptoSettings): OffloadConfig {
  const providers = c.providers.length === 0 || c.providers.some((p) => p === 'default' || p === 'fips') ? [...c.providers] : [...c.providers, 'default'];
  return { ...c, providers, engineAlgos: [...c.engineAlgos], serveHttps: true };
}

/** The configured offload as names: `qatprovider`, `engine:qat`. */
export function configuredOffload(c: CryptoSettings): string[] {
  return [...c.providers, ...(c.engine ? [`engine:${c.engine}`] : [])];
}

/** Does this decision need to know whether HAProxy loads the providers? */
export function needsProbe(c: CryptoSettings, devices: CryptoDevices): boolean {
  return c.offload !== 'off' && configuredOffload(c).length > 0 && describeDevices(devices).length > 0;
}

export function decideOffload(c: CryptoSettings, devices: CryptoDevices, probe: ProbeResult | null): OffloadState {
  const found = describeDevices(devices);
  const configured = configuredOffload(c);
  const base = { setting: c.offload, providers: configured, devices: found };
  const without = (why: string): OffloadState =>
    c.offload === 'required'
      ? { ...base, mode: 'refused', reason: `crypto-offload is required, but ${why}: HTTPS is not served and the gateway is not ready until this is fixed`, config: { ...SOFTWARE, serveHttps: false } }
      : { ...base, mode: 'software', reason: `${why}: TLS is done in software`, config: SOFTWARE };

  if (c.offload === 'off') return { ...base, mode: 'software', reason: 'crypto-offload is off: TLS is done in software', config: SOFTWARE };
  if (configured.length === 0) return without('no ssl-provider or ssl-engine is set');
  if (found.length === 0) {
    return without('this pod has no accelerator device (no QAT<n> variable from the device plugin, no /dev/vfio/<group>, no /dev/tpmrm<n>, no TPM2OPENSSL_TCTI); request one, e.g. qat.intel.com/generic');
  }
  if (probe === null || !probe.ok) return without(`HAProxy could not load ${configured.join(', ')}${probe && !probe.ok ? `: ${probe.error}` : ''}`);
  return { ...base, mode: 'offload', reason: `${configured.join(', ')} loaded, with ${found.length} device${found.length === 1 ? '' : 's'}`, config: offloadConfig(c) };
}
