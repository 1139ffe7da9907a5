/**
 * A fake kube-apiserver for tests: the real REST/JSON protocol (paths, Status errors, list shapes,
 * resourceVersion, watch streams, 410 Gone, bookmarks, the status subresource, optimistic
 * concurrency, merge and JSON patches) for the handful of resources Gatehouse reads and writes, kept
 * in memory, served over HTTPS with bearer-token auth on 127.0.0.1, and driven by the real
 * `@kubernetes/client-node` through the kubeconfig it writes.
 *
 * Deliberate simplifications (all allowed by the API): `limit`/`continue` are ignored (every list is
 * complete, with no continue token); a list's `resourceVersion` parameter is ignored (lists are always
 * current); a watch from a resourceVersion newer than the current one just waits for live events;
 * server-side apply (`application/apply-patch+yaml`) is answered with 415; no managedFields, no
 * finalizers, no graceful deletion, no admission or schema validation, with one exception: a PUT or
 * PATCH of a Pod gets upstream's toleration rules of ValidatePodUpdate (existing tolerations can only
 * have their tolerationSeconds changed or removed, new ones can be added, each must be valid: see
 * podTolerationErrors), answered with 422 Invalid as upstream. Creating a Pod, its status
 * subresource and the test-side update() are not checked; neither are toleration keys as label names.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCert } from './certs.js';

export interface FakeApiServerOptions {
  /** Serve HTTPS with a self-signed certificate (default true). */
  tls?: boolean;
  /** The bearer token every request must carry (default: random). */
  token?: string;
  /** Port on 127.0.0.1 (default 0: the kernel picks one, kept across stop()/start()). */
  port?: number;
}

/** One logged request. */
export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
}

export interface FakeApiServer {
  /** e.g. https://127.0.0.1:34567 */
  readonly url: string;
  /** kubeconfig YAML: server=url, CA data, `tls-server-name` (the certificate names no IP), token, one context. */
  readonly kubeconfigPath: string;
  /** The serving certificate (PEM), to trust it in raw clients. Empty without TLS. */
  readonly ca: string;
  /** The name the certificate is valid for; raw TLS clients pass it as `servername`. */
  readonly serverName: string;
  /** The bearer token requests must carry. */
  readonly token: string;
  /** Accept another bearer token too (a second identity); returns a kubeconfig path that uses it. */
  addToken(token: string): string;
  /** Store a new object (uid, resourceVersion, creationTimestamp, generation 1) and emit ADDED; throws if it exists. */
  create(obj: Record<string, unknown>): Record<string, unknown>;
  /** Replace unconditionally (metadata.resourceVersion in `obj` ignored), keeping uid/creationTimestamp; emit MODIFIED; throws if missing. */
  update(obj: Record<string, unknown>): Record<string, unknown>;
  /** create() or update(). */
  apply(obj: Record<string, unknown>): Record<string, unknown>;
  /** Delete and emit DELETED with the last state at a new resourceVersion; throws if missing. */
  remove(apiVersion: string, kind: string, namespace: string, name: string): void;
  get(apiVersion: string, kind: string, namespace: string, name: string): Record<string, unknown> | undefined;
  list(apiVersion: string, kind: string): Record<string, unknown>[];
  /** The current global resourceVersion. */
  readonly resourceVersion: number;
  /** Destroy every open watch connection mid-stream, as a dropped connection. */
  cutWatches(): void;
  /** Forget history up to now: watches from an older resourceVersion get 410, as an ERROR event (default) or HTTP 410. */
  compact(opts?: { as?: 'event' | 'http' }): void;
  /** A BOOKMARK at the current resourceVersion on every open watch that asked allowWatchBookmarks. */
  sendBookmarks(): void;
  /** Down: close the listener and destroy every connection. */
  stop(): Promise<void>;
  /** Up again: same port, certificate and state. */
  start(): Promise<void>;
  /** Stop for good and remove the temp dir. */
  close(): Promise<void>;
  /** Every request received, in order (including rejected ones). */
  readonly requests: RequestRecord[];
  /**
   * Test hook: called with each request (already in `requests`) before it is served. It may change
   * state through create()/update()/remove(), as another client writing at that moment would.
   */
  onRequest: ((request: RequestRecord) => void) | undefined;
  readonly openWatches: number;
  /** Every stored Event, core v1 then events.k8s.io/v1. */
  events(): Record<string, unknown>[];
}

type Obj = Record<string, unknown>;

// ---------------------------------------------------------------- resource types

/** One served resource type: where it lives in the URL space and how it behaves. */
interface ResourceType {
  group: string;
  version: string;
  /** Plural name in URLs. */
  resource: string;
  kind: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  /** Has a `/status` subresource: the main resource ignores `.status`, and POST resets it to this. */
  createStatus?: Obj;
  /** Field selectors beyond metadata.name and metadata.namespace, as dotted paths. */
  fields?: string[];
  /** PUT on a missing object creates it (true for core Events). */
  allowCreateOnUpdate?: boolean;
  /** DELETE answers with the deleted object rather than a Success Status (true for Services). */
  returnsDeletedObject?: boolean;
  /** metav1.Time fields (dotted paths, arrays stepped through): stored at second precision in UTC. */
  times?: string[];
  /** metav1.MicroTime fields: exactly six fractional digits or the request is a 400, as upstream. */
  microTimes?: string[];
}

