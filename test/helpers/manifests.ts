import { stringify } from 'yaml';

/** Kubernetes objects for tests, as plain objects; `yamlOf` writes them as one multi-document file. */
export type Obj = Record<string, unknown>;

export function yamlOf(...objects: Obj[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

export interface PathSpec {
  path: string;
  pathType?: 'Exact' | 'Prefix' | 'ImplementationSpecific';
  service: string;
  port?: number | string;
}

export function ingress(name: string, spec: {
  rules?: Array<{ host?: string; paths: PathSpec[] }>;
  tls?: Array<{ hosts: string[]; secretName?: string }>;
  defaultBackend?: { service: string; port?: number };
  annotations?: Record<string, string>;
  namespace?: string;
  className?: string | null;
  creationTimestamp?: string;
}): Obj {
  const backend = (service: string, port: number | string = 80) => ({ service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } } });
  const s: Obj = {};
  if (spec.className !== null) s.ingressClassName = spec.className ?? 'gatehouse';
  if (spec.defaultBackend) s.defaultBackend = backend(spec.defaultBackend.service, spec.defaultBackend.port);
  if (spec.tls) s.tls = spec.tls;
  if (spec.rules) {
    s.rules = spec.rules.map((r) => ({
      ...(r.host !== undefined ? { host: r.host } : {}),
      http: { paths: r.paths.map((p) => ({ path: p.path, pathType: p.pathType ?? 'Prefix', backend: backend(p.service, p.port) })) },
    }));
  }
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name,
      namespace: spec.namespace ?? 'default',
      ...(spec.annotations ? { annotations: spec.annotations } : {}),
      ...(spec.creationTimestamp ? { creationTimestamp: spec.creationTimestamp } : {}),
    },
    spec: s,
  };
}

/** A Service with one port (80, named `http`) and an EndpointSlice pointing it at `targets`. */
export function service(name: string, targets: Array<{ port: number; address?: string; ready?: boolean; serving?: boolean; terminating?: boolean }>, namespace = 'default'): Obj[] {
  const targetPort = targets[0]?.port ?? 8080;
  return [
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ name: 'http', port: 80, targetPort }] } },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-1`, namespace, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: targetPort, protocol: 'TCP' }],
      endpoints: targets.map((t) => ({
        addresses: [t.address ?? '127.0.0.1'],
        conditions: { ready: t.ready ?? true, serving: t.serving ?? t.ready ?? true, terminating: t.terminating ?? false },
      })),
    },
  ];
}

/** Every target of one Service must share a port in a slice; this variant gives each its own slice. */
export function serviceMultiPort(name: string, targets: Array<{ port: number; address?: string }>, namespace = 'default'): Obj[] {
  return [
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ name: 'http', port: 80 }] } },
    ...targets.map((t, i) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-${i}`, namespace, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: t.port, protocol: 'TCP' }],
      endpoints: [{ addresses: [t.address ?? '127.0.0.1'], conditions: { ready: true } }],
    })),
  ];
}

export function tlsSecret(name: string, cert: string, key: string, namespace = 'default', ca?: string): Obj {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace },
    data: { 'tls.crt': b64(cert), 'tls.key': b64(key), ...(ca ? { 'ca.crt': b64(ca) } : {}) },
  };
}

export function configMap(data: Record<string, string>, namespace = 'default'): Obj {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gatehouse', namespace }, data };
}
