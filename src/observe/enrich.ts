import { randomUUID } from 'node:crypto';
import { NOT_FOUND_BACKEND } from '../haproxy/render.js';
import { parseRouteValue } from '../haproxy/maps.js';
import type { Backend } from '../model/types.js';
import type { StoredObject } from '../store/objects.js';
import type { Flow, Verdict } from './flow.js';
import type { ConnectionErrorLog, FlowLog, RequestLog } from './log-format.js';

/** The Ingress and Service a flow through one backend names: made once per backend and apply, shared by its flows. */
interface Served {
  ingress: Readonly<{ namespace: string; name: string }>;
  service: Readonly<{ namespace: string; name: string; port: string }>;
}

/** What a route value (`txn.route`) names: its rule, and the backend's Ingress and Service when the model has it. */
interface RouteInfo {
  rule: Readonly<{ pathType: 'Exact' | 'Prefix' | 'Default'; path: string }>;
  served: Served | undefined;
}

/**
 * What a log line is read against: the model being served, the pods by IP, the TLS offload state; made
 * with flowContext() at each apply. The objects it holds are shared by every flow that names them, and
 * frozen, so that a flow costs no copy of them.
 */
export interface FlowContext {
  /** By backend name. */
  backends: ReadonlyMap<string, Served>;
  pods: ReadonlyMap<string, Readonly<{ namespace: string; name: string }>>;
  /** TLS private-key work is done by an accelerator now (crypto/). */
  offloaded: boolean;
  /** Route values already read, by value (undefined: not a route value), filled as lines come. */
  routes: Map<string, RouteInfo | undefined>;
}

/** Route values come from the rendered maps, so there are as many as routes; this bounds what damage could add. */
const MAX_ROUTE_VALUES = 10_000;

export function flowContext(backends: readonly Backend[], objects: readonly StoredObject[], offloaded: boolean): FlowContext {
  const served = new Map<string, Served>();
  for (const b of backends) {
    served.set(b.name, Object.freeze({
      ingress: Object.freeze({ namespace: b.source.namespace, name: b.source.name }),
      service: Object.freeze({ ...b.service }),
    }));
  }
  return { backends: served, pods: podsByAddress(objects), offloaded, routes: new Map() };
}

/** Pod addresses from EndpointSlices (endpoints whose targetRef is a Pod): who an in-cluster client is. */
export function podsByAddress(objects: readonly StoredObject[]): Map<string, Readonly<{ namespace: string; name: string }>> {
  const pods = new Map<string, Readonly<{ namespace: string; name: string }>>();
  for (const o of objects) {
    if (o.kind !== 'EndpointSlice' || !Array.isArray(o.raw['endpoints'])) continue;
    for (const ep of o.raw['endpoints'] as unknown[]) {
      if (typeof ep !== 'object' || ep === null) continue;
      const { addresses, targetRef } = ep as { addresses?: unknown; targetRef?: { kind?: unknown; name?: unknown; namespace?: unknown } };
      if (!Array.isArray(addresses) || targetRef?.kind !== 'Pod' || typeof targetRef.name !== 'string') continue;
      const pod = Object.freeze({ namespace: typeof targetRef.namespace === 'string' ? targetRef.namespace : o.namespace, name: targetRef.name });
      for (const a of addresses) if (typeof a === 'string') pods.set(a.toLowerCase(), pod);
    }
  }
  return pods;
}

export function toFlow(log: FlowLog, ctx: FlowContext): Flow {
  return log.type === 'request' ? requestFlow(log, ctx) : connectionErrorFlow(log, ctx);
}

function source(ip: string, port: number, ctx: FlowContext): Flow['source'] {
  const pod = ctx.pods.size > 0 ? ctx.pods.get(ip.toLowerCase()) : undefined;
  return pod ? { ip, port, namespace: pod.namespace, pod: pod.name } : { ip, port };
}

function route(value: string, ctx: FlowContext): RouteInfo | undefined {
  if (ctx.routes.has(value)) return ctx.routes.get(value);
  const parsed = parseRouteValue(value);
  const info = parsed ? { rule: Object.freeze(parsed.rule), served: ctx.backends.get(parsed.backend) } : undefined;
  if (ctx.routes.size >= MAX_ROUTE_VALUES) ctx.routes.clear();
  ctx.routes.set(value, info);
  return info;
}