const RESOURCES: ResourceType[] = [
  { group: '', version: 'v1', resource: 'services', kind: 'Service', singular: 'service', namespaced: true,
    shortNames: ['svc'], createStatus: { loadBalancer: {} }, fields: ['spec.clusterIP', 'spec.type'], returnsDeletedObject: true,
    times: ['status.conditions.lastTransitionTime'] },
  { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', singular: 'secret', namespaced: true, fields: ['type'] },
  { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', singular: 'configmap', namespaced: true, shortNames: ['cm'] },
  { group: '', version: 'v1', resource: 'events', kind: 'Event', singular: 'event', namespaced: true, shortNames: ['ev'],
    allowCreateOnUpdate: true, times: ['firstTimestamp', 'lastTimestamp'], microTimes: ['eventTime', 'series.lastObservedTime'],
    fields: ['involvedObject.kind', 'involvedObject.name', 'involvedObject.namespace', 'involvedObject.uid', 'reason', 'type'] },
  { group: '', version: 'v1', resource: 'pods', kind: 'Pod', singular: 'pod', namespaced: true, shortNames: ['po'],
    createStatus: { phase: 'Pending' }, fields: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP'] },
  { group: '', version: 'v1', resource: 'nodes', kind: 'Node', singular: 'node', namespaced: false, shortNames: ['no'],
    createStatus: {}, fields: ['spec.unschedulable'] },
  { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', kind: 'Ingress', singular: 'ingress', namespaced: true,
    shortNames: ['ing'], createStatus: { loadBalancer: {} } },
  { group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses', kind: 'IngressClass', singular: 'ingressclass', namespaced: false },
  { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', kind: 'EndpointSlice', singular: 'endpointslice', namespaced: true },
  { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', singular: 'lease', namespaced: true,
    microTimes: ['spec.acquireTime', 'spec.renewTime'] },
  { group: 'events.k8s.io', version: 'v1', resource: 'events', kind: 'Event', singular: 'event', namespaced: true, shortNames: ['ev'],
    times: ['deprecatedFirstTimestamp', 'deprecatedLastTimestamp'], microTimes: ['eventTime', 'series.lastObservedTime'] },
];

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

const apiVersionOf = (rt: ResourceType): string => (rt.group ? `${rt.group}/${rt.version}` : rt.version);
/** `ingresses.networking.k8s.io`, or `secrets` for the core group, as the real messages say. */
const qualified = (rt: ResourceType): string => (rt.group ? `${rt.resource}.${rt.group}` : rt.resource);

function typeOf(apiVersion: unknown, kind: unknown): ResourceType {
  const rt = RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
  if (!rt) throw new Error(`fake apiserver: ${String(apiVersion)} ${String(kind)} is not served`);
  return rt;
}

// ---------------------------------------------------------------- small helpers

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

/** The object's metadata, created when absent. */
function metaOf(o: Obj): Obj {
  if (!isObj(o.metadata)) o.metadata = {};
  return o.metadata as Obj;
}
const nameOf = (o: Obj): string => String(metaOf(o).name ?? '');
const namespaceOf = (o: Obj): string => String(metaOf(o).namespace ?? '');

/** JSON with sorted keys: equal values give equal strings. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().filter((k) => v[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** The value at a dotted path (`spec.type`), or undefined. */
function at(o: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((cur, k) => (isObj(cur) ? cur[k] : undefined), o);
}

/** RFC 3339 without fractional seconds, as metav1.Time serializes. */
const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

// ---------------------------------------------------------------- errors

/** An API error, answered as a `Status` object with its HTTP code. */
class ApiError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string, readonly details?: Obj) {
    super(message);
  }
  status(): Obj {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason,
      ...(this.details ? { details: this.details } : {}), code: this.code };
  }
}

const detailsOf = (rt: ResourceType, name: string): Obj => ({ name, ...(rt.group ? { group: rt.group } : {}), kind: rt.resource });
const notFound = (rt: ResourceType, name: string) =>
  new ApiError(404, 'NotFound', `${qualified(rt)} "${name}" not found`, detailsOf(rt, name));
const alreadyExists = (rt: ResourceType, name: string) =>
  new ApiError(409, 'AlreadyExists', `${qualified(rt)} "${name}" already exists`, detailsOf(rt, name));
const conflict = (rt: ResourceType, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again') =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(rt)} "${name}": ${why}`, detailsOf(rt, name));
const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);

/** One field error, as apimachinery's field.Error. */
export interface FieldError {
  /** `FieldValueForbidden`, `FieldValueInvalid`, `FieldValueNotSupported` (field.ErrorType). */
  type: string;
  /** `spec.tolerations[0].effect`. */
  field: string;
  /** What follows the field in the message: `Forbidden: …`, `Invalid value: "x": …` (ErrorBody). */
  body: string;
}

/** 422 for field errors, as apierrors.NewInvalid: one error is quoted as is, several as `[a, b]`. */
function invalidObject(rt: ResourceType, name: string, errs: FieldError[]): ApiError {
  const texts = errs.map((e) => `${e.field}: ${e.body}`);
  const message = `${rt.kind} "${name}" is invalid: ${texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`}`;
  const causes = errs.map((e) => ({ reason: e.type, message: e.body, field: e.field }));
  return new ApiError(422, 'Invalid', message, { name, ...(rt.group ? { group: rt.group } : {}), kind: rt.kind, causes });
}
const invalid = (message: string) => new ApiError(422, 'Invalid', message);
const noRoute = () => new ApiError(404, 'NotFound', 'the server could not find the requested resource');
const methodNotAllowed = () => new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');

// ---------------------------------------------------------------- pod update validation

const TOLERATION_FIELDS = ['key', 'operator', 'value', 'effect'] as const;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function tolerationsOf(pod: Obj): Obj[] {
  const spec = isObj(pod.spec) ? pod.spec : {};
  return Array.isArray(spec.tolerations) ? spec.tolerations.map((t) => (isObj(t) ? t : {})) : [];
}

/**
 * The toleration rules of kube-apiserver's ValidatePodUpdate. validateOnlyAddedTolerations: every
 * old toleration must still be there, equal in everything but tolerationSeconds (Go's DeepEqual on
 * the struct: an absent string equals ''); the first one missing gives one Forbidden error and
 * nothing else. Then ValidateTolerations on the new list: tolerationSeconds only with effect
 * NoExecute, operator Exists when the key is empty, no value with Exists, known operators and effects.
 */
export function podTolerationErrors(oldPod: Obj, newPod: Obj): FieldError[] {
  const same = (a: Obj, b: Obj) => TOLERATION_FIELDS.every((f) => str(a[f]) === str(b[f]));
  const next = tolerationsOf(newPod);
  for (const old of tolerationsOf(oldPod)) {
    if (!next.some((t) => same(old, t))) {
      return [{ type: 'FieldValueForbidden', field: 'spec.tolerations', body: 'Forbidden: existing toleration can not be modified except its tolerationSeconds' }];
    }
  }
  const errs: FieldError[] = [];
  const invalidValue = (field: string, value: unknown, detail: string) =>
    errs.push({ type: 'FieldValueInvalid', field, body: `Invalid value: ${JSON.stringify(value)}: ${detail}` });
  const notSupported = (field: string, value: string, valid: string[]) =>
    errs.push({ type: 'FieldValueNotSupported', field, body: `Unsupported value: ${JSON.stringify(value)}: supported values: ${valid.map((v) => JSON.stringify(v)).join(', ')}` });
  next.forEach((t, i) => {
    const at = `spec.tolerations[${i}]`;
    const [key, operator, value, effect] = TOLERATION_FIELDS.map((f) => str(t[f])) as [string, string, string, string];
    if (key === '' && operator !== 'Exists') invalidValue(`${at}.operator`, operator, 'operator must be Exists when `key` is empty, which means "match all values and all keys"');
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null && effect !== 'NoExecute') {
      invalidValue(`${at}.effect`, effect, "effect must be 'NoExecute' when `tolerationSeconds` is set");
    }
    if (operator === 'Exists' && value !== '') invalidValue(`${at}.operator`, t, "value must be empty when `operator` is 'Exists'");
    else if (operator !== '' && operator !== 'Equal' && operator !== 'Exists') notSupported(`${at}.operator`, operator, ['Equal', 'Exists']);
    if (effect !== '' && !['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(effect)) notSupported(`${at}.effect`, effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute']);
  });
  return errs;
}

// ---------------------------------------------------------------- the store

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One write, kept for watches that start from an older resourceVersion. */
interface Change {
  rv: number;
  type: EventType;
  rt: ResourceType;
  /** The object after the write (for DELETED: the last state, carrying the delete's RV). */
  object: Obj;
  /** The object before the write (MODIFIED and DELETED). */
  previous?: Obj;
}

/**
 * Objects by type and `namespace/name`, a global resourceVersion counter, and the history of
 * changes since the last compaction. Stored objects are never mutated: each write stores a new one.
 */
class Store {
  rv = 0;
  /** Watches from a resourceVersion older than this get 410 Gone. */
  compactedAt = 0;
  history: Change[] = [];
  private readonly objects = new Map<ResourceType, Map<string, Obj>>();

  constructor(private readonly onChange: (c: Change) => void) {}

  private table(rt: ResourceType): Map<string, Obj> {
    let t = this.objects.get(rt);
    if (!t) this.objects.set(rt, (t = new Map()));
    return t;
  }

  get(rt: ResourceType, namespace: string, name: string): Obj | undefined {
    return this.table(rt).get(`${rt.namespaced ? namespace : ''}/${name}`);
  }

  /** Every object of a type, in etcd key order (namespace, then name). */
  all(rt: ResourceType): Obj[] {
    return [...this.table(rt).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
  }

  /** A copy of `input` with kind/apiVersion set and the namespace right for the type. */
  private normalize(rt: ResourceType, input: Obj): Obj {
    const obj = { apiVersion: apiVersionOf(rt), kind: rt.kind, ...clone(input) };
    obj.apiVersion = apiVersionOf(rt);
    obj.kind = rt.kind;
    const meta = metaOf(obj);
    if (!rt.namespaced) delete meta.namespace;
    else if (!meta.namespace) meta.namespace = 'default';
    return obj;
  }

  create(rt: ResourceType, input: Obj): Obj {
    const obj = this.normalize(rt, input);
    const meta = metaOf(obj);
    if (!meta.name && typeof meta.generateName === 'string') meta.name = meta.generateName + randomBytes(3).toString('hex').slice(0, 5);
    if (!meta.name) throw invalid(`${rt.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    if (this.get(rt, namespaceOf(obj), nameOf(obj))) throw alreadyExists(rt, nameOf(obj));
    Object.assign(meta, { uid: randomUUID(), resourceVersion: String(++this.rv), creationTimestamp: rfc3339(new Date()), generation: 1 });
    this.table(rt).set(`${namespaceOf(obj)}/${nameOf(obj)}`, obj);
    this.record({ rv: this.rv, type: 'ADDED', rt, object: obj });
    return obj;
  }

  /**
   * Replace a stored object, keeping the server-owned metadata. The caller checks preconditions.
   * With `skipNoop`, a write that changes nothing is skipped as the real server does (same RV, no event).
   */
  replace(rt: ResourceType, input: Obj, skipNoop: boolean): Obj {
    const obj = this.normalize(rt, input);
    const old = this.get(rt, namespaceOf(obj), nameOf(obj));
    if (!old) throw notFound(rt, nameOf(obj));
    const meta = metaOf(obj);
    const oldMeta = metaOf(old);
    for (const k of ['uid', 'creationTimestamp', 'generation', 'resourceVersion']) meta[k] = oldMeta[k];
    if (skipNoop && canonical(obj) === canonical(old)) return old;
    const content = (o: Obj) => canonical({ ...o, metadata: undefined, status: undefined });
    if (content(obj) !== content(old)) meta.generation = Number(oldMeta.generation ?? 0) + 1;
    meta.resourceVersion = String(++this.rv);
    this.table(rt).set(`${namespaceOf(obj)}/${nameOf(obj)}`, obj);
    this.record({ rv: this.rv, type: 'MODIFIED', rt, object: obj, previous: old });
    return obj;
  }

  /** Delete; the DELETED event carries the last state with the delete's resourceVersion. */
  remove(rt: ResourceType, namespace: string, name: string): Obj {
    const old = this.get(rt, namespace, name);
    if (!old) throw notFound(rt, name);
    const last = clone(old);
    metaOf(last).resourceVersion = String(++this.rv);
    this.table(rt).delete(`${rt.namespaced ? namespace : ''}/${name}`);
    this.record({ rv: this.rv, type: 'DELETED', rt, object: last, previous: old });
    return last;
  }

  private record(c: Change): void {
    this.history.push(c);
    this.onChange(c);
  }
}

// ---------------------------------------------------------------- selectors

/** Split on commas outside parentheses (`a in (x,y),b` → `a in (x,y)`, `b`). */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

type Predicate = (o: Obj) => boolean;

/** A label selector (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`; comma = AND). */
function parseLabelSelector(selector: string): Predicate {
  const key = String.raw`([A-Za-z0-9][-A-Za-z0-9_./]*)`;
  const value = String.raw`([-A-Za-z0-9_.]*)`;
  const reqs = splitTopLevel(selector).map((req): ((labels: Record<string, string>) => boolean) => {
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^${key}\\s+(in|notin)\\s*\\(([^)]*)\\)$`).exec(req))) {
      const [, k, op, list] = m as unknown as [string, string, string, string];
      const set = list.split(',').map((v) => v.trim());
      return op === 'in' ? (l) => k in l && set.includes(l[k]!) : (l) => !(k in l) || !set.includes(l[k]!);
    }
    if ((m = new RegExp(`^${key}\\s*(==|=|!=)\\s*${value}$`).exec(req))) {
      const [, k, op, v] = m as unknown as [string, string, string, string];
      return op === '!=' ? (l) => l[k] !== v : (l) => l[k] === v;
    }
    if ((m = new RegExp(`^!\\s*${key}$`).exec(req))) return (l) => !(m![1]! in l);
    if ((m = new RegExp(`^${key}$`).exec(req))) return (l) => m![1]! in l;
    throw badRequest(`unable to parse requirement: ${JSON.stringify(req)}`);
  });
  return (o) => {
    const labels = Object.assign(Object.create(null), metaOf(o).labels ?? {}) as Record<string, string>;
    return reqs.every((r) => r(labels));
  };
}

/** A field selector (`f=v`, `f==v`, `f!=v`; comma = AND) over the fields the type supports. */
function parseFieldSelector(rt: ResourceType, selector: string, labelSelector: string): Predicate {
  const supported = ['metadata.name', 'metadata.namespace', ...(rt.fields ?? [])];
  const reqs = splitTopLevel(selector).map((req): Predicate => {
    const m = /^([^!=]+?)\s*(!=|==|=)\s*(.*)$/.exec(req);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${req}'`);
    const [, field, op, v] = m as unknown as [string, string, string, string];
    if (!supported.includes(field)) {
      throw badRequest(`Unable to find "${rt.group}/${rt.version}, Resource=${rt.resource}" that match label selector "${labelSelector}", field selector "${selector}": field label not supported: ${field}`);
    }
    return op === '!=' ? (o) => String(at(o, field) ?? '') !== v : (o) => String(at(o, field) ?? '') === v;
  });
  return (o) => reqs.every((r) => r(o));
}

