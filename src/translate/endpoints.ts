/**
 * Endpoints of a Service port, from the Service and its EndpointSlices, as the Kubernetes API
 * documents them: ready endpoints are used; when there are none, serving-and-terminating ones.
 */
import type { Endpoint } from '../model/types.js';
import type { StoredObject } from '../store/objects.js';
import { describe, field, isRecord, own, quote } from './json.js';
import { canonicalIp } from './ip.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** How an Ingress names a Service port. */
export type PortRef = { number: number } | { name: string };

export function portText(p: PortRef): string {
  return 'number' in p ? String(p.number) : p.name;
}

export interface EndpointIndex {
  /** By `namespace/name`. */
  services: ReadonlyMap<string, StoredObject>;
  /** By `namespace/service`, sorted by slice name. */
  slices: ReadonlyMap<string, readonly StoredObject[]>;
}

export function indexEndpoints(services: readonly StoredObject[], slices: readonly StoredObject[]): EndpointIndex {
  const s = new Map<string, StoredObject>();
  for (const svc of services) s.set(`${svc.namespace}/${svc.name}`, svc);
  const e = new Map<string, StoredObject[]>();
  for (const slice of slices) {
    const svc = isRecord(slice.labels) ? own(slice.labels, SERVICE_NAME_LABEL) : undefined;
    if (typeof svc !== 'string' || svc === '') continue;
    const k = `${slice.namespace}/${svc}`;
    const list = e.get(k) ?? [];
    list.push(slice);
    e.set(k, list);
  }
  for (const list of e.values()) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { services: s, slices: e };
}

/** A problem in an EndpointSlice (reported on the slice). */
export interface SliceProblem {
  slice: StoredObject;
  field: string;
  message: string;
}

export interface EndpointsResult {
  /** Sorted by address then port; no duplicates. */
  endpoints: Endpoint[];
  /** Why there can be no endpoints, when that is a problem in the objects. */
  problem?: string;
  /** What to do about `problem`. */
  fix?: string;
  sliceProblems: SliceProblem[];
}

function isTcp(protocol: unknown): boolean {
  return protocol === undefined || protocol === null || protocol === 'TCP';
}

function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

function nameOf(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** `ready` nil means true, `serving` nil means the same as ready, `terminating` nil means false. */
export function conditionsOf(c: unknown): { ready: boolean; serving: boolean; terminating: boolean } {
  const r = field(c, 'ready');
  const s = field(c, 'serving');
  const t = field(c, 'terminating');
  const ready = typeof r === 'boolean' ? r : true;
  const serving = typeof s === 'boolean' ? s : ready;
  const terminating = typeof t === 'boolean' ? t : false;
  return { ready, serving, terminating };
}

export function resolveEndpoints(index: EndpointIndex, namespace: string, service: string, port: PortRef): EndpointsResult {
  const sliceProblems: SliceProblem[] = [];
  const svc = index.services.get(`${namespace}/${service}`);
  if (!svc) {
    return { endpoints: [], problem: `Service ${namespace}/${service} does not exist`, fix: 'create it, or correct the Service name', sliceProblems };
  }
  const spec = own(svc.raw, 'spec');
  const type = field(spec, 'type');
  if (type === 'ExternalName') {
    return { endpoints: [], problem: `Service ${namespace}/${service} has type ExternalName, which is not supported`, fix: 'point the Ingress at a Service with a selector or EndpointSlices', sliceProblems };
  }
  const ports = field(spec, 'ports');
  const list = Array.isArray(ports) ? ports.filter(isRecord) : [];
  const svcPort = list.find((p) =>
    'number' in port ? own(p, 'port') === port.number : typeof own(p, 'name') === 'string' && own(p, 'name') === port.name,
  );
  if (!svcPort) {
    const known = list
      .map((p) => (typeof own(p, 'name') === 'string' && own(p, 'name') !== '' ? `${String(own(p, 'port'))} (${String(own(p, 'name'))})` : String(own(p, 'port'))))
      .filter((s) => /^[0-9a-z() -]{1,40}$/.test(s));
    return {
      endpoints: [],
      problem: `Service ${namespace}/${service} has no port ${'number' in port ? port.number : `named ${quote(port.name)}`}${known.length ? ` (it has ${known.join(', ')})` : ''}`,
      fix: 'use one of its ports, or add the port to the Service',
      sliceProblems,
    };
  }
  if (!isTcp(own(svcPort, 'protocol'))) {
    return { endpoints: [], problem: `Service ${namespace}/${service} port ${portText(port)} is not TCP`, fix: 'use a TCP port', sliceProblems };
  }
  const wantName = nameOf(own(svcPort, 'name'));

  const ready = new Map<string, Endpoint>();
  const terminating = new Map<string, Endpoint>();
  for (const slice of index.slices.get(`${namespace}/${service}`) ?? []) {
    const addressType = own(slice.raw, 'addressType');
    if (addressType === 'FQDN') {
      sliceProblems.push({ slice, field: 'addressType', message: 'FQDN EndpointSlices are not supported and are ignored: use IPv4 or IPv6 endpoints' });
      continue;
    }
    if (addressType !== 'IPv4' && addressType !== 'IPv6') {
      sliceProblems.push({ slice, field: 'addressType', message: `addressType ${quote(addressType)} is not IPv4 or IPv6: this slice is ignored` });
      continue;
    }
    const slicePorts = own(slice.raw, 'ports');
    const sp = Array.isArray(slicePorts)
      ? slicePorts.find((p) => isRecord(p) && nameOf(own(p, 'name')) === wantName && isTcp(own(p, 'protocol')) && isPort(own(p, 'port')))
      : undefined;
    if (!sp) continue;
    const target = field(sp, 'port') as number;
    const eps = own(slice.raw, 'endpoints');
    if (eps === undefined || eps === null) continue;
    if (!Array.isArray(eps)) {
      sliceProblems.push({ slice, field: 'endpoints', message: `endpoints must be a list, not ${describe(eps)}: this slice is ignored` });
      continue;
    }
    eps.forEach((ep, i) => {
      const addrs = field(ep, 'addresses');
      const first: unknown = Array.isArray(addrs) ? addrs[0] : undefined;
      if (typeof first !== 'string') {
        sliceProblems.push({ slice, field: `endpoints[${i}].addresses`, message: 'endpoint has no address: it is ignored' });
        return;
      }
      const address = canonicalIp(first);
      if (address === null || !address.includes(':') !== (addressType === 'IPv4')) {
        sliceProblems.push({ slice, field: `endpoints[${i}].addresses[0]`, message: `${quote(first)} is not an ${addressType} address: this endpoint is ignored` });
        return;
      }
      const c = conditionsOf(field(ep, 'conditions'));
      const k = `${address}|${target}`;
      if (c.ready) ready.set(k, { address, port: target, state: 'ready' });
      else if (c.serving && c.terminating) terminating.set(k, { address, port: target, state: 'terminating' });
    });
  }
  const chosen = ready.size > 0 ? ready : terminating;
  const endpoints = [...chosen.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port));
  return { endpoints, sliceProblems };
}
