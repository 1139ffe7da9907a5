/**
 * Objects from the API server → StoredObject. List results come from the typed client (dates as
 * Date objects, no kind/apiVersion on items), watch events as plain JSON: both are brought to the
 * same plain form, so an object read by a relist equals the one a watch delivered and the store
 * sees no change where there is none.
 */
import type { Kind, StoredObject } from '../../store/objects.js';
import { isRecord, type JsonRecord } from '../../translate/json.js';

type Json = Record<string, unknown>;

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(v)) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** RFC 3339 in UTC without fractions, as the API server writes metadata times. */
function timestamp(v: unknown): string | undefined {
  const t = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? undefined : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The metadata translate and the status/event writers use; the fields that change on every write
 * (resourceVersion, managedFields, generation) are dropped so they do not count as changes.
 */
function metadataOf(meta: JsonRecord): Json {
  const out: Json = { name: meta['name'] };
  if (typeof meta['namespace'] === 'string') out['namespace'] = meta['namespace'];
  if (typeof meta['uid'] === 'string') out['uid'] = meta['uid'];
  const created = timestamp(meta['creationTimestamp']);
  if (created) out['creationTimestamp'] = created;
  if (isRecord(meta['labels'])) out['labels'] = stringMap(meta['labels']);
  if (isRecord(meta['annotations'])) out['annotations'] = stringMap(meta['annotations']);
  return out;
}

/** JSON values only: Date → string, undefined dropped. */
function plain(v: unknown): Json {
  return JSON.parse(JSON.stringify(v)) as Json;
}

/** The object in the store's form, or null when it has no name (never from a real API server). */
export function toStoredObject(kind: Kind, apiVersion: string, obj: unknown): StoredObject | null {
  if (!isRecord(obj) || !isRecord(obj['metadata'])) return null;
  const meta = obj['metadata'];
  const name = meta['name'];
  if (typeof name !== 'string' || name === '') return null;
  const metadata = metadataOf(meta);
  const raw: Json = { ...plain(obj), apiVersion, kind, metadata };
  const stored: StoredObject = {
    kind,
    apiVersion,
    namespace: typeof meta['namespace'] === 'string' ? meta['namespace'] : '',
    name,
    annotations: stringMap(meta['annotations']),
    labels: stringMap(meta['labels']),
    raw,
  };
  if (typeof metadata['creationTimestamp'] === 'string') stored.creationTimestamp = metadata['creationTimestamp'];
  return stored;
}

/** metadata.resourceVersion of a watch event's object ('' when absent). */
export function resourceVersionOf(obj: unknown): string {
  if (!isRecord(obj) || !isRecord(obj['metadata'])) return '';
  const rv = obj['metadata']['resourceVersion'];
  return typeof rv === 'string' ? rv : '';
}