/** The list/watch filter for a request: namespace from the path, then both selectors. */
function filterFor(rt: ResourceType, namespace: string | undefined, query: Record<string, string>): Predicate {
  const labels = parseLabelSelector(query.labelSelector ?? '');
  const fields = parseFieldSelector(rt, query.fieldSelector ?? '', query.labelSelector ?? '');
  return (o) => (namespace === undefined || namespaceOf(o) === namespace) && labels(o) && fields(o);
}

// ---------------------------------------------------------------- patches

/** RFC 7386 JSON merge patch (also used for strategic merge patch, which agrees for our uses). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6901 pointer → tokens. */
function pointer(p: unknown): string[] {
  if (typeof p !== 'string' || (p !== '' && !p.startsWith('/'))) throw invalid(`invalid JSON pointer: ${String(p)}`);
  return p === '' ? [] : p.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The container holding the last token of `tokens`, and that token. */
function parentOf(root: unknown, tokens: string[], what: string): [Obj | unknown[], string] {
  let cur = root;
  for (const t of tokens.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(t)] : isObj(cur) ? cur[t] : undefined;
    if (cur === undefined) throw invalid(`${what}: doc is missing path: /${tokens.join('/')}`);
  }
  if (!Array.isArray(cur) && !isObj(cur)) throw invalid(`${what}: doc is missing path: /${tokens.join('/')}`);
  return [cur, tokens[tokens.length - 1]!];
}

