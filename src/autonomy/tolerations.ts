/**
 * Pod tolerations and how the taint manager (kube-controller-manager's NoExecute taint eviction)
 * reads them. Pure helpers; the policy that changes them is in policy.ts.
 */

/** core/v1 Toleration as JSON. `tolerationSeconds` absent = tolerate for ever. */
export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/** The taints the node lifecycle controller puts on a node that stops reporting or is not ready. */
export const UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable';
export const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';
/** In the order DefaultTolerationSeconds admission adds them. */
export const AUTONOMY_TAINTS: readonly string[] = [NOT_READY_TAINT, UNREACHABLE_TAINT];
export const NO_EXECUTE = 'NoExecute';

/**
 * What identifies a toleration across updates: everything but tolerationSeconds (the one field the
 * API lets an update change). Absent strings are '' as in Go.
 */
export interface TolerationId {
  key: string;
  operator: string;
  value: string;
  effect: string;
}

export function idOf(t: Toleration): TolerationId {
  return { key: t.key ?? '', operator: t.operator ?? '', value: t.value ?? '', effect: t.effect ?? '' };
}

export function sameId(a: Toleration | TolerationId, b: Toleration | TolerationId): boolean {
  return (a.key ?? '') === (b.key ?? '') && (a.operator ?? '') === (b.operator ?? '') && (a.value ?? '') === (b.value ?? '') && (a.effect ?? '') === (b.effect ?? '');
}

/** Sets tolerationSeconds, or removes the field for null (for ever). */
export function withSeconds(t: Toleration, seconds: number | null): Toleration {
  const { tolerationSeconds: _old, ...rest } = t;
  return seconds === null ? rest : { ...rest, tolerationSeconds: seconds };
}

/**
 * Whether `t` tolerates the NoExecute taint `key` (no value), as core/v1 Toleration.ToleratesTaint:
 * an empty effect matches every effect, an empty key every key, Exists every value, Equal (or no
 * operator) only an equal value.
 */
export function toleratesTaint(t: Toleration, key: string): boolean {
  if ((t.effect ?? '') !== '' && t.effect !== NO_EXECUTE) return false;
  if ((t.key ?? '') !== '' && t.key !== key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === '';
    case 'Exists':
      return true;
    default:
      return false;
  }
}

/**
 * How long the taint manager lets a pod stay on a node with the NoExecute taint `key`, as its
 * getMinTolerationTime: 0 = evicted at once (nothing tolerates the taint, or a tolerationSeconds
 * ≤ 0), else the smallest tolerationSeconds of the matching tolerations, null = never (every
 * matching toleration has no tolerationSeconds).
 */
export function evictionAfter(tolerations: readonly Toleration[], key: string): number | null {
  const matching = tolerations.filter((t) => toleratesTaint(t, key));
  if (matching.length === 0) return 0;
  let min: number | null = null;
  for (const t of matching) {
    if (t.tolerationSeconds === undefined) continue;
    if (t.tolerationSeconds <= 0) return 0;
    if (min === null || t.tolerationSeconds < min) min = t.tolerationSeconds;
  }
  return min;
}

/** A toleration as people write it, for messages: `node.kubernetes.io/unreachable:NoExecute for 300s`. */
export function describeToleration(t: Toleration): string {
  const op = (t.operator ?? '') === 'Exists' ? '' : `=${t.value ?? ''}`;
  const what = `${t.key || '*'}${op}:${t.effect || '*'}`;
  return t.tolerationSeconds === undefined ? `${what} for ever` : `${what} for ${t.tolerationSeconds}s`;
}
