/**
 * What a request to the Kubernetes API asks for, read from its method, path, query and headers:
 * the verb (get, list, watch or a write), the resource, namespace and name, the selectors, and the
 * representation the client wants. Pure functions; the proxy decides what to do with the answer.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export type Verb = 'get' | 'list' | 'watch' | 'write';

/** A request for a resource (`/api/v1/...` or `/apis/{group}/{version}/...`). */
export interface ResourceRequest {
  type: 'resource';
  verb: Verb;
  /** `v1` for the core group, else `group/version`. */
  apiVersion: string;
  /** Plural, as in the URL (`pods`). */
  resource: string;
  /** Undefined for cluster-scoped resources and for collections across all namespaces. */
  namespace?: string;
  name?: string;
  /** `status`, `log`, `exec`…: only the main resource is cached. */
  subresource?: string;
  /** Normalized: requirements trimmed and sorted, so `a=1,b=2` and `b=2, a=1` are one key. */
  labelSelector: string;
  fieldSelector: string;
  /** The watch's (or list's) resourceVersion parameter, `''` when absent. */
  resourceVersion: string;
  /** `timeoutSeconds` of a watch, when given. */
  timeoutSeconds?: number;
  sendInitialEvents: boolean;
  allowWatchBookmarks: boolean;
  /** A page after the first (`continue` is set). */
  continueToken: string;
  limit?: number;
}

/** Any other GET: discovery (`/api`, `/apis/...`), `/version`, OpenAPI. Cached as opaque answers. */
export interface OtherRequest {
  type: 'other';
  verb: 'get' | 'write';
  /** Path and sorted query: the cache key. */
  target: string;
}

export type ApiRequest = ResourceRequest | OtherRequest;

const truthy = (v: string | null): boolean => v === 'true' || v === '1';

/** Splits on commas outside parentheses (`a in (x,y),b` → `a in (x,y)`, `b`), trims, sorts. */
export function normalizeSelector(selector: string): string {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => p.trim().replace(/\s+/g, ' ')).filter((p) => p !== '').sort().join(',');
}

/** Reads a request's method and URL (path with query, as sent). */
export function parseApiRequest(method: string, url: string): ApiRequest {
  const u = new URL(url, 'http://edge-hub.invalid');
  const isRead = method === 'GET' || method === 'HEAD';
  const parts = u.pathname.split('/').filter((p) => p !== '').map((p) => decodeURIComponent(p));
  let apiVersion: string | undefined;
  let rest: string[] = [];
  if (parts[0] === 'api' && parts.length >= 3) [apiVersion, rest] = [parts[1]!, parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length >= 4) [apiVersion, rest] = [`${parts[1]}/${parts[2]}`, parts.slice(3)];
  // Legacy watch paths (`/api/v1/watch/...`) are forwarded but never cached.
  if (apiVersion === undefined || rest[0] === 'watch') {
    const query = [...u.searchParams.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const target = u.pathname + (query.length ? `?${new URLSearchParams(query).toString()}` : '');
    return { type: 'other', verb: isRead ? 'get' : 'write', target };
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) [namespace, rest] = [rest[1], rest.slice(2)];
  const [resource = '', name, ...sub] = rest;
  const q = u.searchParams;
  const watch = truthy(q.get('watch'));
  const verb: Verb = !isRead ? 'write' : name !== undefined ? 'get' : watch ? 'watch' : 'list';
  const timeout = Number(q.get('timeoutSeconds') ?? NaN);
  const limit = Number(q.get('limit') ?? NaN);
  return {
    type: 'resource',
    verb,
    apiVersion,
    resource,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(sub.length ? { subresource: sub.join('/') } : {}),
    labelSelector: normalizeSelector(q.get('labelSelector') ?? ''),
    fieldSelector: normalizeSelector(q.get('fieldSelector') ?? ''),
    resourceVersion: q.get('resourceVersion') ?? '',
    ...(Number.isFinite(timeout) && timeout > 0 ? { timeoutSeconds: timeout } : {}),
    sendInitialEvents: truthy(q.get('sendInitialEvents')),
    allowWatchBookmarks: truthy(q.get('allowWatchBookmarks')),
    continueToken: q.get('continue') ?? '',
    ...(Number.isFinite(limit) && limit > 0 ? { limit } : {}),
  };
}

/**
 * Who is asking: a hash of everything that decides what the API server answers — the credentials
 * and any impersonation headers. Requests without credentials share the identity `anonymous`.
 */
export function identityOf(headers: IncomingHttpHeaders): string {
  const parts: string[] = [];
  if (headers.authorization) parts.push(`authorization:${headers.authorization}`);
  for (const [k, v] of Object.entries(headers).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (k.startsWith('impersonate-')) parts.push(`${k}:${Array.isArray(v) ? v.join(',') : String(v)}`);
  }
  if (parts.length === 0) return 'anonymous';
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}

/**
 * The representation a client accepts for a cacheable answer. `json`: plain objects (negotiated to
 * `application/json` when the client also accepts JSON, e.g. protobuf clients sending `*\/*`).
 * `table`: server-side printing (`kubectl get`), cached as it came. Undefined: not cacheable (a
 * client that accepts protobuf only, or a partial-object metadata answer).
 */
export function representationOf(accept: string | undefined): 'json' | 'table' | undefined {
  const types = (accept ?? '*/*').split(',').map((t) => t.trim().toLowerCase());
  if (types.some((t) => t.includes('as=table'))) return 'table';
  if (types.some((t) => t.includes('as=partialobjectmetadata'))) return undefined;
  if (types.some((t) => t === '' || t.startsWith('application/json') || t.startsWith('*/*') || t.startsWith('application/*'))) return 'json';
  return undefined;
}
