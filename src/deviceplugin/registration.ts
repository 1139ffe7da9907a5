/**
 * Registration with the kubelet: one Register call on `<kubelet dir>/kubelet.sock` per resource,
 * naming our socket (a file name in the same directory) and our options. The kubelet then dials
 * that socket, so we register only once our server is serving there.
 */
import * as grpc from '@grpc/grpc-js';
import { API_VERSION, devicePluginApi, type DevicePluginOptions, type Empty, type RegisterRequest } from './proto.js';

export const KUBELET_SOCKET = 'kubelet.sock';

export function registerRequest(resource: string, endpoint: string, options: DevicePluginOptions): RegisterRequest {
  return { version: API_VERSION, endpoint, resource_name: resource, options };
}

/** Calls Registration.Register; rejects with the kubelet's answer (or the connection's failure). */
export async function register(kubeletSocket: string, request: RegisterRequest, timeoutMs = 10_000): Promise<void> {
  const { RegistrationClient } = devicePluginApi();
  const client = new RegistrationClient(`unix://${kubeletSocket}`, grpc.credentials.createInsecure());
  try {
    await new Promise<void>((resolve, reject) => {
      const call = client['Register'] as (req: RegisterRequest, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Empty) => void) => void;
      call.call(client, request, { deadline: Date.now() + timeoutMs }, (err) => (err ? reject(err) : resolve()));
    });
  } finally {
    client.close();
  }
}
