/**
 * A kubelet stand-in for device plugin tests: serves v1beta1 Registration on <dir>/kubelet.sock with
 * the same .proto and @grpc/grpc-js, records every Register, and then does what the kubelet's
 * device manager does: dials the plugin's endpoint in the same directory, keeps a ListAndWatch
 * stream open (recording every device list) and calls the plugin's other methods on request.
 *
 * restart() is a kubelet restart as the plugin sees it: the server stops, every socket in the
 * directory is deleted (the kubelet clears its directory on start), and a new kubelet.sock appears.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  API_VERSION,
  devicePluginApi,
  type AllocateResponse,
  type ContainerPreferredAllocationRequest,
  type Device,
  type DevicePluginOptions,
  type Empty,
  type ListAndWatchResponse,
  type PreferredAllocationResponse,
  type PreStartContainerResponse,
  type RegisterRequest,
} from '../../src/deviceplugin/proto.js';

type ServiceClient = InstanceType<grpc.ServiceClientConstructor>;

export interface PluginConnection {
  request: RegisterRequest;
  client: ServiceClient;
  stream: grpc.ClientReadableStream<ListAndWatchResponse>;
  /** Every device list ListAndWatch sent, in order. */
  lists: Device[][];
  /** Set when the stream ended or failed (the plugin went away). */
  ended: string | null;
}

const RESOURCE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

type Unary<Req, Res> = (req: Req, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => grpc.ClientUnaryCall;

export class FakeKubelet {
  readonly registrations: RegisterRequest[] = [];
  /** Register calls refused, with the reason given. */
  readonly refused: { request: RegisterRequest; reason: string }[] = [];
  /** The current connection to each resource's plugin. */
  readonly plugins = new Map<string, PluginConnection>();
  private server: grpc.Server | null = null;
  private readonly closed: PluginConnection[] = [];

  constructor(readonly dir: string) {}

  get socketPath(): string {
    return join(this.dir, 'kubelet.sock');
  }

  async start(): Promise<void> {
    const server = new grpc.Server();
    const registerHandler: grpc.handleUnaryCall<RegisterRequest, Empty> = (call, callback) => {
      const req = call.request;
      const reason =
        req.version !== API_VERSION
          ? `unsupported API version ${JSON.stringify(req.version)}`
          : !RESOURCE_NAME.test(req.resource_name)
            ? `invalid resource name ${JSON.stringify(req.resource_name)}`
            : req.endpoint === '' || req.endpoint.includes('/')
              ? `endpoint ${JSON.stringify(req.endpoint)} is not a file name in ${this.dir}`
              : null;
      if (reason !== null) {
        this.refused.push({ request: req, reason });
        callback({ code: grpc.status.INVALID_ARGUMENT, details: reason });
        return;
      }
      // Like the kubelet, dial the plugin before answering: a plugin not serving yet is refused.
      const client = new (devicePluginApi().DevicePluginClient)(`unix://${join(this.dir, req.endpoint)}`, grpc.credentials.createInsecure());
      client.waitForReady(Date.now() + 2000, (err) => {
        if (err) {
          client.close();
          const why = `cannot dial the device plugin at ${join(this.dir, req.endpoint)}: ${err.message}`;
          this.refused.push({ request: req, reason: why });
          callback({ code: grpc.status.UNAVAILABLE, details: why });
          return;
        }
        this.registrations.push(req);
        callback(null, {});
        this.connect(req, client);
      });
    };
    rmSync(this.socketPath, { force: true });
    server.addService(devicePluginApi().registrationService, { Register: registerHandler } as grpc.UntypedServiceImplementation);
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${this.socketPath}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
    this.server = server;
  }

  /** Dials the plugin like the device manager: a ListAndWatch stream kept open. */
  private connect(request: RegisterRequest, client: ServiceClient): void {
    this.disconnect(request.resource_name);
    const listAndWatch = client['ListAndWatch'] as (req: Empty) => grpc.ClientReadableStream<ListAndWatchResponse>;
    const stream = listAndWatch.call(client, {});
    const conn: PluginConnection = { request, client, stream, lists: [], ended: null };
    stream.on('data', (m: ListAndWatchResponse) => conn.lists.push(m.devices));
    stream.on('error', (e: Error) => {
      conn.ended ??= e.message;
    });
    stream.on('end', () => {
      conn.ended ??= 'ended';
    });
    this.plugins.set(request.resource_name, conn);
  }

  private disconnect(resource: string): void {
    const old = this.plugins.get(resource);
    if (!old) return;
    this.plugins.delete(resource);
    old.stream.cancel();
    old.client.close();
    this.closed.push(old);
  }

  /** The last device list a resource's plugin sent. */
  latest(resource: string): Device[] | undefined {
    return this.plugins.get(resource)?.lists.at(-1);
  }

  /** The last list as `ID health` strings, for short assertions. */
  health(resource: string): Record<string, string> {
    return Object.fromEntries((this.latest(resource) ?? []).map((d) => [d.ID, d.health]));
  }

  private unary<Req, Res>(resource: string, method: string, req: Req): Promise<Res> {
    const conn = this.plugins.get(resource);
    if (!conn) return Promise.reject(new Error(`no plugin registered for ${resource}`));
    const fn = conn.client[method] as Unary<Req, Res>;
    return new Promise<Res>((resolve, reject) => {
      fn.call(conn.client, req, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res!)));
    });
  }

  options(resource: string): Promise<DevicePluginOptions> {
    return this.unary(resource, 'GetDevicePluginOptions', {});
  }

  allocate(resource: string, containers: string[][]): Promise<AllocateResponse> {
    return this.unary(resource, 'Allocate', { container_requests: containers.map((ids) => ({ devices_ids: ids })) });
  }

  preferred(resource: string, requests: ContainerPreferredAllocationRequest[]): Promise<PreferredAllocationResponse> {
    return this.unary(resource, 'GetPreferredAllocation', { container_requests: requests });
  }

  preStart(resource: string, ids: string[]): Promise<PreStartContainerResponse> {
    return this.unary(resource, 'PreStartContainer', { devices_ids: ids });
  }

  /** Stops serving and drops every plugin connection. */
  async stop(): Promise<void> {
    for (const resource of [...this.plugins.keys()]) this.disconnect(resource);
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    for (const c of this.closed) c.client.close();
  }

  /** A kubelet restart: stop, clear the directory's sockets (ours and the plugins'), start again. */
  async restart(): Promise<void> {
    await this.stop();
    for (const name of readdirSync(this.dir)) {
      if (name.endsWith('.sock')) rmSync(join(this.dir, name), { force: true });
    }
    await this.start();
  }
}
