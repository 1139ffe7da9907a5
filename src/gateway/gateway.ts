import type { GatewayMetrics } from '../admin/metrics.js';
import type { OffloadState } from '../crypto/offload.js';
import type { OffloadResolver } from '../crypto/resolver.js';
import { ConfigRejectedError, stopwatch, type DataPlane, type Log } from '../haproxy/dataplane.js';
import type { Diagnostic } from '../model/diagnostic.js';
import { KINDS, type StoredObject } from '../store/objects.js';
import { translate } from '../translate/translate.js';
import type { SettingContext } from '../translate/settings.js';
import { formatDiagnostic } from '../cli/diagnostics-format.js';
import { cryptoStatus, describeModel, type GatewayStatus, type ModelDescription } from './status.js';

export interface GatewayOptions {
  /** The objects of every source, as they are now. */
  objects: () => readonly StoredObject[];
  /** Problems found while reading the objects (a file that does not parse, …). */
  sourceDiagnostics?: () => readonly Diagnostic[];
  /** Moves diagnostics to the line of their field, where the source knows it. */
  locate?: (diagnostics: readonly Diagnostic[]) => Diagnostic[];
  ingressClass: string;
  configMap: { namespace?: string; name: string };
  /** Setting defaults from flags, and what the HAProxy binary can do. */
  settings?: SettingContext;
  /** Decides how TLS keys are handled (crypto/); without it, in software. */
  offload?: OffloadResolver;
  dataplane: DataPlane;
  metrics: GatewayMetrics;
  log: Log;
  /** Called after each successful apply, with what it was made from. */
  onApplied?: (applied: AppliedState) => void;
}

/** A successful sync: the objects translated, the Ingresses and Secrets served, the problems found. */
export interface AppliedState {
  objects: readonly StoredObject[];
  accepted: ReadonlyMap<string, StoredObject>;
  diagnostics: readonly Diagnostic[];
}

/**
 * The pipe from objects to HAProxy: translate, then apply. Syncs are coalesced: changes that arrive
 * while one runs are taken together by exactly one more.
 */
export class Gateway {
  private generation = 0;
  private running: Promise<void> | null = null;
  private again = false;
  private lastAccepted = new Map<string, StoredObject>();
  private lastError: string | null = null;
  private described: ModelDescription | null = null;
  private reported = new Set<string>();
  private applied = false;
  private readonly reloads: Record<string, number> = {};
  /** How TLS keys are handled in what HAProxy serves. */
  private offload: OffloadState | null = null;

  constructor(private readonly opts: GatewayOptions) {}

  /** Ask for a sync; resolves when the state at the time of the call is applied (or failed). */
  sync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.syncOnce();
      } while (this.again);
      this.running = null;
    })();
    return this.running;
  }

  /** HAProxy runs a configuration of ours. */
  get serving(): boolean {
    return this.applied && this.opts.dataplane.running;
  }

  /** Serving, and with HTTPS (not refused for want of a required offload). */
  get ready(): boolean {
    return this.serving && this.offload?.mode !== 'refused';
  }

  status(now = new Date()): GatewayStatus {
    const d: ModelDescription = this.described ?? { routes: [], backends: [], certificates: [], rejected: [], diagnostics: [] };
    return {
      generation: this.generation,
      ready: this.ready,
      haproxy: this.opts.dataplane.haproxy,
      reloads: { ...this.reloads },
      lastError: this.lastError,
      crypto: cryptoStatus(this.offload),
      ...d,
      certificates: d.certificates.map((c) => ({ ...c, daysToExpiry: Math.floor((Date.parse(c.notAfter) - now.getTime()) / 86_400_000) })),
    };
  }

  private async syncOnce(): Promise<void> {
    const { log, metrics } = this.opts;
    const now = new Date();
    const lap = stopwatch();
    const objects = this.opts.objects();
    const result = translate({
      objects,
      ingressClass: this.opts.ingressClass,
      configMap: this.opts.configMap,
      now,
      lastAccepted: this.lastAccepted,
      settings: this.opts.settings,
    });
    const located = this.opts.locate ? this.opts.locate(result.diagnostics) : result.diagnostics;
    const diagnostics = [...(this.opts.sourceDiagnostics?.() ?? []), ...located];
    this.report(diagnostics);
    const translateMs = lap();
    try {
      const offload = await this.opts.offload?.resolve(result.model.settings.crypto);
      const offloadMs = lap();
      const applied = await this.opts.dataplane.apply(result.model, offload?.config);
      lap();
      for (const reason of applied.reloaded) this.reloads[reason] = (this.reloads[reason] ?? 0) + 1;
      if (!this.applied || applied.reloaded.length > 0 || applied.operations > 0) {
        this.generation++;
        metrics.generation.set(this.generation);
        log('info', applied.reloaded.length > 0 ? 'configuration applied with a reload' : 'configuration applied through the Runtime API', {
          generation: this.generation,
          reloaded: applied.reloaded,
          operations: applied.operations,
          durationMs: { translate: translateMs, offload: offloadMs, ...applied.durationMs },
        });
      }
      this.applied = true;
      this.lastError = null;
      if (offload) {
        this.opts.offload!.report(offload);
        this.offload = offload;
      }
      this.lastAccepted = result.accepted;
      this.described = describeModel(result.model, diagnostics);
      this.updateMetrics(this.described);
      this.opts.onApplied?.({ objects, accepted: result.accepted, diagnostics });
    } catch (err) {
      this.lastError = err instanceof ConfigRejectedError ? err.message : `applying the configuration failed: ${String(err)}`;
      log('error', this.lastError);
      if (this.described) this.described = { ...this.described, diagnostics, rejected: describeModel(result.model, diagnostics).rejected };
    }
  }

  /** Logs each diagnostic once, while it lasts. */
  private report(diagnostics: readonly Diagnostic[]): void {
    const now = new Set<string>();
    for (const d of diagnostics) {
      const text = formatDiagnostic(d);
      now.add(text);
      if (!this.reported.has(text)) this.opts.log(d.severity === 'error' ? 'error' : 'warn', text);
    }
    this.reported = now;
  }

  private updateMetrics(described: ModelDescription): void {
    const { metrics } = this.opts;
    metrics.rejectedObjects.reset();
    for (const kind of Object.keys(KINDS)) {
      metrics.rejectedObjects.set({ kind }, described.rejected.filter((r) => r.kind === kind).length);
    }
    metrics.certificateExpiry.reset();
    for (const c of this.opts.dataplane.current?.model.certificates ?? []) {
      metrics.certificateExpiry.set({ namespace: c.secret.namespace, secret: c.secret.name }, Date.parse(c.notAfter) / 1000);
    }
  }
}
