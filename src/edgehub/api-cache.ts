/**
 * The API answers edge-hub keeps, per client identity, on top of the durable byte store: objects
 * (get), complete lists (list, pages assembled), and opaque answers (discovery, /version). Watch
 * events a client receives keep its cached lists and objects current: the objects change, deleted
 * ones go, and a list's resourceVersion follows the newest event or bookmark it saw.
 *
 * Keys hold the identity, the resource, namespace, name, both selectors and the representation, so
 * a list with a selector never answers a list without one, and one identity never reads another's.
 */
import type { ResourceRequest } from './request.js';

/** What the cache needs from the durable store (src/edgehub/disk-cache.ts). */
export interface ByteStore {
  get(key: string): Buffer | undefined;
  has(key: string): boolean;
  put(key: string, value: Buffer): void;
  delete(key: string): void;
  keys(): string[];
}

type Obj = Record<string, unknown>;
export type Representation = 'json' | 'table';

/** A stored answer: the kind of entry, the content type it was served with, the body. */
interface Entry {
  entry: 'object' | 'list' | 'raw';
  contentType: string;
  body: unknown;
}

/** A list being kept current by watch events: parsed, written back when it changed. */
interface LiveList {
  apiVersion: string;
  kind: string;
  resourceVersion: string;
  contentType: string;
  items: Map<string, Obj>;
  dirty: boolean;
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const meta = (o: unknown): Obj => (isObj(o) && isObj(o.metadata) ? o.metadata : {});
const rvOf = (o: unknown): string => String(meta(o).resourceVersion ?? '');
const itemKey = (o: unknown): string => `${String(meta(o).namespace ?? '')}/${String(meta(o).name ?? '')}`;

/** True when resourceVersion `a` is newer than `b` (numeric as etcd's are; anything else counts as newer). */
export function newerRv(a: string, b: string): boolean {
  if (b === '') return a !== '';
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) > BigInt(b);
  return a !== b && a !== '';
}

/** The highest resourceVersion among a list's own and its items'. */
export function highestRv(listRv: string, items: Iterable<unknown>): string {
  let best = listRv;
  for (const item of items) if (newerRv(rvOf(item), best)) best = rvOf(item);
  return best;
}

const part = (s: string | undefined): string => encodeURIComponent(s ?? '');

/** What every key of one identity's objects (or lists) of one resource starts with. */
const keyPrefix = (id: string, entry: 'object' | 'list', r: ResourceRequest): string => [part(id), entry, part(r.apiVersion), part(r.resource), ''].join(' ');

/** `id list v1 pods ns - labels fields json`: components URI-encoded, space separated. */
function resourceKey(id: string, entry: 'object' | 'list', r: ResourceRequest, repr: Representation, name?: string): string {
  const ns = r.namespace === undefined ? '*' : part(r.namespace);
  return keyPrefix(id, entry, r) + [ns, part(name ?? ''),
    part(entry === 'list' ? r.labelSelector : ''), part(entry === 'list' ? r.fieldSelector : ''), repr].join(' ');
}
const rawKey = (id: string, target: string, accept: string): string => [part(id), 'raw', part(target), part(accept)].join(' ');

/** One page of a list being assembled. */
interface PendingList {
  next: string;
  first: Obj;
  items: unknown[];
}

export class ApiCache {
  private readonly live = new Map<string, LiveList>();
  private readonly pending = new Map<string, PendingList>();
  /** The resourceVersion of each object and list entry written since start, to skip rewriting what did not change. */
  private readonly versions = new Map<string, string>();

  constructor(private readonly store: ByteStore) {}

  // ---------------------------------------------------------------- storing answers

  /**
   * Whether the cache already holds this get or list answer at resourceVersion `rv` (or newer, for a
   * list its watches keep current): then it need not be parsed and written again, only marked used.
   */
  holds(id: string, r: ResourceRequest, repr: Representation, rv: string): boolean {
    if (rv === '' || (r.verb !== 'get' && r.verb !== 'list') || r.continueToken !== '') return false;
    const key = r.verb === 'get' ? resourceKey(id, 'object', r, repr, r.name) : resourceKey(id, 'list', r, repr);
    if (!this.store.has(key)) {
      this.versions.delete(key); // evicted or forgotten
      return false;
    }
    const held = this.live.get(key)?.resourceVersion ?? this.versions.get(key);
    if (held === undefined || newerRv(rv, held)) return false;
    this.store.get(key); // most recently used
    return true;
  }

  /** A successful get. */
  putObject(id: string, r: ResourceRequest, repr: Representation, contentType: string, body: unknown): void {
    this.write(resourceKey(id, 'object', r, repr, r.name), { entry: 'object', contentType, body });
  }

