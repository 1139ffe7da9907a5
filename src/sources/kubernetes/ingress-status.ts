/**
 * Ingress status: `status.loadBalancer.ingress` lists where the gateway can be reached, on every
 * Ingress it serves, and is removed from Ingresses it no longer serves. Only the leader calls this.
 * The comparison is pure (statusChanges); writes are merge patches of the status subresource.
 */
import { CoreV1Api, NetworkingV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Log } from '../../haproxy/dataplane.js';
import { objectKey, type StoredObject } from '../../store/objects.js';
import { isIP } from 'node:net';
import { isRecord } from '../../translate/json.js';

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
}

export interface Publish {
  /** --publish-service: the Service whose load-balancer addresses are published. */
  service?: { namespace: string; name: string };
  /** --publish-address: fixed addresses (IPs or host names). */
  addresses: readonly string[];
}

export interface StatusChange {
  ingress: StoredObject;
  /** The new list; [] removes our addresses. */
  addresses: LoadBalancerIngress[];
}

/** The status addresses an Ingress carries now, in the canonical form. */
export function currentAddresses(ingress: StoredObject): LoadBalancerIngress[] {
  const status = ingress.raw['status'];
  const lb = isRecord(status) ? status['loadBalancer'] : undefined;
  const list = isRecord(lb) ? lb['ingress'] : undefined;
  if (!Array.isArray(list)) return [];
  return canonical(
    list.filter(isRecord).map((e) => {
      const out: LoadBalancerIngress = {};
      if (typeof e['ip'] === 'string') out.ip = e['ip'];
      if (typeof e['hostname'] === 'string') out.hostname = e['hostname'];
      return out;
    }),
  );
}

/** Sorted, without duplicates: two lists with the same addresses compare equal. */
export function canonical(list: readonly LoadBalancerIngress[]): LoadBalancerIngress[] {
  const seen = new Map<string, LoadBalancerIngress>();
  for (const e of list) seen.set(`${e.ip ?? ''}|${e.hostname ?? ''}`, e);
  return [...seen.keys()].sort().map((k) => seen.get(k)!);
}

function same(a: readonly LoadBalancerIngress[], b: readonly LoadBalancerIngress[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * What to write: our addresses on every served Ingress that does not show them yet, and an empty
 * list on Ingresses we do not serve that show exactly our addresses (we published them before).
 */
export function statusChanges(ingresses: readonly StoredObject[], served: ReadonlySet<string>, addresses: readonly LoadBalancerIngress[]): StatusChange[] {
  const want = canonical(addresses);
  const changes: StatusChange[] = [];
  if (want.length === 0) return changes;
  for (const ing of ingresses) {
    if (ing.kind !== 'Ingress') continue;
    const now = currentAddresses(ing);
    if (served.has(objectKey(ing))) {
      if (!same(now, want)) changes.push({ ingress: ing, addresses: want });
    } else if (same(now, want)) {
      changes.push({ ingress: ing, addresses: [] });
    }
  }
  return changes;
}

/** An address as a status entry: an IP is an ip, anything else a hostname. */
export function addressEntry(address: string): LoadBalancerIngress {
  return isIP(address) ? { ip: address } : { hostname: address };
}

export class IngressStatusWriter {
  readonly #core: CoreV1Api;
  readonly #networking: NetworkingV1Api;

  constructor(kc: KubeConfig, private readonly publish: Publish, private readonly log: Log) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#networking = kc.makeApiClient(NetworkingV1Api);
  }

  /** The addresses to publish now; null when they cannot be known (the Service cannot be read). */
  async addresses(): Promise<LoadBalancerIngress[] | null> {
    if (this.publish.addresses.length > 0) return this.publish.addresses.map(addressEntry);
    const ref = this.publish.service;
    if (!ref) return [];
    try {
      const svc = await this.#core.readNamespacedService({ namespace: ref.namespace, name: ref.name });
      const fromLb: LoadBalancerIngress[] = [];
      for (const e of svc.status?.loadBalancer?.ingress ?? []) {
        if (e.ip) fromLb.push({ ip: e.ip });
        else if (e.hostname) fromLb.push({ hostname: e.hostname });
      }
      if (fromLb.length > 0) return fromLb;
      return (svc.spec?.externalIPs ?? []).map((ip) => ({ ip }));
    } catch (err) {
      this.log('warn', `--publish-service ${ref.namespace}/${ref.name} could not be read, so Ingress status is left as it is: ${err instanceof Error ? err.message : String(err)}`);
      return null;
    }
  }

  /** Brings the status of every Ingress in `ingresses` in line; returns how many were written. */
  async update(ingresses: readonly StoredObject[], served: ReadonlySet<string>): Promise<number> {
    const addresses = await this.addresses();
    if (addresses === null) return 0;
    let written = 0;
    for (const change of statusChanges(ingresses, served, addresses)) {
      const { namespace, name } = change.ingress;
      const body = { status: { loadBalancer: { ingress: change.addresses.length > 0 ? change.addresses : null } } };
      try {
        await this.#networking.patchNamespacedIngressStatus({ namespace, name, body }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
        written++;
      } catch (err) {
        this.log('warn', `writing the status of Ingress ${namespace}/${name} failed (tried again on the next change): ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return written;
  }
}
