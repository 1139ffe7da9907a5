/**
 * The DevicePlugin gRPC service for one resource, on its own unix socket in the kubelet's
 * device-plugins directory. The kubelet dials it after we register, keeps ListAndWatch open (we send
 * the device list at once and again on every change), asks GetPreferredAllocation for a pick and
 * Allocate for what a container gets.
 */
import { unlink } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { AllocationRefused, containerAllocation } from './allocate.js';
import { sameAdvertisement, type DeviceState } from './inventory.js';
import type { Log } from './log.js';
import { preferredDevices, PreferenceError, type AllocationPolicy } from './policy.js';
import {
  devicePluginApi,
  type AllocateRequest,
  type AllocateResponse,
  type Device,
  type DevicePluginOptions,
  type Empty,
  type ListAndWatchResponse,
  type PreferredAllocationRequest,
  type PreferredAllocationResponse,
  type PreStartContainerRequest,
  type PreStartContainerResponse,
} from './proto.js';

export const PLUGIN_OPTIONS: DevicePluginOptions = { pre_start_required: false, get_preferred_allocation_available: true };

export interface ResourceServerOptions {
  resource: string;
  socketPath: string;
  devRoot: string;
  policy: AllocationPolicy;
  log: Log;
}

/** A device as ListAndWatch sends it: ID, health and (when known) its NUMA node. */
export function wireDevice(d: DeviceState): Device {
  return { ID: d.id, health: d.health, topology: d.numaNode === null ? null : { nodes: [{ ID: d.numaNode }] } };
}

async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** An error thrown by a handler → the gRPC status the kubelet gets. */
function callError(e: unknown, resource: string): Partial<grpc.StatusObject> {
  if (e instanceof AllocationRefused) return { code: grpc.status[e.code], details: e.message };
  if (e instanceof PreferenceError) return { code: grpc.status.INVALID_ARGUMENT, details: `${resource}: ${e.message}` };
  return { code: grpc.status.INTERNAL, details: `${resource}: ${e instanceof Error ? e.message : String(e)}` };
}

export class ResourceServer {
  private devices: ReadonlyMap<string, DeviceState> = new Map();
  private readonly streams = new Set<grpc.ServerWritableStream<Empty, ListAndWatchResponse>>();
  private server: grpc.Server | null = null;

  constructor(private readonly opts: ResourceServerOptions) {}

  get resource(): string {
    return this.opts.resource;
  }

  get socketPath(): string {
    return this.opts.socketPath;
  }

  get serving(): boolean {
    return this.server !== null;
  }

  /** ListAndWatch streams open now (the kubelet keeps one). */
  get watchers(): number {
    return this.streams.size;
  }

  /** Sets the device list; open ListAndWatch streams get it when the kubelet would see a difference. */
  update(devices: ReadonlyMap<string, DeviceState>): void {
    const before = this.devices;
    this.devices = devices;
    if (!sameAdvertisement(before, devices)) {
      const message = this.listMessage();
      for (const s of this.streams) s.write(message);
    }
  }

  /** Listens on the socket (a stale file there is removed first); resolves once serving. */
  async start(): Promise<void> {
    if (this.server) return;
    await removeFile(this.opts.socketPath);
    const server = new grpc.Server();
    server.addService(devicePluginApi().devicePluginService, this.handlers());
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix://${this.opts.socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
    });
    this.server = server;
  }

  /** Ends the streams, stops serving and removes the socket. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const s of this.streams) s.end();
    this.streams.clear();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 2000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    await removeFile(this.opts.socketPath).catch(() => undefined);
  }

  private listMessage(): ListAndWatchResponse {
    return { devices: [...this.devices.values()].map(wireDevice) };
  }

  private handlers(): grpc.UntypedServiceImplementation {
    const { resource, log } = this.opts;
    const getDevicePluginOptions: grpc.handleUnaryCall<Empty, DevicePluginOptions> = (_call, callback) => callback(null, PLUGIN_OPTIONS);

    const listAndWatch: grpc.handleServerStreamingCall<Empty, ListAndWatchResponse> = (call) => {
      this.streams.add(call);
      const done = (): void => {
        this.streams.delete(call);
      };
      call.on('cancelled', done);
      call.on('close', done);
      call.on('error', done);
      call.write(this.listMessage());
    };

    const getPreferredAllocation: grpc.handleUnaryCall<PreferredAllocationRequest, PreferredAllocationResponse> = (call, callback) => {
      try {
        const pfOf = (id: string): string | null => this.devices.get(id)?.pf ?? null;
        const container_responses = call.request.container_requests.map((r) => ({
          deviceIDs: preferredDevices(this.opts.policy, { available: r.available_deviceIDs, mustInclude: r.must_include_deviceIDs, size: r.allocation_size }, pfOf),
        }));
        callback(null, { container_responses });
      } catch (e) {
        callback(callError(e, resource));
      }
    };

    const allocate: grpc.handleUnaryCall<AllocateRequest, AllocateResponse> = (call, callback) => {
      try {
        const container_responses = call.request.container_requests.map((r) => containerAllocation(r.devices_ids, this.devices, resource, this.opts.devRoot));
        log('info', 'allocated', { resource, containers: call.request.container_requests.map((r) => r.devices_ids) });
        callback(null, { container_responses });
      } catch (e) {
        const err = callError(e, resource);
        log('warn', `allocation refused: ${err.details}`, { resource });
        callback(err);
      }
    };

    const preStartContainer: grpc.handleUnaryCall<PreStartContainerRequest, PreStartContainerResponse> = (_call, callback) => callback(null, {});

    return {
      GetDevicePluginOptions: getDevicePluginOptions,
      ListAndWatch: listAndWatch,
      GetPreferredAllocation: getPreferredAllocation,
      Allocate: allocate,
      PreStartContainer: preStartContainer,
    } as grpc.UntypedServiceImplementation;
  }
}
