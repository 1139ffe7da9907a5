/**
 * The kubelet device plugin API (v1beta1) as loaded from proto/deviceplugin-v1beta1.proto, and the
 * TypeScript shapes of its messages. Field names are the proto's own (keepCase), 64-bit integers
 * are numbers, and absent fields read as their defaults (empty lists, "", 0, false).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const API_VERSION = 'v1beta1';
export const HEALTHY = 'Healthy';
export const UNHEALTHY = 'Unhealthy';

/**
 * Where the .proto is: tsc does not copy it, so it is read from the source tree, relative to this
 * module (dist/src/deviceplugin/proto.js → src/deviceplugin/proto/). package.json "files" and the
 * Dockerfile carry src/deviceplugin/proto/ for that.
 */
export const PROTO_PATH = fileURLToPath(new URL('../../../src/deviceplugin/proto/deviceplugin-v1beta1.proto', import.meta.url));

export interface Empty {}

export interface DevicePluginOptions {
  pre_start_required: boolean;
  get_preferred_allocation_available: boolean;
}

export interface RegisterRequest {
  version: string;
  endpoint: string;
  resource_name: string;
  options: DevicePluginOptions | null;
}

export interface NUMANode {
  ID: number;
}

export interface TopologyInfo {
  nodes: NUMANode[];
}

export interface Device {
  ID: string;
  health: string;
  topology: TopologyInfo | null;
}

export interface ListAndWatchResponse {
  devices: Device[];
}

export interface PreStartContainerRequest {
  devices_ids: string[];
}

export interface PreStartContainerResponse {}

export interface ContainerPreferredAllocationRequest {
  available_deviceIDs: string[];
  must_include_deviceIDs: string[];
  allocation_size: number;
}

export interface PreferredAllocationRequest {
  container_requests: ContainerPreferredAllocationRequest[];
}

export interface ContainerPreferredAllocationResponse {
  deviceIDs: string[];
}

export interface PreferredAllocationResponse {
  container_responses: ContainerPreferredAllocationResponse[];
}

export interface ContainerAllocateRequest {
  devices_ids: string[];
}

export interface AllocateRequest {
  container_requests: ContainerAllocateRequest[];
}

export interface Mount {
  container_path: string;
  host_path: string;
  read_only: boolean;
}

export interface DeviceSpec {
  container_path: string;
  host_path: string;
  permissions: string;
}

export interface CDIDevice {
  name: string;
}

export interface ContainerAllocateResponse {
  envs: Record<string, string>;
  mounts: Mount[];
  devices: DeviceSpec[];
  annotations: Record<string, string>;
  cdi_devices: CDIDevice[];
}

export interface AllocateResponse {
  container_responses: ContainerAllocateResponse[];
}

/** What a loaded API gives: the two services' definitions and client constructors. */
export interface DevicePluginApi {
  registrationService: grpc.ServiceDefinition;
  devicePluginService: grpc.ServiceDefinition;
  RegistrationClient: grpc.ServiceClientConstructor;
  DevicePluginClient: grpc.ServiceClientConstructor;
}

let loaded: DevicePluginApi | undefined;

/** Loads the .proto once per process. */
export function devicePluginApi(): DevicePluginApi {
  if (loaded) return loaded;
  const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: true, longs: Number, enums: String, defaults: true, arrays: true, objects: false, oneofs: true });
  const pkg = grpc.loadPackageDefinition(definition)['v1beta1'] as grpc.GrpcObject | undefined;
  const ctor = (name: string): grpc.ServiceClientConstructor => {
    const c = pkg?.[name];
    if (typeof c !== 'function' || !('service' in c)) throw new Error(`${PROTO_PATH} has no service v1beta1.${name}`);
    return c as grpc.ServiceClientConstructor;
  };
  const RegistrationClient = ctor('Registration');
  const DevicePluginClient = ctor('DevicePlugin');
  loaded = { registrationService: RegistrationClient.service, devicePluginService: DevicePluginClient.service, RegistrationClient, DevicePluginClient };
  return loaded;
}
