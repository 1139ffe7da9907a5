/**
 * The QAT device plugin: scans sysfs every rescan interval, keeps one gRPC server (and socket) per
 * resource, and keeps each registered with the kubelet.
 *
 * The kubelet, when it restarts, deletes every socket in its device-plugins directory and creates
 * a new kubelet.sock; plugins must notice and register again. So every second (and whenever the
 * directory changes) the plugin checks that each of its sockets is still the file it created —
 * if not, it serves on a new one — and that kubelet.sock is the one it registered with — if not,
 * it registers again. Registration happens only once the resource's server is serving.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { bindToVfio } from './bind.js';
import { nextInventory, type DeviceState, type Inventory } from './inventory.js';
import type { Log } from './log.js';
import type { AllocationPolicy } from './policy.js';
import { VFIO_DRIVER } from './qat-ids.js';
import { KUBELET_SOCKET, register, registerRequest } from './registration.js';
import { socketName, type ResourceNaming } from './resources.js';
import { PLUGIN_OPTIONS, ResourceServer } from './server.js';
import { scanSysfs, type SysfsScan } from './sysfs.js';

export interface QatPluginOptions {
  sysfsRoot: string;
  devRoot: string;
  kubeletDir: string;
  naming: ResourceNaming;
  policy: AllocationPolicy;
  maxDevices?: number | undefined;
  bind: boolean;
  rescanMs: number;
  /** How often the sockets are checked for a kubelet restart, besides on directory events (default 1 s). */
  kubeletCheckMs?: number;
  log: Log;
}