  /** The server said 404: the object is gone, in every representation. */
  forgetObject(id: string, r: ResourceRequest): void {
    for (const repr of ['json', 'table'] as const) this.store.delete(resourceKey(id, 'object', r, repr, r.name));
  }

  /** One page of a list (or the whole of it): complete lists are stored, pages are assembled first. */
  putListPage(id: string, r: ResourceRequest, repr: Representation, contentType: string, body: Obj): void {
    const key = resourceKey(id, 'list', r, repr);
    const next = String(meta(body).continue ?? '');
    const items = Array.isArray(body.items) ? body.items : [];
    let whole: Obj | undefined;
    if (r.continueToken === '') {
      if (next === '') whole = body;
      else this.pending.set(key, { next, first: body, items: [...items] });
    } else {
      const p = this.pending.get(key);
      if (!p || p.next !== r.continueToken) return; // a page of a list we did not see start: not cacheable
      p.items.push(...items);
      if (next !== '') p.next = next;
      else {
        this.pending.delete(key);
        whole = { ...p.first, metadata: { ...meta(p.first), continue: undefined, remainingItemCount: undefined }, items: p.items };
      }
    }
    while (this.pending.size > 64) this.pending.delete(this.pending.keys().next().value!);
    if (!whole) return;
    this.live.delete(key);
    this.write(key, { entry: 'list', contentType, body: whole });
    if (repr === 'json' && r.labelSelector === '' && r.fieldSelector === '') this.dropObjectsNotIn(id, r, whole);
  }

  /** A complete list of a namespace (or of all) says which objects exist: cached objects it lacks were deleted. */
  private dropObjectsNotIn(id: string, r: ResourceRequest, list: Obj): void {
    const present = new Set((Array.isArray(list.items) ? list.items : []).map(itemKey));
    const prefix = keyPrefix(id, 'object', r);
    for (const key of this.store.keys()) {
      if (!key.startsWith(prefix)) continue;
      const [, , , , ns, name] = key.split(' ').map(decodeURIComponent);
      const namespace = ns === '*' ? '' : ns!;
      if (r.namespace !== undefined && namespace !== r.namespace) continue;
      if (!present.has(`${namespace}/${name}`)) this.store.delete(key);
    }
  }

  /** Any other successful GET (discovery, /version), kept as it came. */
  putRaw(id: string, target: string, accept: string, contentType: string, text: string): void {
    this.write(rawKey(id, target, accept), { entry: 'raw', contentType, body: text });
  }

  /**
   * A watch event a client received: its list (same namespace and selectors) and the object's own
   * entry follow it. BOOKMARKs move the list's resourceVersion on; ERROR events change nothing.
   */
  applyEvent(id: string, r: ResourceRequest, event: { type: string; object: unknown }): void {
    const { type, object } = event;
    if (!isObj(object)) return;
    const listKey = resourceKey(id, 'list', r, 'json');
    const list = this.liveList(listKey);
    const rv = rvOf(object);
    if (type === 'BOOKMARK') {
      if (list && newerRv(rv, list.resourceVersion)) Object.assign(list, { resourceVersion: rv, dirty: true });
      return;
    }
    if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return;
    const { kind: _k, apiVersion: _a, ...item } = object;
    if (list) {
      const k = itemKey(object);
      const current = list.items.get(k);
      if (!current || !newerRv(rvOf(current), rv)) {
        if (type === 'DELETED') list.items.delete(k);
        else list.items.set(k, item);
      }
      if (newerRv(rv, list.resourceVersion)) list.resourceVersion = rv;
      list.dirty = true;
    }
    // The object's own entry: the watch may span namespaces, the object is in one (or in none).
    const { namespace: _watched, ...watch } = r;
    const ns = meta(object).namespace;
    const objectRequest: ResourceRequest = { ...watch, name: String(meta(object).name ?? ''), ...(typeof ns === 'string' ? { namespace: ns } : {}) };
    const objectKey = resourceKey(id, 'object', objectRequest, 'json', objectRequest.name);
    if (type === 'DELETED') this.forgetObject(id, objectRequest);
    else if (this.store.has(objectKey)) {
      const stored = this.read(objectKey);
      if (!stored || !newerRv(rvOf(stored.body), rv)) {
        this.write(objectKey, { entry: 'object', contentType: stored?.contentType ?? 'application/json', body: { apiVersion: r.apiVersion, kind: object.kind, ...item } });
      }
    }
  }

