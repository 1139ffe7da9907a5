/**
 * What the autonomy controller does to one pod: pure, a pod and its node's autonomy in, the
 * tolerations and annotation the pod should have out (or nothing to do).
 *
 * The API decides the shape (kube-apiserver ValidatePodUpdate): an update may add tolerations and may
 * change or remove the tolerationSeconds of existing ones, nothing else. So, for each of the taints
 * node.kubernetes.io/not-ready and node.kubernetes.io/unreachable:
 *
 * - set: every toleration with that key and effect NoExecute gets tolerationSeconds = the node's
 *   autonomy duration (the field removed for "no limit"). When no toleration tolerates the taint at
 *   all, one is added: {key, operator: Exists, effect: NoExecute}. When only a wildcard tolerates it
 *   (no key, or no effect), nothing is added: the wildcard already decides, and an added toleration
 *   could only shorten what it allows. The first values are kept in the pod annotation
 *   gatehouse.io/autonomy-original-tolerations; a later change of duration re-applies without
 *   touching them.
 * - restore (the node is no longer autonomous): every changed toleration gets its first
 *   tolerationSeconds back; an added one cannot be removed, so it gets tolerationSeconds 0, which the
 *   taint manager reads exactly as if it were not there (nothing else tolerates the taint: evicted at
 *   once). If another toleration for the taint appeared meanwhile, it gets the value that leaves that
 *   one in charge instead. Then the annotation is removed.
 *
 * A pod already as it should be gets no change: the controller writes nothing.
 */
import { ORIGINALS_ANNOTATION, type NodeAutonomy } from './annotations.js';
import { formatOriginals, parseOriginals, type Originals } from './originals.js';
import { skipReason, type PodView, type SkipReason } from './pod.js';
import {
  AUTONOMY_TAINTS,
  describeToleration,
  evictionAfter,
  idOf,
  NO_EXECUTE,
  sameId,
  toleratesTaint,
  withSeconds,
  type Toleration,
} from './tolerations.js';

/** The pod's new tolerations (the whole list) and annotation value (null: remove it). */
export interface PodChange {
  tolerations: Toleration[];
  originals: string | null;
}

export type PodPlan =
  | { action: 'none'; why: NoneReason; limits: string[] }
  | { action: 'set'; change: PodChange; limits: string[] }
  | { action: 'restore'; change: PodChange }
  | { action: 'error'; error: string };

/** Why nothing is done: the pod is skipped, its node's annotation is unreadable, or it is as it should be. */
export type NoneReason = SkipReason | 'invalid-node' | 'in-sync';

/** JSON with sorted keys: equal values give equal text. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function sameTolerations(a: readonly Toleration[], b: readonly Toleration[]): boolean {
  return canonical(a) === canonical(b);
}

/** What to do with `pod`, whose node has `node` autonomy (off when the node is not known). */
export function planPod(pod: PodView, node: NodeAutonomy): PodPlan {
  const skip = skipReason(pod);
  if (skip) return { action: 'none', why: skip, limits: [] };
  if (node.state === 'invalid') return { action: 'none', why: 'invalid-node', limits: [] };
  const stored = pod.annotations[ORIGINALS_ANNOTATION];
  let originals: Originals | undefined;
  if (stored !== undefined) {
    const parsed = parseOriginals(stored);
    if (!parsed.ok) {
      return {
        action: 'error',
        error: `the annotation ${ORIGINALS_ANNOTATION} cannot be read because ${parsed.error}; the pod is left as it is: fix or remove the annotation (kubectl annotate pod ${pod.name} -n ${pod.namespace} ${ORIGINALS_ANNOTATION}-)`,
      };
    }
    originals = parsed.originals;
  }
  if (node.state === 'on') return planSet(pod, node.seconds, stored, originals);
  if (originals === undefined) return { action: 'none', why: 'in-sync', limits: [] };
  return planRestore(pod, originals);
}

function planSet(pod: PodView, seconds: number | null, stored: string | undefined, found: Originals | undefined): PodPlan {
  const originals: Originals = { changed: [...(found?.changed ?? [])], added: [...(found?.added ?? [])] };
  let recorded = false;
  const tolerations = [...pod.tolerations];
  for (const key of AUTONOMY_TAINTS) {
    tolerations.forEach((t, i) => {
      if ((t.key ?? '') !== key || t.effect !== NO_EXECUTE) return;
      const known = originals.added.some((a) => sameId(a, t)) || originals.changed.some((c) => sameId(c, t));
      if (!known) {
        originals.changed.push({ ...idOf(t), seconds: t.tolerationSeconds ?? 'absent' });
        recorded = true;
      }
      tolerations[i] = withSeconds(t, seconds);
    });
    // Nothing tolerates the taint (not even a toleration with its key but another value): add one.
    if (!tolerations.some((t) => toleratesTaint(t, key))) {
      const added = withSeconds({ key, operator: 'Exists', effect: NO_EXECUTE }, seconds);
      tolerations.push(added);
      originals.added.push(idOf(added));
      recorded = true;
    }
  }
  const limits = limitsOf(tolerations, seconds);
  const annotation = recorded ? formatOriginals(originals) : stored;
  if (sameTolerations(tolerations, pod.tolerations) && annotation === stored) return { action: 'none', why: 'in-sync', limits };
  return { action: 'set', change: { tolerations, originals: annotation ?? null }, limits };
}

function planRestore(pod: PodView, originals: Originals): PodPlan {
  let tolerations = pod.tolerations.map((t) => {
    const c = originals.changed.find((o) => sameId(o, t));
    return c ? withSeconds(t, c.seconds === 'absent' ? null : c.seconds) : t;
  });
  for (const a of originals.added) {
    const others = tolerations.filter((t) => !originals.added.some((x) => sameId(x, t)));
    // The value that changes nothing: with no other toleration for the taint, 0 (as if absent);
    // else what the others give (their smallest tolerationSeconds, or none for "for ever").
    const neutral = others.some((t) => toleratesTaint(t, a.key)) ? evictionAfter(others, a.key) : 0;
    tolerations = tolerations.map((t) => (sameId(a, t) ? withSeconds(t, neutral) : t));
  }
  return { action: 'restore', change: { tolerations, originals: null } };
}

/**
 * Tolerations autonomy does not change that still evict the pod sooner than the node's autonomy says:
 * a wildcard (no key) NoExecute toleration with tolerationSeconds applies to every taint.
 */
function limitsOf(tolerations: readonly Toleration[], seconds: number | null): string[] {
  const limits: string[] = [];
  for (const key of AUTONOMY_TAINTS) {
    const after = evictionAfter(tolerations, key);
    if (after === null || (seconds !== null && after >= seconds)) continue;
    const culprits = tolerations.filter((t) => toleratesTaint(t, key) && t.tolerationSeconds !== undefined && (t.key ?? '') !== key);
    if (culprits.length === 0) continue;
    limits.push(
      `the pod tolerates ${key} for only ${after}s because of its toleration ${culprits.map(describeToleration).join(', ')}, ` +
        'which applies to every taint and is left as it is',
    );
  }
  return limits;
}