function arrayIndex(arr: unknown[], token: string, forAdd: boolean, what: string): number {
  const i = token === '-' && forAdd ? arr.length : /^\d+$/.test(token) ? Number(token) : NaN;
  if (!(i >= 0 && i <= arr.length - (forAdd ? 0 : 1))) throw invalid(`${what}: index out of range: ${token}`);
  return i;
}

function getAt(root: unknown, tokens: string[], what: string): unknown {
  if (tokens.length === 0) return root;
  const [parent, last] = parentOf(root, tokens, what);
  const v = Array.isArray(parent) ? parent[arrayIndex(parent, last, false, what)] : parent[last];
  if (v === undefined) throw invalid(`${what}: doc is missing key: /${tokens.join('/')}`);
  return v;
}

function addAt(root: unknown, tokens: string[], value: unknown): unknown {
  if (tokens.length === 0) return value;
  const [parent, last] = parentOf(root, tokens, 'add operation does not apply');
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true, 'add operation does not apply'), 0, value);
  else parent[last] = value;
  return root;
}

function removeAt(root: unknown, tokens: string[], what: string): void {
  getAt(root, tokens, what);
  const [parent, last] = parentOf(root, tokens, what);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false, what), 1);
  else delete parent[last];
}

/** RFC 6902 JSON patch: add, remove, replace, move, copy, test. Failures are 422 Invalid as upstream. */
function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let root = clone(doc);
  for (const op of ops as Obj[]) {
    const path = pointer(op.path);
    switch (op.op) {
      case 'add': root = addAt(root, path, clone(op.value)); break;
      case 'remove': removeAt(root, path, 'remove operation does not apply'); break;
      case 'replace': removeAt(root, path, 'replace operation does not apply'); root = addAt(root, path, clone(op.value)); break;
      case 'move': {
        const from = pointer(op.from);
        const v = getAt(root, from, 'move operation does not apply');
        removeAt(root, from, 'move operation does not apply');
        root = addAt(root, path, v);
        break;
      }
      case 'copy': root = addAt(root, path, clone(getAt(root, pointer(op.from), 'copy operation does not apply'))); break;
      case 'test':
        if (canonical(getAt(root, path, 'testing value failed')) !== canonical(op.value)) throw invalid(`testing value ${String(op.path)} failed: test failed`);
        break;
      default: throw invalid(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return root;
}

// ---------------------------------------------------------------- discovery

function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of RESOURCES) seen.set(`${r.group}/${r.version}`, { group: r.group, version: r.version });
  return [...seen.values()];
}