/** `.000Z` to `.999Z`: the end of an ISO 8601 time. */
const MILLIS = Array.from({ length: 1000 }, (_, ms) => `${String(ms).padStart(3, '0')}Z`);
let lastSecond = NaN;
let lastSecondText = '';

/** `new Date(ms).toISOString()`, with the text up to the second kept from the last call: flows come in time order. */
export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecondText = new Date(second * 1000).toISOString().slice(0, -4);
    lastSecond = second;
  }
  return lastSecondText + MILLIS[ms - second * 1000]!;
}

const step = (ms: number): number | null => (ms >= 0 ? ms : null);

// Every flow of a request has the same keys in the same order (absent ones undefined, which JSON leaves out).
function requestFlow(log: RequestLog, ctx: FlowContext): Flow {
  const rule = log.route === undefined ? undefined : route(log.route, ctx);
  const served = ctx.backends.get(log.backend) ?? rule?.served;
  const { verdict, reason } = judge(log);
  return {
    time: isoTime(log.timeMs),
    id: log.id || randomUUID(),
    verdict,
    reason,
    source: source(log.clientIp, log.clientPort, ctx),
    ingress: served?.ingress,
    host: log.host,
    rule: rule?.rule,
    service: served?.service,
    endpoint: log.server && log.serverIp && log.serverPort > 0 ? { address: log.serverIp, port: log.serverPort } : undefined,
    http: { method: log.method, path: log.path, status: log.status, bytesIn: log.bytesIn, bytesOut: log.bytesOut },
    timings: {
      tlsHandshakeMs: log.tls && log.firstOfConnection ? step(log.timings.Th) : null,
      queueMs: step(log.timings.Tw),
      connectMs: step(log.timings.Tc),
      responseMs: step(log.timings.Tr),
      totalMs: step(log.timings.Ta),
    },
    termination: log.termination,
    tls: log.tls
      ? {
          version: log.tlsVersion ?? '',
          cipher: log.tlsCipher ?? '',
          sni: log.sni ?? '',
          resumed: log.resumed,
          offloaded: ctx.offloaded && log.firstOfConnection && !log.resumed,
        }
      : undefined,
  };
}

/** The verdict from HAProxy's termination state (its first two letters: who ended it, and when). */
export function judge(log: Pick<RequestLog, 'termination' | 'status' | 'deny' | 'backend' | 'server'>): { verdict: Verdict; reason?: string } {
  const [who = '-', when = '-'] = log.termination;
  if (log.deny && who === 'P') return { verdict: 'DENIED', reason: log.deny };
  if (log.backend === NOT_FOUND_BACKEND) return { verdict: 'ERROR', reason: 'no-route' };
  if (who === 'L' && log.status >= 300 && log.status < 400) return { verdict: 'REDIRECTED' };
  if (!log.server && log.status === 503) return { verdict: 'ERROR', reason: 'no-endpoint' };
  switch (who) {
    case '-':
    case 'L':
      return { verdict: 'FORWARDED' };
    case 'S':
      if (when === 'C') return { verdict: 'ERROR', reason: 'connect-failed' };
      return { verdict: 'ERROR', reason: when === 'H' && log.status === 502 ? 'bad-response' : 'backend-closed' };
    case 's':
      if (when === 'C') return { verdict: 'ERROR', reason: 'connect-failed' };
      if (when === 'Q') return { verdict: 'ERROR', reason: 'queue-timeout' };
      return { verdict: 'ERROR', reason: 'backend-timeout' };
    case 'c':
      return { verdict: 'ERROR', reason: when === 'Q' ? 'queue-timeout' : 'client-timeout' };
    case 'C':
      return { verdict: 'ERROR', reason: 'client-aborted' };
    default:
      return { verdict: 'ERROR', reason: 'proxy-error' };
  }
}

function connectionErrorFlow(log: ConnectionErrorLog, ctx: FlowContext): Flow {
  return {
    time: isoTime(log.timeMs),
    id: randomUUID(),
    verdict: 'ERROR',
    reason: log.tlsError ? 'tls-handshake' : 'connection-error',
    detail: log.tlsError ? `${log.error}: ${log.tlsError}` : log.error,
    source: source(log.clientIp, log.clientPort, ctx),
    timings: { tlsHandshakeMs: null, queueMs: null, connectMs: null, responseMs: null, totalMs: null },
    ...(log.tlsVersion || log.sni ? { tls: { version: log.tlsVersion ?? '', cipher: '', sni: log.sni ?? '', resumed: false, offloaded: false } } : {}),
  };
}
