/**
 * A pod as the autonomy controller keeps it: only the fields it reads (a cluster-wide pod cache
 * stays small), taken from the API's JSON. And which pods it leaves alone.
 */
import type { Toleration } from './tolerations.js';

/** An object of the API, as JSON. */
export type Json = Record<string, unknown>;

/** What the API client hands over (typed objects with Dates, or a watch event's JSON) as plain JSON; null if not an object. */
export function plainJson(v: unknown): Json | null {
  const o: unknown = JSON.parse(JSON.stringify(v ?? null));
  return typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Json) : null;
}

export interface PodView {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  /** spec.nodeName; '' while unscheduled. */
  nodeName: string;
  /** status.phase; '' when absent. */
  phase: string;
  /** metadata.deletionTimestamp is set. */
  deleting: boolean;
  annotations: Readonly<Record<string, string>>;
  owners: readonly { kind: string; controller: boolean }[];
  /** spec.tolerations as read: every field kept, so writing them back changes nothing else. */
  tolerations: readonly Toleration[];
}

/** Annotation the kubelet puts on the API mirror of a static pod. */
export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

export type SkipReason = 'daemonset' | 'static' | 'unscheduled' | 'finished' | 'terminating';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The pod's view from its JSON (a list item or a watch event's object); null without a name. */
export function podView(obj: unknown): PodView | null {
  if (!isRecord(obj) || !isRecord(obj['metadata'])) return null;
  const meta = obj['metadata'];
  const spec = isRecord(obj['spec']) ? obj['spec'] : {};
  const status = isRecord(obj['status']) ? obj['status'] : {};
  const name = str(meta['name']);
  if (name === '') return null;
  const annotations: Record<string, string> = {};
  if (isRecord(meta['annotations'])) for (const [k, v] of Object.entries(meta['annotations'])) if (typeof v === 'string') annotations[k] = v;
  const owners = Array.isArray(meta['ownerReferences'])
    ? meta['ownerReferences'].filter(isRecord).map((o) => ({ kind: str(o['kind']), controller: o['controller'] === true }))
    : [];
  const tolerations = Array.isArray(spec['tolerations']) ? (spec['tolerations'].filter(isRecord) as Toleration[]) : [];
  return {
    namespace: str(meta['namespace']),
    name,
    uid: str(meta['uid']),
    resourceVersion: str(meta['resourceVersion']),
    nodeName: str(spec['nodeName']),
    phase: str(status['phase']),
    deleting: meta['deletionTimestamp'] !== undefined && meta['deletionTimestamp'] !== null,
    annotations,
    owners,
    tolerations,
  };
}

/**
 * Why the controller leaves a pod alone, or null when it manages it. DaemonSet pods tolerate these
 * taints for ever already (the DaemonSet controller adds the tolerations) and belong to their node;
 * static pods are the kubelet's, their API object only a mirror.
 */
export function skipReason(pod: PodView): SkipReason | null {
  if (pod.owners.some((o) => o.kind === 'DaemonSet' && o.controller)) return 'daemonset';
  if (pod.annotations[MIRROR_ANNOTATION] !== undefined || pod.owners.some((o) => o.kind === 'Node')) return 'static';
  if (pod.nodeName === '') return 'unscheduled';
  if (pod.phase === 'Succeeded' || pod.phase === 'Failed') return 'finished';
  if (pod.deleting) return 'terminating';
  return null;
}

/** `namespace/name`. */
export function podKey(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}