  /** Writes back the lists watch events changed; the proxy calls it on a short timer and at shutdown. */
  persist(): void {
    for (const [key, list] of this.live) {
      if (!list.dirty) continue;
      list.dirty = false;
      this.write(key, { entry: 'list', contentType: list.contentType, body: this.listBody(list) });
    }
    // Lists nobody updates any more need not stay parsed.
    if (this.live.size > 256) for (const [key, list] of this.live) if (!list.dirty) this.live.delete(key);
  }

  // ---------------------------------------------------------------- answering from the cache

  /** A cached object, `not-found` when a complete unselected list that would hold it does not, or undefined (unknown). */
  getObject(id: string, r: ResourceRequest, repr: Representation): { contentType: string; body: unknown } | 'not-found' | undefined {
    const stored = this.read(resourceKey(id, 'object', r, repr, r.name));
    if (stored) return { contentType: stored.contentType, body: stored.body };
    if (repr !== 'json') return undefined;
    let best: Obj | undefined;
    let authoritative = false;
    const want = `${r.namespace ?? ''}/${r.name}`;
    for (const key of this.listKeys(id, r)) {
      const [, , , , ns, , labels, fields] = key.split(' ');
      if (ns !== '*' && decodeURIComponent(ns!) !== (r.namespace ?? '')) continue;
      const list = this.liveList(key);
      const item = list?.items.get(want);
      if (item && (!best || newerRv(rvOf(item), rvOf(best)))) best = item;
      if (labels === '' && fields === '') authoritative = true;
    }
    if (best) return { contentType: 'application/json', body: { apiVersion: r.apiVersion, kind: this.kindOf(id, r), ...best } };
    return authoritative ? 'not-found' : undefined;
  }

  /** A cached list, carrying the highest resourceVersion it holds. */
  getList(id: string, r: ResourceRequest, repr: Representation): { contentType: string; body: unknown } | undefined {
    const key = resourceKey(id, 'list', r, repr);
    if (repr === 'table') {
      const stored = this.read(key);
      return stored && { contentType: stored.contentType, body: stored.body };
    }
    const list = this.liveList(key);
    return list && { contentType: list.contentType, body: this.listBody(list) };
  }

  getRaw(id: string, target: string, accept: string): { contentType: string; body: string } | undefined {
    const stored = this.read(rawKey(id, target, accept));
    return stored && typeof stored.body === 'string' ? { contentType: stored.contentType, body: stored.body } : undefined;
  }

  // ---------------------------------------------------------------- internals

  private listBody(list: LiveList): Obj {
    const items = [...list.items.values()].sort((a, b) => (itemKey(a) < itemKey(b) ? -1 : 1));
    return { apiVersion: list.apiVersion, kind: list.kind, metadata: { resourceVersion: highestRv(list.resourceVersion, items) }, items };
  }

  /** The item kind for a resource, from any cached list of it (`PodList` → `Pod`). */
  private kindOf(id: string, r: ResourceRequest): string | undefined {
    for (const key of this.listKeys(id, r)) {
      const kind = this.liveList(key)?.kind;
      if (kind?.endsWith('List')) return kind.slice(0, -4);
    }
    return undefined;
  }

  private listKeys(id: string, r: ResourceRequest): string[] {
    const prefix = keyPrefix(id, 'list', r);
    return this.store.keys().filter((k) => k.startsWith(prefix) && k.endsWith(' json'));
  }

  /** The parsed, current form of a cached JSON list, or undefined when none is cached. */
  private liveList(key: string): LiveList | undefined {
    let list = this.live.get(key);
    if (list && (list.dirty || this.store.has(key))) return list;
    this.live.delete(key); // evicted from the store meanwhile
    const stored = this.read(key);
    if (!stored || stored.entry !== 'list' || !isObj(stored.body)) return undefined;
    const body = stored.body;
    const items = new Map<string, Obj>();
    for (const item of Array.isArray(body.items) ? body.items : []) if (isObj(item)) items.set(itemKey(item), item);
    list = { apiVersion: String(body.apiVersion ?? ''), kind: String(body.kind ?? ''), resourceVersion: rvOf(body), contentType: stored.contentType, items, dirty: false };
    this.live.set(key, list);
    return list;
  }

  private read(key: string): Entry | undefined {
    const bytes = this.store.get(key);
    if (!bytes) return undefined;
    try {
      const e = JSON.parse(bytes.toString('utf8')) as Entry;
      return isObj(e) && typeof e.contentType === 'string' ? e : undefined;
    } catch {
      return undefined;
    }
  }

  private write(key: string, e: Entry): void {
    this.store.put(key, Buffer.from(JSON.stringify(e)));
    if (e.entry !== 'raw') this.versions.set(key, rvOf(e.body));
  }
}
