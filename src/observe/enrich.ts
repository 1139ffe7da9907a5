import { randomUUID } from 'node:crypto';
import { NOT_FOUND_BACKEND } from '../haproxy/render.js';
import { parseRouteValue } from '../haproxy/maps.js';
import type { Backend } from '../model/types.js';
import type { StoredObject } from '../store/objects.js';
import type { Flow, Verdict } from './flow.js';
import type { ConnectionErrorLog, FlowLog, RequestLog } from './log-format.js';

/** What a log line is read against: the model being served, the pods by IP, the TLS offload state. */
export interface FlowContext {
  backends: ReadonlyMap<string, Backend>;
  pods: ReadonlyMap<string, { namespace: string; name: string }>;
  /** TLS private-key work is done by an accelerator now (crypto/). */
  offloaded: boolean;
}

/**
 * Pod addresses from EndpointSlices (endpoints whose targetRef is a Pod): who an in-cluster client is.
 * An address that two different pods claim names neither: host-network pods all have their node's
 * address (and so does traffic SNATed on that node), and a flow must not name a pod it may not be from.
 */
export function podsByAddress(objects: readonly StoredObject[]): Map<string, { namespace: string; name: string }> {
  const pods = new Map<string, { namespace: string; name: string }>();
  const shared = new Set<string>();
  for (const o of objects) {
    if (o.kind !== 'EndpointSlice' || !Array.isArray(o.raw['endpoints'])) continue;
    for (const ep of o.raw['endpoints'] as unknown[]) {
      if (typeof ep !== 'object' || ep === null) continue;
      const { addresses, targetRef } = ep as { addresses?: unknown; targetRef?: { kind?: unknown; name?: unknown; namespace?: unknown } };
      if (!Array.isArray(addresses) || targetRef?.kind !== 'Pod' || typeof targetRef.name !== 'string') continue;
      const namespace = typeof targetRef.namespace === 'string' ? targetRef.namespace : o.namespace;
      for (const a of addresses) {
        if (typeof a !== 'string') continue;
        const key = a.toLowerCase();
        const known = pods.get(key);
        if (known && (known.namespace !== namespace || known.name !== targetRef.name)) shared.add(key);
        else pods.set(key, { namespace, name: targetRef.name });
      }
    }
  }
  for (const key of shared) pods.delete(key);
  return pods;
}

export function toFlow(log: FlowLog, ctx: FlowContext): Flow {
  return log.type === 'request' ? requestFlow(log, ctx) : connectionErrorFlow(log, ctx);
}

function source(ip: string, port: number, ctx: FlowContext): Flow['source'] {
  const pod = ctx.pods.get(ip.toLowerCase());
  return pod ? { ip, port, namespace: pod.namespace, pod: pod.name } : { ip, port };
}

const step = (ms: number): number | null => (ms >= 0 ? ms : null);

function requestFlow(log: RequestLog, ctx: FlowContext): Flow {
  const route = log.route ? parseRouteValue(log.route) : undefined;
  const backend = ctx.backends.get(log.backend) ?? (route ? ctx.backends.get(route.backend) : undefined);
  const { verdict, reason } = judge(log);
  const flow: Flow = {
    time: new Date(log.timeMs).toISOString(),
    id: log.id || randomUUID(),
    verdict,
    ...(reason ? { reason } : {}),
    source: source(log.clientIp, log.clientPort, ctx),
    ...(backend ? { ingress: { namespace: backend.source.namespace, name: backend.source.name } } : {}),
    ...(log.host ? { host: log.host } : {}),
    ...(route ? { rule: route.rule } : {}),
    ...(backend ? { service: { ...backend.service } } : {}),
    ...(log.server && log.serverIp && log.serverPort > 0 ? { endpoint: { address: log.serverIp, port: log.serverPort } } : {}),
    http: { method: log.method, path: log.path, status: log.status, bytesIn: log.bytesIn, bytesOut: log.bytesOut },
    timings: {
      tlsHandshakeMs: log.tls && log.firstOfConnection ? step(log.timings.Th) : null,
      queueMs: step(log.timings.Tw),
      connectMs: step(log.timings.Tc),
      responseMs: step(log.timings.Tr),
      totalMs: step(log.timings.Ta),
    },
    termination: log.termination,
  };
  if (log.tls) {
    flow.tls = {
      version: log.tlsVersion ?? '',
      cipher: log.tlsCipher ?? '',
      sni: log.sni ?? '',
      resumed: log.resumed,
      offloaded: ctx.offloaded && log.firstOfConnection && !log.resumed,
    };
  }
  return flow;
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
    time: new Date(log.timeMs).toISOString(),
    id: randomUUID(),
    verdict: 'ERROR',
    reason: log.tlsError ? 'tls-handshake' : 'connection-error',
    detail: log.tlsError ? `${log.error}: ${log.tlsError}` : log.error,
    source: source(log.clientIp, log.clientPort, ctx),
    timings: { tlsHandshakeMs: null, queueMs: null, connectMs: null, responseMs: null, totalMs: null },
    ...(log.tlsVersion || log.sni ? { tls: { version: log.tlsVersion ?? '', cipher: '', sni: log.sni ?? '', resumed: false, offloaded: false } } : {}),
  };
}
