import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { GatewayMetrics } from '../admin/metrics.js';
import { SOFTWARE, type OffloadConfig } from '../crypto/offload.js';
import type { Model } from '../model/types.js';
import { nextSlots, plan, type DataPlaneState, type ReloadReason, type RuntimeOp } from '../plan/plan.js';
import { checkConfig } from './check.js';
import { ensureDefaultCertificate } from './default-cert.js';
import { writeFileAtomic } from './files.js';
import type { Layout } from './layout.js';
import { render } from './render.js';
import { RuntimeApi } from './runtime.js';
import { Supervisor } from './supervisor.js';

export type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface DataPlaneOptions {
  layout: Layout;
  listen: { address: string; httpPort: number; httpsPort: number };
  binary?: string;
  /** Send the flow log to layout.flowSocket (render.ts). */
  flows?: boolean;
  metrics: GatewayMetrics;
  log: Log;
}

export interface ApplyResult {
  /** Why HAProxy was reloaded (or started); empty when the change went through the Runtime API. */
  reloaded: ReloadReason[];
  /** Runtime API operations applied. */
  operations: number;
  /**
   * Milliseconds each step took: `render` (server slots and files), `plan`, then either `check`
   * (`haproxy -c`) and `haproxy` (start or reload until the new worker answers), or `runtime` (the
   * Runtime API operations and the files written).
   */
  durationMs: Record<string, number>;
}

/** The configuration did not pass `haproxy -c`; the previous configuration keeps serving. */
export class ConfigRejectedError extends Error {
  constructor(readonly output: string) {
    super(`HAProxy rejected the rendered configuration; the last good one keeps serving:\n${output}`);
  }
}

/**
 * The HAProxy data plane: brings HAProxy from what it serves to a new model with the smallest change
 * (plan/), writing every file first so a reload or a restart always finds the current state on disk.
 */
export class DataPlane {
  private state: DataPlaneState | undefined;
  private readonly supervisor: Supervisor;
  private readonly api: RuntimeApi;

  constructor(private readonly opts: DataPlaneOptions) {
    const { layout, log } = opts;
    this.supervisor = new Supervisor({
      binary: opts.binary ?? 'haproxy',
      configPath: layout.config,
      masterSocket: layout.masterSocket,
      runtimeSocket: layout.runtimeSocket,
      log,
    });
    this.supervisor.on('restart', () => opts.metrics.restarts.inc());
    this.api = new RuntimeApi(layout.runtimeSocket);
  }

  /** What HAProxy serves now, or undefined before the first apply. */
  get current(): DataPlaneState | undefined {
    return this.state;
  }

  get running(): boolean {
    return this.supervisor.workerPid !== undefined;
  }

  get haproxy(): { masterPid: number | undefined; workerPid: number | undefined; reloads: number; restarts: number } {
    const s = this.supervisor;
    return { masterPid: s.masterPid, workerPid: s.workerPid, reloads: s.reloads, restarts: s.restarts };
  }

  /** Serves `model`, with TLS keys handled as `offload` says (default: in software). */
  async apply(model: Model, offload: OffloadConfig = SOFTWARE): Promise<ApplyResult> {
    const { layout, listen, flows } = this.opts;
    const durationMs: Record<string, number> = {};
    const lap = stopwatch();
    const slots = nextSlots(this.state?.slots, model);
    const next: DataPlaneState = { model, slots, rendered: render({ model, slots, layout, listen, offload, flows }) };
    durationMs.render = lap();
    const p = plan(this.state, next, layout);
    durationMs.plan = lap();
    if (p.reload.length > 0) {
      await this.reload(next, p.reload, durationMs);
      return { reloaded: p.reload, operations: 0, durationMs };
    }
    if (p.ops.length === 0 && this.state?.rendered.config === next.rendered.config) return { reloaded: [], operations: 0, durationMs };
    this.writeFiles(next);
    if (this.state?.rendered.config !== next.rendered.config) writeFileAtomic(layout.config, next.rendered.config);
    try {
      for (const op of p.ops) await this.runtime(op);
    } catch (err) {
      this.opts.log('warn', 'a Runtime API update failed; reloading instead', { error: String(err) });
      await this.reload(next, ['runtime-failed'], durationMs);
      return { reloaded: ['runtime-failed'], operations: 0, durationMs };
    }
    durationMs.runtime = lap();
    this.state = next;
    return { reloaded: [], operations: p.ops.length, durationMs };
  }

  async stop(): Promise<void> {
    await this.supervisor.stop();
  }

  private async reload(next: DataPlaneState, reasons: ReloadReason[], durationMs: Record<string, number> = {}): Promise<void> {
    const { layout, metrics } = this.opts;
    const lap = stopwatch();
    await ensureDefaultCertificate(layout.defaultCert);
    this.writeFiles(next);
    const candidate = `${layout.config}.new`;
    writeFileAtomic(candidate, next.rendered.config);
    const check = await checkConfig(this.opts.binary ?? 'haproxy', candidate);
    durationMs.check = lap();
    if (!check.ok) {
      rmSync(candidate, { force: true });
      if (this.state) this.writeFiles(this.state, true);
      metrics.configRejected.inc();
      throw new ConfigRejectedError(check.output);
    }
    writeFileAtomic(layout.config, next.rendered.config);
    rmSync(candidate, { force: true });
    if (this.supervisor.masterPid === undefined) await this.supervisor.start();
    else await this.supervisor.reload();
    durationMs.haproxy = lap();
    for (const reason of reasons) metrics.reloads.inc({ reason });
    this.state = next;
  }

  /**
   * Every file of `state` but the configuration on disk (those that changed, or all with `force`), and
   * certificates and CA files it no longer has removed.
   */
  private writeFiles(state: DataPlaneState, force = false): void {
    const { layout } = this.opts;
    const before = this.state?.rendered.files;
    for (const [path, text] of state.rendered.files) {
      if (force || before?.get(path) !== text || !existsSync(path)) writeFileAtomic(path, text);
    }
    for (const dir of ['certs', 'ca']) {
      const full = join(layout.stateDir, dir);
      if (!existsSync(full)) continue;
      for (const name of readdirSync(full)) {
        const path = join(full, name);
        if (path !== layout.defaultCert && name.endsWith('.pem') && !state.rendered.files.has(path)) rmSync(path, { force: true });
      }
    }
  }

  private async runtime(op: RuntimeOp): Promise<void> {
    const { layout, metrics } = this.opts;
    switch (op.kind) {
      case 'server':
        await this.api.setServer(op.backend, op.server, op.endpoint?.address ?? null, op.endpoint?.port ?? 0, op.endpoint !== null);
        break;
      case 'map':
        await this.api.replaceMap(op.path, op.entries);
        break;
      case 'cert':
        await this.api.setCertificate(op.path, op.pem);
        break;
      case 'crt-list-add':
        await this.api.addCrtListEntry(layout.crtList, op.path, op.hosts);
        break;
      case 'crt-list-del':
        await this.api.deleteCrtListEntry(layout.crtList, op.path);
        break;
      case 'cert-del':
        await this.api.deleteCertificate(op.path);
        break;
    }
    metrics.runtimeUpdates.inc({ kind: op.kind });
  }
}

/** A lap timer: each call returns the milliseconds since the previous one (or since it was made), rounded to 0.1. */
export function stopwatch(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const ms = Math.round((now - last) * 10) / 10;
    last = now;
    return ms;
  };
}