/** A file's identity: a file deleted and created again under the same name differs. */
async function fileIdentity(path: string): Promise<string | null> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.ctimeNs}`;
  } catch {
    return null;
  }
}

interface Served {
  server: ResourceServer;
  /** Identity of our socket file while serving. */
  socket: string | null;
  /** Identity of the kubelet.sock we registered with. */
  registeredWith: string | null;
  /** The last registration failure logged, so a kubelet that stays away is not logged every second. */
  lastError: string | null;
}

export class QatDevicePlugin {
  private inventory: Inventory = new Map();
  private readonly served = new Map<string, Served>();
  private work: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private watcher: FSWatcher | null = null;
  private stopped = false;
  private readonly logged = new Set<string>();
  private kubeletThere = true;
  private readonly waiting = new Set<string>();

  constructor(private readonly opts: QatPluginOptions) {}

  /** The devices of each resource, as last advertised. */
  get devices(): Inventory {
    return this.inventory;
  }

  /** The resources registered with the current kubelet.sock. */
  get registered(): string[] {
    return [...this.served].filter(([, s]) => s.registeredWith !== null).map(([r]) => r);
  }

  /** Scans, serves and registers; then keeps doing so until stop(). */
  async start(): Promise<void> {
    const { log, rescanMs, kubeletDir } = this.opts;
    await this.serial(() => this.rescan(true));
    await this.serial(() => this.reconcile());
    const rescan = (): void => void this.queue('rescan', () => this.rescan(false).then(() => this.reconcile()));
    const reconcile = (): void => void this.queue('reconcile', () => this.reconcile());
    this.timers.push(setInterval(rescan, rescanMs));
    this.timers.push(setInterval(reconcile, this.opts.kubeletCheckMs ?? 1000));
    try {
      this.watcher = watch(kubeletDir, reconcile);
      this.watcher.on('error', () => undefined);
    } catch (e) {
      log('warn', `cannot watch ${kubeletDir} (${(e as NodeJS.ErrnoException).code ?? String(e)}): a kubelet restart is noticed within a second instead`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.watcher?.close();
    this.watcher = null;
    await this.work;
    await Promise.all([...this.served.values()].map((s) => s.server.stop()));
  }

  /** serial(), unless the same kind of step is already waiting its turn (a slow kubelet does not pile them up). */
  private queue(kind: string, step: () => Promise<void>): Promise<void> {
    if (this.waiting.has(kind)) return this.work;
    this.waiting.add(kind);
    return this.serial(() => {
      this.waiting.delete(kind);
      return step();
    });
  }

  /** Runs one step after the previous one (scans and kubelet checks never overlap). */
  private serial(step: () => Promise<void>): Promise<void> {
    this.work = this.work.then(async () => {
      if (this.stopped) return;
      try {
        await step();
      } catch (e) {
        this.opts.log('error', `device plugin step failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
    });
    return this.work;
  }

  private once(key: string, level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>): void {
    if (this.logged.has(key)) return;
    this.logged.add(key);
    this.opts.log(level, msg, fields);
  }

  private async scan(): Promise<SysfsScan> {
    const { sysfsRoot, devRoot, bind } = this.opts;
    const scan = await scanSysfs({ sysfsRoot, devRoot });
    if (!bind) return scan;
    const unbound = scan.vfs.filter((vf) => vf.driver !== VFIO_DRIVER);
    if (unbound.length === 0) return scan;
    for (const vf of unbound) {
      try {
        await bindToVfio(sysfsRoot, vf);
        this.once(`bind ${vf.bdf} ${vf.driver}`, 'info', `bound ${vf.bdf} to ${VFIO_DRIVER}`, { device: vf.bdf, from: vf.driver });
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        this.once(`bind ${vf.bdf} ${msg}`, 'warn', `cannot bind ${vf.bdf} to ${VFIO_DRIVER}: ${msg}`, { device: vf.bdf });
      }
    }
    // What the kernel made of it.
    return scanSysfs({ sysfsRoot, devRoot });
  }

  private async rescan(first: boolean): Promise<void> {
    const { log, naming, maxDevices, sysfsRoot } = this.opts;
    const scan = await this.scan();
    for (const p of scan.problems) this.once(`problem ${p}`, 'warn', p);
    const { inventory, capped } = nextInventory(this.inventory, scan, { naming, maxDevices });
    for (const bdf of capped) this.once(`capped ${bdf}`, 'warn', `${bdf} is not advertised: its resource already has --max-devices ${maxDevices} devices`, { device: bdf });
    if (first) {
      log('info', `found ${scan.pfs.length} QAT physical function(s) and ${scan.vfs.length} virtual function(s) under ${sysfsRoot}`, {
        pfs: scan.pfs.map((p) => ({ device: p.bdf, family: p.family.name, driver: p.driver, vfs: p.vfs.length, services: p.cfgServices, heartbeat: p.heartbeat.state })),
      });
      const left = scan.vfs.filter((vf) => vf.driver !== VFIO_DRIVER);
      if (left.length > 0) {
        log('info', `${left.length} VF(s) are not bound to ${VFIO_DRIVER} and are left to the host${this.opts.bind ? '' : ' (bind them to vfio-pci, or run with --bind)'}`, {
          devices: left.map((vf) => `${vf.bdf} (${vf.driver ?? 'no driver'})`),
        });
      }
      if (inventory.size === 0) log('warn', `no QAT VF bound to ${VFIO_DRIVER}: nothing to advertise yet; scanning again every ${this.opts.rescanMs} ms`);
    }
    this.logChanges(this.inventory, inventory);
    this.inventory = inventory;
    for (const [resource, devices] of inventory) {
      let s = this.served.get(resource);
      if (!s) {
        const server = new ResourceServer({ resource, socketPath: join(this.opts.kubeletDir, socketName(resource)), devRoot: this.opts.devRoot, policy: this.opts.policy, log });
        s = { server, socket: null, registeredWith: null, lastError: null };
        this.served.set(resource, s);
      }
      s.server.update(devices);
    }
  }

  private logChanges(before: Inventory, after: Inventory): void {
    const { log } = this.opts;
    for (const [resource, devices] of after) {
      const old = before.get(resource);
      const added = [...devices.values()].filter((d) => !old?.has(d.id));
      if (added.length > 0) {
        log('info', `${resource}: advertising ${added.length} device(s)`, { resource, devices: added.map(summary) });
      }
      for (const d of devices.values()) {
        const was = old?.get(d.id);
        if (!was || was.health === d.health) continue;
        if (d.health === 'Unhealthy') log('warn', `${d.id} (${resource}) is Unhealthy: ${d.reason}`, { resource, device: d.id });
        else log('info', `${d.id} (${resource}) is Healthy again`, { resource, device: d.id });
      }
    }
  }

  /** Serves every resource, on a new socket where the kubelet deleted ours, and registers where needed. */
  private async reconcile(): Promise<void> {
    const { log, kubeletDir } = this.opts;
    const kubeletSocket = join(kubeletDir, KUBELET_SOCKET);
    const kubeletThere = (await fileIdentity(kubeletSocket)) !== null;
    if (kubeletThere !== this.kubeletThere && this.served.size > 0) {
      if (!kubeletThere) log('warn', `no ${kubeletSocket}: waiting for the kubelet to register with it`);
      this.kubeletThere = kubeletThere;
    }
    for (const [resource, s] of this.served) {
      if (s.server.serving && (await fileIdentity(s.server.socketPath)) !== s.socket) {
        log('info', `${s.server.socketPath} was removed (the kubelet restarts so): serving on a new socket and registering again`, { resource });
        await s.server.stop();
        s.socket = null;
        s.registeredWith = null;
      }
      if (!s.server.serving) {
        try {
          await s.server.start();
          s.socket = await fileIdentity(s.server.socketPath);
          s.registeredWith = null;
          log('info', `serving ${resource} on ${s.server.socketPath}`, { resource });
        } catch (e) {
          this.once(`serve ${resource} ${String(e)}`, 'warn', `cannot serve ${resource} on ${s.server.socketPath}: ${e instanceof Error ? e.message : String(e)}; trying again`, { resource });
          continue;
        }
      }
      const kubelet = await fileIdentity(kubeletSocket);
      if (kubelet === null || s.registeredWith === kubelet) continue;
      const request = registerRequest(resource, socketName(resource), PLUGIN_OPTIONS);
      try {
        await register(kubeletSocket, request, 5000);
        s.registeredWith = kubelet;
        s.lastError = null;
        log('info', `registered ${resource} with the kubelet`, { resource, kubeletSocket, endpoint: request.endpoint, devices: this.inventory.get(resource)?.size ?? 0 });
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (s.lastError !== msg) log('warn', `registering ${resource} with the kubelet at ${kubeletSocket} failed: ${msg}; trying again`, { resource });
        s.lastError = msg;
      }
    }
  }
}

function summary(d: DeviceState): Record<string, unknown> {
  return { device: d.id, pf: d.pf, numa: d.numaNode, vfio: d.vfioDevice, health: d.health, ...(d.reason ? { reason: d.reason } : {}) };
}
