/**
 * The pod annotation `gatehouse.io/autonomy-original-tolerations`: what a pod's tolerations were
 * before autonomy changed them, so they can be put back. JSON, for example:
 *
 *     {"version":1,
 *      "changed":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","value":"","effect":"NoExecute","seconds":300}],
 *      "added":[{"key":"node.kubernetes.io/unreachable","operator":"Exists","value":"","effect":"NoExecute"}]}
 *
 * `changed`: tolerations that were there, each identified by key/operator/value/effect, with the
 * tolerationSeconds it had ("absent": no such field). `added`: tolerations the controller added
 * (the API does not let them be removed again; see policy.ts for what restoring does with them).
 */
import type { TolerationId } from './tolerations.js';

export interface ChangedToleration extends TolerationId {
  seconds: number | 'absent';
}

export interface Originals {
  changed: ChangedToleration[];
  added: TolerationId[];
}

export type OriginalsResult = { ok: true; originals: Originals } | { ok: false; error: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function readId(v: unknown): TolerationId | null {
  if (!isRecord(v)) return null;
  const { key, operator, value, effect } = v;
  if (typeof key !== 'string' || typeof operator !== 'string' || typeof value !== 'string' || typeof effect !== 'string') return null;
  return { key, operator, value, effect };
}

/** The annotation's value, checked field by field. */
export function parseOriginals(text: string): OriginalsResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `it is not JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  if (!isRecord(doc) || doc['version'] !== 1 || !Array.isArray(doc['changed']) || !Array.isArray(doc['added'])) {
    return { ok: false, error: 'it is not {"version":1,"changed":[…],"added":[…]}' };
  }
  const changed: ChangedToleration[] = [];
  for (const c of doc['changed']) {
    const id = readId(c);
    const seconds = isRecord(c) ? c['seconds'] : undefined;
    if (!id || !(seconds === 'absent' || (typeof seconds === 'number' && Number.isSafeInteger(seconds)))) {
      return { ok: false, error: `a "changed" entry is not {key, operator, value, effect, seconds: N | "absent"}: ${JSON.stringify(c)}` };
    }
    changed.push({ ...id, seconds });
  }
  const added: TolerationId[] = [];
  for (const a of doc['added']) {
    const id = readId(a);
    if (!id) return { ok: false, error: `an "added" entry is not {key, operator, value, effect}: ${JSON.stringify(a)}` };
    added.push(id);
  }
  return { ok: true, originals: { changed, added } };
}

/** The annotation's value; the same record always gives the same text. */
export function formatOriginals(o: Originals): string {
  const id = (t: TolerationId) => ({ key: t.key, operator: t.operator, value: t.value, effect: t.effect });
  return JSON.stringify({ version: 1, changed: o.changed.map((c) => ({ ...id(c), seconds: c.seconds })), added: o.added.map(id) });
}
