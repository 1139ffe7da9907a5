/**
 * The annotations that make a node autonomous, and what they mean. Pure: a node's annotations in,
 * its autonomy out. Precedence, first match wins:
 *
 * 1. `gatehouse.io/autonomy`: "true" (duration from `gatehouse.io/autonomy-duration`, absent = no
 *    limit) or "false" (off, even when OpenYurt's annotations are there).
 * 2. OpenYurt's `node.openyurt.io/autonomy-duration` (a Go duration; `0` = no limit).
 * 3. OpenYurt's older `node.beta.openyurt.io/autonomy`: "true" (no limit) or "false".
 *
 * A value that cannot be read makes the node `invalid`: its pods are left exactly as they are (not
 * changed, not restored) until the annotation is fixed.
 */
import { parseGoDuration } from './duration.js';

export const AUTONOMY_ANNOTATION = 'gatehouse.io/autonomy';
export const AUTONOMY_DURATION_ANNOTATION = 'gatehouse.io/autonomy-duration';
export const OPENYURT_DURATION_ANNOTATION = 'node.openyurt.io/autonomy-duration';
export const OPENYURT_BETA_ANNOTATION = 'node.beta.openyurt.io/autonomy';
/** On pods: the tolerationSeconds they had before autonomy (JSON; see originals.ts). */
export const ORIGINALS_ANNOTATION = 'gatehouse.io/autonomy-original-tolerations';

export type NodeAutonomy =
  | { state: 'off' }
  /** `seconds` null: pods tolerate a NotReady/unreachable node for ever. */
  | { state: 'on'; seconds: number | null; annotation: string; value: string }
  | { state: 'invalid'; annotation: string; value: string; problem: string; fix: string };

const OFF: NodeAutonomy = { state: 'off' };

function bool(annotation: string, value: string): boolean | NodeAutonomy {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return {
    state: 'invalid',
    annotation,
    value,
    problem: `${JSON.stringify(value)} is neither "true" nor "false"`,
    fix: `kubectl annotate node NODE --overwrite ${annotation}=true (or =false)`,
  };
}

/** A Go duration; 0 means no limit. */
function duration(annotation: string, value: string): NodeAutonomy {
  const d = parseGoDuration(value.trim());
  if (!d.ok) {
    return {
      state: 'invalid',
      annotation,
      value,
      problem: d.error,
      fix: `kubectl annotate node NODE --overwrite ${annotation}=24h (0 = no limit)`,
    };
  }
  return { state: 'on', seconds: d.seconds === 0 ? null : d.seconds, annotation, value };
}

/** A node's autonomy from its annotations. */
export function nodeAutonomy(annotations: Readonly<Record<string, string>>): NodeAutonomy {
  const own = annotations[AUTONOMY_ANNOTATION];
  if (own !== undefined) {
    const on = bool(AUTONOMY_ANNOTATION, own);
    if (typeof on !== 'boolean') return on;
    if (!on) return OFF;
    const d = annotations[AUTONOMY_DURATION_ANNOTATION];
    if (d === undefined) return { state: 'on', seconds: null, annotation: AUTONOMY_ANNOTATION, value: own };
    return duration(AUTONOMY_DURATION_ANNOTATION, d);
  }
  const yurt = annotations[OPENYURT_DURATION_ANNOTATION];
  if (yurt !== undefined) return duration(OPENYURT_DURATION_ANNOTATION, yurt);
  const beta = annotations[OPENYURT_BETA_ANNOTATION];
  if (beta !== undefined) {
    const on = bool(OPENYURT_BETA_ANNOTATION, beta);
    if (typeof on !== 'boolean') return on;
    return on ? { state: 'on', seconds: null, annotation: OPENYURT_BETA_ANNOTATION, value: beta } : OFF;
  }
  return OFF;
}

/** Two autonomy states that ask the same of the node's pods (the annotation they came from aside). */
export function sameAutonomy(a: NodeAutonomy, b: NodeAutonomy): boolean {
  if (a.state !== b.state) return false;
  if (a.state === 'on' && b.state === 'on') return a.seconds === b.seconds;
  if (a.state === 'invalid' && b.state === 'invalid') return a.annotation === b.annotation && a.value === b.value;
  return true;
}
