/**
 * What the controller watches, one entry per kind: the list call of @kubernetes/client-node's typed
 * API and the matching watch path. The scope (all namespaces, one namespace) and the selectors are
 * decided here once, so list and watch always ask for the same set of objects.
 */
import { CoreV1Api, DiscoveryV1Api, NetworkingV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Kind, StoredObject } from '../../store/objects.js';
import { toStoredObject } from './convert.js';
import type { ListWatchResource } from './reflector.js';
import { TLS_SECRET_TYPE } from '../../translate/secrets.js';

export interface ListResult {
  /** As the typed client returns them (dates as Date objects); converted by toStoredObject(). */
  items: unknown[];
  resourceVersion: string;
}

export interface WatchedResource extends ListWatchResource<StoredObject> {
  kind: Kind;
  apiVersion: string;
}

export interface Scope {
  /** --watch-namespace; undefined = every namespace. */
  namespace?: string;
  /** --configmap: the one settings ConfigMap, watched in its own namespace by name. */
  configMap: { namespace: string; name: string };
}

function collection(apiVersion: string, plural: string, namespace?: string): string {
  const root = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return namespace ? `${root}/namespaces/${encodeURIComponent(namespace)}/${plural}` : `${root}/${plural}`;
}

interface TypedList {
  items: unknown[];
  metadata?: { resourceVersion?: string };
}

function result(list: TypedList): ListResult {
  return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
}

/** The six watches of the controller, in the order they are started. */
export function watchedResources(kc: KubeConfig, scope: Scope): WatchedResource[] {
  const core = kc.makeApiClient(CoreV1Api);
  const networking = kc.makeApiClient(NetworkingV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const ns = scope.namespace;
  const secrets = `type=${TLS_SECRET_TYPE}`;
  const configMap = `metadata.name=${scope.configMap.name}`;
  const resources: Omit<WatchedResource, 'convert'>[] = [
    {
      kind: 'IngressClass',
      apiVersion: 'networking.k8s.io/v1',
      path: collection('networking.k8s.io/v1', 'ingressclasses'),
      list: async () => result(await networking.listIngressClass()),
    },
    {
      kind: 'ConfigMap',
      apiVersion: 'v1',
      path: collection('v1', 'configmaps', scope.configMap.namespace),
      fieldSelector: configMap,
      list: async () => result(await core.listNamespacedConfigMap({ namespace: scope.configMap.namespace, fieldSelector: configMap })),
    },
    {
      kind: 'Secret',
      apiVersion: 'v1',
      path: collection('v1', 'secrets', ns),
      fieldSelector: secrets,
      list: async () =>
        result(ns ? await core.listNamespacedSecret({ namespace: ns, fieldSelector: secrets }) : await core.listSecretForAllNamespaces({ fieldSelector: secrets })),
    },
    {
      kind: 'Service',
      apiVersion: 'v1',
      path: collection('v1', 'services', ns),
      list: async () => result(ns ? await core.listNamespacedService({ namespace: ns }) : await core.listServiceForAllNamespaces()),
    },
    {
      kind: 'EndpointSlice',
      apiVersion: 'discovery.k8s.io/v1',
      path: collection('discovery.k8s.io/v1', 'endpointslices', ns),
      list: async () =>
        result(ns ? await discovery.listNamespacedEndpointSlice({ namespace: ns }) : await discovery.listEndpointSliceForAllNamespaces()),
    },
    {
      kind: 'Ingress',
      apiVersion: 'networking.k8s.io/v1',
      path: collection('networking.k8s.io/v1', 'ingresses', ns),
      list: async () => result(ns ? await networking.listNamespacedIngress({ namespace: ns }) : await networking.listIngressForAllNamespaces()),
    },
  ];
  return resources.map((r) => ({ ...r, convert: (raw: unknown) => toStoredObject(r.kind, r.apiVersion, raw) }));
}