function apiGroup(group: string): Obj {
  const versions = groupVersions().filter((g) => g.group === group).map((g) => ({ groupVersion: `${group}/${g.version}`, version: g.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

/** APIResourceList for one group/version: each resource, then its status subresource. */
function resourceList(group: string, version: string): Obj {
  const resources = RESOURCES.filter((r) => r.group === group && r.version === version).flatMap((r) => [
    { name: r.resource, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: VERBS, ...(r.shortNames ? { shortNames: r.shortNames } : {}) },
    ...(r.createStatus ? [{ name: `${r.resource}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] }] : []),
  ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

/** The discovery document (or version info) at `path`, or undefined when it is not one. */
function discoveryDocument(path: string, serverAddress: string): Obj | undefined {
  if (path === '/version') {
    return { major: '1', minor: '31', gitVersion: 'v1.31.0', gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean',
      buildDate: '2024-08-13T07:28:49Z', goVersion: 'go1.22.5', compiler: 'gc', platform: 'linux/amd64' };
  }
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
  if (path === '/apis') {
    const groups = [...new Set(groupVersions().map((g) => g.group).filter((g) => g))];
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(apiGroup) };
  }
  for (const { group, version } of groupVersions()) {
    if (group && path === `/apis/${group}`) return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) };
    if (path === (group ? `/apis/${group}/${version}` : `/api/${version}`)) return resourceList(group, version);
  }
  return undefined;
}

/** What a resource URL points at. */
interface Target {
  rt: ResourceType;
  /** Undefined for cluster-scoped types and for all-namespaces collections. */
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** `/api/v1[/namespaces/{ns}]/{resource}[/{name}[/{sub}]]`, or the same under `/apis/{group}/{version}`. */
function parseTarget(pathname: string): Target | undefined {
  const parts = pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  let group = '';
  let rest: string[];
  if (parts[0] === 'api') rest = parts.slice(1);
  else if (parts[0] === 'apis') [group, rest] = [parts[1] ?? '', parts.slice(2)];
  else return undefined;
  const version = rest.shift();
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) [namespace, rest] = [rest[1], rest.slice(2)];
  const rt = RESOURCES.find((r) => r.group === group && r.version === version && r.resource === rest[0]);
  if (!rt || rest.length > 3 || (namespace !== undefined && !rt.namespaced)) return undefined;
  if (rest[2] !== undefined && !(rest[2] === 'status' && rt.createStatus)) return undefined;
  return { rt, namespace, name: rest[1], subresource: rest[2] };
}

// ---------------------------------------------------------------- HTTP

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
  res.end(text);
}

function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** An object as a list item: the real server leaves kind and apiVersion off items. */
function asItem(o: Obj): Obj {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = clone(o);
  return rest;
}

/** One open watch stream. */
interface Watcher {
  rt: ResourceType;
  filter: Predicate;
  bookmarks: boolean;
  res: ServerResponse;
  timer?: NodeJS.Timeout;
}

/** The event a watcher gets for a change, following objects in and out of its filter. */
function eventFor(w: Watcher, c: Change): { type: EventType; object: Obj } | undefined {
  if (c.rt !== w.rt) return undefined;
  const now = c.type !== 'DELETED' && w.filter(c.object);
  const before = c.type === 'DELETED' ? w.filter(c.object) : c.previous !== undefined && w.filter(c.previous);
  if (now) return { type: before ? 'MODIFIED' : 'ADDED', object: c.object };
  if (!before) return undefined;
  if (c.type === 'DELETED') return { type: 'DELETED', object: c.object };
  // Stopped matching: a DELETED carrying the previous content at the new resourceVersion, as the cacher does.
  const gone = clone(c.previous!);
  metaOf(gone).resourceVersion = String(c.rv);
  return { type: 'DELETED', object: gone };
}

const truthy = (v: string | undefined): boolean => v === 'true' || v === '1';

class FakeApiServerImpl implements FakeApiServer {
  readonly requests: RequestRecord[] = [];
  onRequest: ((request: RequestRecord) => void) | undefined = undefined;
  readonly kubeconfigPath: string;
  readonly ca: string;
  readonly serverName = 'kubernetes';
  readonly token: string;
  private readonly dir: string;
  private readonly server: Server;
  private readonly store = new Store((c) => this.broadcast(c));
  private readonly watchers = new Set<Watcher>();
  private readonly sockets = new Set<Socket>();
  private readonly tokens = new Set<string>();
  private expiredAs: 'event' | 'http' = 'event';
  private port: number;
  private listening = false;

  constructor(private readonly opts: FakeApiServerOptions) {
    this.token = opts.token ?? randomBytes(16).toString('hex');
    this.tokens.add(this.token);
    this.port = opts.port ?? 0;
    this.dir = mkdtempSync(join(tmpdir(), 'gh-fake-apiserver-'));
    this.kubeconfigPath = join(this.dir, 'kubeconfig.yaml');
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    if (opts.tls === false) {
      this.ca = '';
      this.server = createHttpServer(handler);
    } else {
      const cert = makeCert([this.serverName, 'kubernetes.default', 'kubernetes.default.svc', 'localhost']);
      this.ca = cert.cert;
      this.server = createHttpsServer({ cert: cert.cert, key: cert.key }, handler);
    }
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  get url(): string {
    return `${this.opts.tls === false ? 'http' : 'https'}://127.0.0.1:${this.port}`;
  }
  get resourceVersion(): number {
    return this.store.rv;
  }
  get openWatches(): number {
    return this.watchers.size;
  }

  // ---- state

  create(obj: Obj): Obj {
    return clone(this.store.create(typeOf(obj.apiVersion, obj.kind), obj));
  }
  /** Unconditional replace (any metadata.resourceVersion in `obj` is ignored); always a new RV and a MODIFIED. */
  update(obj: Obj): Obj {
    return clone(this.store.replace(typeOf(obj.apiVersion, obj.kind), obj, false));
  }
  apply(obj: Obj): Obj {
    const rt = typeOf(obj.apiVersion, obj.kind);
    const meta = isObj(obj.metadata) ? obj.metadata : {};
    return this.store.get(rt, String(meta.namespace ?? 'default'), String(meta.name ?? '')) ? this.update(obj) : this.create(obj);
  }
  remove(apiVersion: string, kind: string, namespace: string, name: string): void {
    this.store.remove(typeOf(apiVersion, kind), namespace, name);
  }
  get(apiVersion: string, kind: string, namespace: string, name: string): Obj | undefined {
    const o = this.store.get(typeOf(apiVersion, kind), namespace, name);
    return o && clone(o);
  }
  list(apiVersion: string, kind: string): Obj[] {
    return this.store.all(typeOf(apiVersion, kind)).map(clone);
  }
  events(): Obj[] {
    return RESOURCES.filter((r) => r.kind === 'Event').flatMap((r) => this.store.all(r)).map(clone);
  }

  // ---- faults

  cutWatches(): void {
    for (const w of [...this.watchers]) this.dropWatcher(w, true);
  }
  /** Forget history up to now; later watches from an older RV get 410 (an ERROR event, or HTTP 410 with `as: 'http'`). */
  compact(opts: { as?: 'event' | 'http' } = {}): void {
    this.store.compactedAt = this.store.rv;
    this.store.history = [];
    this.expiredAs = opts.as ?? 'event';
  }
  sendBookmarks(): void {
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      const object = { kind: w.rt.kind, apiVersion: apiVersionOf(w.rt), metadata: { resourceVersion: String(this.store.rv) } };
      w.res.write(JSON.stringify({ type: 'BOOKMARK', object }) + '\n');
    }
  }

  async start(): Promise<void> {
    if (this.listening) return;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.listening = true;
    this.port = (this.server.address() as AddressInfo).port;
    this.writeKubeconfig();
  }
  async stop(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.cutWatches();
    for (const s of this.sockets) s.destroy();
    await closed;
  }
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  addToken(token: string): string {
    this.tokens.add(token);
    const path = join(this.dir, `kubeconfig-${this.tokens.size}.yaml`);
    writeFileSync(path, this.kubeconfigText(token));
    return path;
  }

  private writeKubeconfig(): void {
    writeFileSync(this.kubeconfigPath, this.kubeconfigText(this.token));
  }

  private kubeconfigText(token: string): string {
    const cluster = this.ca
      ? [`    certificate-authority-data: ${Buffer.from(this.ca).toString('base64')}`, `    tls-server-name: ${this.serverName}`]
      : ['    insecure-skip-tls-verify: true'];
    return [
      'apiVersion: v1', 'kind: Config',
      'clusters:', '- name: fake', '  cluster:', `    server: ${this.url}`, ...cluster,
      'users:', '- name: fake-user', '  user:', `    token: ${token}`,
      'contexts:', '- name: fake', '  context:', '    cluster: fake', '    user: fake-user', '    namespace: default',
      'current-context: fake', '',
    ].join('\n');
  }

  // ---- HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams);
    const raw = await readBody(req).catch(() => '');
    let body: unknown;
    let parseError: string | undefined;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch (e) {
        [body, parseError] = [raw, (e as Error).message];
      }
    }
    const record: RequestRecord = { method: req.method ?? 'GET', path: url.pathname, query, ...(raw !== '' ? { body } : {}) };
    this.requests.push(record);
    try {
      this.onRequest?.(record);
      const health = req.method === 'GET' && /^\/(readyz|livez|healthz)\/?$/.test(url.pathname);
      if (health) return sendText(res, 200, 'ok'); // open to anyone, as system:public-info-viewer allows
      if (!this.tokens.has(String(req.headers.authorization ?? '').replace(/^Bearer /, ''))) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      const path = url.pathname.replace(/\/+$/, '') || '/';
      const doc = req.method === 'GET' ? discoveryDocument(path, `127.0.0.1:${this.port}`) : undefined;
      if (doc) return sendJson(res, 200, doc);
      const target = parseTarget(path);
      if (!target) throw noRoute();
      const patchType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (req.method === 'PATCH' && !['application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json'].includes(patchType)) {
        throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`);
      }
      if (parseError !== undefined) throw badRequest(`json parse error: ${parseError}`);
      if (req.method === 'GET' && target.name === undefined && truthy(query.watch)) return this.watch(res, target, query);
      const [code, out] = this.serve(req.method ?? 'GET', target, query, body, patchType);
      sendJson(res, code, out);
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(500, 'InternalError', `Internal error occurred: ${(e as Error).message}`);
      if (!res.headersSent) sendJson(res, err.code, err.status());
      else res.destroy();
    }
  }

  /** Every verb but watch: the status code and the body to answer with. */
  private serve(method: string, t: Target, query: Record<string, string>, body: unknown, patchType: string): [number, unknown] {
    const { rt } = t;
    if (t.name === undefined) {
      if (method === 'GET') {
        const filter = filterFor(rt, t.namespace, query);
        const items = this.store.all(rt).filter(filter).map(asItem);
        return [200, { kind: `${rt.kind}List`, apiVersion: apiVersionOf(rt), metadata: { resourceVersion: String(this.store.rv) }, items }];
      }
      if (method === 'POST' && (t.namespace !== undefined || !rt.namespaced)) return [201, this.createFromRequest(t, body)];
      throw methodNotAllowed();
    }
    const existing = this.store.get(rt, t.namespace ?? '', t.name);
    switch (method) {
      case 'GET':
        if (!existing) throw notFound(rt, t.name);
        return [200, existing];
      case 'PUT':
        if (!existing && rt.allowCreateOnUpdate && !t.subresource) return [201, this.createFromRequest(t, body)];
        return [200, this.updateFromRequest(t, existing, body)];
      case 'PATCH': {
        if (!existing) throw notFound(rt, t.name);
        const patched = patchType === 'application/json-patch+json' ? jsonPatch(existing, body) : mergeObject(existing, body);
        if (!isObj(patched)) throw invalid('the patched document is not an object');
        return [200, this.updateFromRequest(t, existing, patched)];
      }
      case 'DELETE': {
        if (!existing || t.subresource) throw existing ? methodNotAllowed() : notFound(rt, t.name);
        const pre = isObj(body) && isObj(body.preconditions) ? body.preconditions : {};
        const meta = metaOf(existing);
        if ((pre.uid && pre.uid !== meta.uid) || (pre.resourceVersion && pre.resourceVersion !== meta.resourceVersion)) {
          throw conflict(rt, t.name, `Precondition failed: UID in precondition: ${String(pre.uid ?? '')}, UID in object meta: ${String(meta.uid)}`);
        }
        const last = this.store.remove(rt, t.namespace ?? '', t.name);
        if (rt.returnsDeletedObject) return [200, last];
        return [200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { ...detailsOf(rt, t.name), uid: meta.uid } }];
      }
      default:
        throw methodNotAllowed();
    }
  }

  /** POST: the path decides the namespace; the status of types with a status subresource starts empty. */
  private createFromRequest(t: Target, body: unknown): Obj {
    const obj = this.checkBody(t, body);
    if (t.rt.createStatus) obj.status = clone(t.rt.createStatus);
    return this.store.create(t.rt, obj);
  }

  /**
   * PUT or PATCH (after the patch is applied): a resourceVersion in the body must match the stored
   * one (409 otherwise); the main resource keeps the stored status, the status subresource changes
   * only the status. A write that changes nothing is a no-op, as upstream.
   */
  private updateFromRequest(t: Target, existing: Obj | undefined, body: unknown): Obj {
    const obj = this.checkBody(t, body);
    if (!existing) throw notFound(t.rt, t.name!);
    const rv = metaOf(obj).resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== metaOf(existing).resourceVersion) throw conflict(t.rt, t.name!);
    let next = obj;
    if (t.subresource === 'status') next = { ...clone(existing), status: obj.status };
    else if (t.rt.createStatus) next = { ...obj, status: clone(existing.status) };
    if (t.rt.kind === 'Pod' && t.subresource === undefined) {
      const errs = podTolerationErrors(existing, next);
      if (errs.length > 0) throw invalidObject(t.rt, t.name!, errs);
    }
    return this.store.replace(t.rt, next, true);
  }

  /** A request body as an object of this type, named and namespaced like the URL (400 otherwise). */
  private checkBody(t: Target, body: unknown): Obj {
    if (!isObj(body)) throw badRequest('the body of the request must be a JSON object');
    const obj = clone(body);
    const meta = metaOf(obj);
    if (obj.kind !== undefined && obj.kind !== t.rt.kind) throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${t.rt.kind})`);
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(t.rt)) {
      throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersionOf(t.rt)})`);
    }
    if (t.namespace !== undefined) {
      if (meta.namespace && meta.namespace !== t.namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      meta.namespace = t.namespace;
    }
    decodeTimes(t.rt, obj);
    if (t.name !== undefined) {
      if (meta.name && meta.name !== t.name) throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${t.name})`);
      meta.name = t.name;
    }
    return obj;
  }

  /** GET with watch=true: replay (from history or as synthetic ADDED), then live events, one JSON object per line. */
  private watch(res: ServerResponse, t: Target, query: Record<string, string>): void {
    const filter = filterFor(t.rt, t.namespace, query);
    const rvParam = query.resourceVersion ?? '';
    if (rvParam !== '' && !/^\d+$/.test(rvParam)) throw badRequest(`resourceVersion: Invalid value: "${rvParam}": must be a number`);
    const from = rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
    if (from !== undefined && from < this.store.compactedAt) {
      const expired = new ApiError(410, 'Expired', `too old resource version: ${from} (${this.store.compactedAt})`);
      if (this.expiredAs === 'http') return sendJson(res, 410, expired.status());
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
      res.end(JSON.stringify({ type: 'ERROR', object: expired.status() }) + '\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const w: Watcher = { rt: t.rt, filter, bookmarks: truthy(query.allowWatchBookmarks), res };
    res.on('error', () => this.dropWatcher(w, false)); // a write racing a dropped connection
    if (from === undefined) {
      for (const o of this.store.all(t.rt)) if (filter(o)) this.send(w, { type: 'ADDED', object: o });
    } else {
      for (const c of this.store.history) if (c.rv > from) this.send(w, eventFor(w, c));
    }
    this.watchers.add(w);
    res.on('close', () => this.dropWatcher(w, false));
    const timeout = Number(query.timeoutSeconds ?? 0);
    if (timeout > 0) w.timer = setTimeout(() => { this.dropWatcher(w, false); res.end(); }, timeout * 1000);
  }

  private send(w: Watcher, event: { type: EventType; object: Obj } | undefined): void {
    if (event) w.res.write(JSON.stringify(event) + '\n');
  }

  private broadcast(c: Change): void {
    for (const w of this.watchers) this.send(w, eventFor(w, c));
  }

  /** Forget a watch; with `abrupt`, destroy its connection mid-stream (no terminating chunk). */
  private dropWatcher(w: Watcher, abrupt: boolean): void {
    this.watchers.delete(w);
    clearTimeout(w.timer);
    if (abrupt) w.res.socket?.destroy();
  }
}

/** Replace the value at a dotted path with `fn(value)`, stepping through arrays on the way. */
function mapAt(o: unknown, path: string[], fn: (v: unknown) => unknown): void {
  if (Array.isArray(o)) return o.forEach((e) => mapAt(e, path, fn));
  if (!isObj(o) || path.length === 0) return;
  const [k, ...rest] = path as [string, ...string[]];
  if (rest.length > 0) mapAt(o[k], rest, fn);
  else if (o[k] !== undefined && o[k] !== null) o[k] = fn(o[k]);
}

/**
 * Time fields as the apiserver decodes and re-encodes them. metav1.Time accepts any RFC 3339 time and
 * is stored at second precision in UTC (a JavaScript Date's milliseconds vanish). metav1.MicroTime is
 * parsed with Go's layout `2006-01-02T15:04:05.000000Z07:00`: exactly six fractional digits. A Date
 * serializes with three (client-node's V1MicroTime with six), and the real server answers 400.
 */
function decodeTimes(rt: ResourceType, obj: Obj): void {
  const cannot = (v: unknown, layout: string, rest: string) => badRequest(`${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: ` +
    `parsing time ${JSON.stringify(String(v))} as "${layout}": cannot parse ${JSON.stringify(rest)} as "${layout.slice(19, 26)}"`);
  const seconds = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/;
  for (const field of rt.times ?? []) {
    mapAt(obj, field.split('.'), (v) => {
      if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v)) return rfc3339(new Date(v));
      throw cannot(v, '2006-01-02T15:04:05Z07:00', String(v).replace(seconds, ''));
    });
  }
  for (const field of rt.microTimes ?? []) {
    mapAt(obj, field.split('.'), (v) => {
      if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/.test(v)) return v;
      throw cannot(v, '2006-01-02T15:04:05.000000Z07:00', String(v).replace(seconds, ''));
    });
  }
}

/** PATCH with a merge patch: the body must be an object. */
function mergeObject(existing: Obj, patch: unknown): unknown {
  if (!isObj(patch)) throw badRequest('the body of the request must be a JSON object');
  return mergePatch(existing, patch);
}

/** Start a fake kube-apiserver on 127.0.0.1 and write its kubeconfig. Close it with `close()`. */
export async function startFakeApiServer(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const server = new FakeApiServerImpl(opts);
  await server.start();
  return server;
}
