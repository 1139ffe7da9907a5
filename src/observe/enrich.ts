import { randomUUID } from 'node:crypto';
import { NOT_FOUND_BACKEND } from '../haproxy/render.js';
import { parseRouteValue } from '../haproxy/maps.js';
import type { Backend } from '../model/types.js';
import type { StoredObject } from '../store/objects.js';
import type { Flow, Verdict } from './flow.js';
import { parseFlowLog, type ConnectionErrorLog, type FlowLog, type RequestLog } from './log-format.js';

type Pod = Readonly<{ namespace: string; name: string }>;
type Rule = Readonly<NonNullable<Flow['rule']>>;

/** The Ingress and Service a flow through one backend names: made once per backend and apply, shared by its flows. */
export interface Served {
  ingress: Readonly<{ namespace: string; name: string }>;
  service: Readonly<{ namespace: string; name: string; port: string }>;
}

/** What a route value (`txn.route`) names: its rule, and the backend's Ingress and Service when the model has it. */
interface RouteInfo {
  rule: Rule;
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
  pods: ReadonlyMap<string, Pod>;
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

/**
 * Pod addresses from EndpointSlices (endpoints whose targetRef is a Pod): who an in-cluster client is.
 * An address that two different pods claim names neither: host-network pods all have their node's
 * address (and so does traffic SNATed on that node), and a flow must not name a pod it may not be from.
 */
export function podsByAddress(objects: readonly StoredObject[]): Map<string, Pod> {
  const pods = new Map<string, Pod>();
  const shared = new Set<string>();
  for (const o of objects) {
    if (o.kind !== 'EndpointSlice' || !Array.isArray(o.raw['endpoints'])) continue;
    for (const ep of o.raw['endpoints'] as unknown[]) {
      if (typeof ep !== 'object' || ep === null) continue;
      const { addresses, targetRef } = ep as { addresses?: unknown; targetRef?: { kind?: unknown; name?: unknown; namespace?: unknown } };
      if (!Array.isArray(addresses) || targetRef?.kind !== 'Pod' || typeof targetRef.name !== 'string') continue;
      const pod = Object.freeze({ namespace: typeof targetRef.namespace === 'string' ? targetRef.namespace : o.namespace, name: targetRef.name });
      for (const a of addresses) {
        if (typeof a !== 'string') continue;
        const key = a.toLowerCase();
        const known = pods.get(key);
        if (known && (known.namespace !== pod.namespace || known.name !== pod.name)) shared.add(key);
        else pods.set(key, pod);
      }
    }
  }
  for (const key of shared) pods.delete(key);
  return pods;
}

/**
 * What the gateway adds to a log line: looked up when the line comes, in the model being served then
 * (it may have changed by the time the flow is read).
 */
export interface Added {
  verdict: Verdict;
  reason: string | undefined;
  /** The Ingress and Service of the backend. */
  served: Served | undefined;
  rule: Rule | undefined;
  /** The client's pod. */
  pod: Pod | undefined;
  /** TLS private-key work was offloaded at the time. */
  offloaded: boolean;
  /** The flow's id when the line has none (a failed handshake): made once, so that every read of the flow has the same. */
  id: string | undefined;
}

/**
 * A flow as the ring keeps it: the log line and what the gateway added to it. The Flow itself, a dozen
 * objects, is made by toFlow() when it is read (and for followers, as it comes), so that the ring holds
 * three objects per flow and the garbage collector has far less to move and mark.
 */
export class KeptFlow {
  constructor(
    private readonly line: string,
    readonly added: Added,
  ) {}

  toFlow(): Flow {
    const log = parseFlowLog(this.line);
    if (!log) throw new Error(`flow log: a line read before is not a flow now: ${this.line.slice(0, 200)}`);
    return toFlow(log, this.added);
  }
}

/** The lookups of a line, done as it comes: what toFlow() will add to it. */
export function addTo(log: FlowLog, ctx: FlowContext): Added {
  const pod = ctx.pods.size > 0 ? ctx.pods.get(log.clientIp.toLowerCase()) : undefined;
  if (log.type === 'connection-error') {
    return { verdict: 'ERROR', reason: log.tlsError ? 'tls-handshake' : 'connection-error', served: undefined, rule: undefined, pod, offloaded: false, id: randomUUID() };
  }
  const info = log.route === undefined ? undefined : route(log.route, ctx);
  const { verdict, reason } = judge(log);
  return { verdict, reason, served: ctx.backends.get(log.backend) ?? info?.served, rule: info?.rule, pod, offloaded: ctx.offloaded, id: log.id ? undefined : randomUUID() };
}

/** The flow of a line, from what was added to it. Pure. */
export function toFlow(log: FlowLog, added: Added): Flow {
  return log.type === 'request' ? requestFlow(log, added) : connectionErrorFlow(log, added);
}

function source(ip: string, port: number, pod: Pod | undefined): Flow['source'] {
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
function requestFlow(log: RequestLog, added: Added): Flow {
  const { served } = added;
  return {
    time: isoTime(log.timeMs),
    id: log.id || added.id || '',
    verdict: added.verdict,
    reason: added.reason,
    source: source(log.clientIp, log.clientPort, added.pod),
    ingress: served?.ingress,
    host: log.host,
    rule: added.rule,
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
          offloaded: added.offloaded && log.firstOfConnection && !log.resumed,
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

function connectionErrorFlow(log: ConnectionErrorLog, added: Added): Flow {
  return {
    time: isoTime(log.timeMs),
    id: added.id ?? '',
    verdict: added.verdict,
    reason: added.reason,
    detail: log.tlsError ? `${log.error}: ${log.tlsError}` : log.error,
    source: source(log.clientIp, log.clientPort, added.pod),
    timings: { tlsHandshakeMs: null, queueMs: null, connectMs: null, responseMs: null, totalMs: null },
    ...(log.tlsVersion || log.sni ? { tls: { version: log.tlsVersion ?? '', cipher: '', sni: log.sni ?? '', resumed: false, offloaded: false } } : {}),
  };
}
