/** Kubernetes objects as every source hands them to the store: metadata checked, the rest as read. */

export type Kind = 'Ingress' | 'IngressClass' | 'Service' | 'EndpointSlice' | 'Secret' | 'ConfigMap';

export const KINDS: Readonly<Record<Kind, string>> = {
  Ingress: 'networking.k8s.io/v1',
  IngressClass: 'networking.k8s.io/v1',
  Service: 'v1',
  EndpointSlice: 'discovery.k8s.io/v1',
  Secret: 'v1',
  ConfigMap: 'v1',
};

/** Where an object was read from, when it came from a file. */
export interface Origin {
  file: string;
  line: number;
}

export interface StoredObject {
  kind: Kind;
  apiVersion: string;
  /** '' for cluster-scoped kinds (IngressClass). */
  namespace: string;
  name: string;
  /** RFC 3339 time as written; absent in files unless the user wrote it. */
  creationTimestamp?: string;
  annotations: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
  /** The whole object as read (JSON values only). Its spec is parsed and checked by translate/. */
  raw: Readonly<Record<string, unknown>>;
  origin?: Origin;
}

export interface ObjectRef {
  kind: Kind;
  namespace: string;
  name: string;
  origin?: Origin;
}

export function objectKey(o: { kind: string; namespace: string; name: string }): string {
  return `${o.kind}/${o.namespace}/${o.name}`;
}

export function refOf(o: StoredObject): ObjectRef {
  return o.origin
    ? { kind: o.kind, namespace: o.namespace, name: o.name, origin: o.origin }
    : { kind: o.kind, namespace: o.namespace, name: o.name };
}

/** `namespace/name`, or `name` for cluster-scoped objects. */
export function displayName(o: { namespace: string; name: string }): string {
  return o.namespace ? `${o.namespace}/${o.name}` : o.name;
}
