/** Backend references of an Ingress (`service.name` + `service.port`) and the Backends they make. */
import type { Backend, BackendPolicy } from '../model/types.js';
import type { Diagnostic } from '../model/diagnostic.js';
import { refOf, type ObjectRef } from '../store/objects.js';
import { describe, isRecord, own, quote } from './json.js';
import { IANA_RULE, LABEL_1035_RULE, isDns1035Label, isIanaServiceName } from '../store/names.js';
import { portText, resolveEndpoints, type EndpointIndex, type PortRef } from './endpoints.js';
import type { IngressSettings } from './settings.js';

/** Where a builder reports problems in the object it reads. */
export interface Report {
  error(field: string, message: string): void;
  warn(field: string, message: string): void;
}

export interface BackendRef {
  service: string;
  port: PortRef;
  /** Field path of the backend in the Ingress. */
  field: string;
}

export function parseBackendRef(v: unknown, f: string, { error }: Report): BackendRef | null {
  if (!isRecord(v)) {
    error(f, `backend must be a mapping with service.name and service.port, not ${describe(v)}`);
    return null;
  }
  if (own(v, 'resource') !== undefined) {
    error(`${f}.resource`, 'resource backends are not supported: route to a Service with service.name and service.port');
    return null;
  }
  const svc = own(v, 'service');
  if (!isRecord(svc)) {
    error(`${f}.service`, svc === undefined ? 'service is required: set service.name and service.port' : `service must be a mapping, not ${describe(svc)}`);
    return null;
  }
  const name = own(svc, 'name');
  let ok = true;
  if (!isDns1035Label(name)) {
    error(`${f}.service.name`, name === undefined ? 'service.name is required: name the Service to route to' : `${quote(name)} is not a valid Service name: use ${LABEL_1035_RULE}`);
    ok = false;
  }
  const port = own(svc, 'port');
  let portRef: PortRef | null = null;
  if (!isRecord(port)) {
    error(`${f}.service.port`, port === undefined ? 'service.port is required: set service.port.number or service.port.name' : `service.port must be a mapping with number or name, not ${describe(port)}`);
  } else {
    const num = own(port, 'number');
    const pname = own(port, 'name');
    const hasNum = num !== undefined && num !== null;
    const hasName = pname !== undefined && pname !== null && pname !== '';
    if (hasNum && hasName) error(`${f}.service.port`, 'service.port has both number and name: keep only one of them');
    else if (hasNum) {
      if (typeof num === 'number' && Number.isInteger(num) && num >= 1 && num <= 65535) portRef = { number: num };
      else error(`${f}.service.port.number`, `${quote(num)} is not a port number: use a whole number from 1 to 65535`);
    } else if (hasName) {
      if (isIanaServiceName(pname)) portRef = { name: pname };
      else error(`${f}.service.port.name`, `${quote(pname)} is not a valid port name: use ${IANA_RULE}`);
    } else error(`${f}.service.port`, 'service.port needs number or name: set the Service port to route to');
  }
  if (!ok || !portRef) return null;
  return { service: name as string, port: portRef, field: f };
}

/** `<namespace>_<ingress>_<service>_<port>`: every part was checked to be [a-z0-9.-]. */
export function backendNameOf(namespace: string, ingress: string, b: BackendRef): string {
  return `${namespace}_${ingress}_${b.service}_${portText(b.port)}`;
}

/**
 * One Backend per (service, port as written) of an Ingress, sorted by name, with its endpoints.
 * A missing Service or port is a warning: only that backend answers 503.
 */
export function buildBackends(
  refs: readonly BackendRef[],
  namespace: string,
  ingress: string,
  source: ObjectRef,
  settings: IngressSettings,
  caPem: string | null,
  endpoints: EndpointIndex,
  { warn }: Report,
  others: Diagnostic[],
): Backend[] {
  const backends = new Map<string, Backend>();
  for (const b of refs) {
    const name = backendNameOf(namespace, ingress, b);
    if (backends.has(name)) continue;
    const r = resolveEndpoints(endpoints, namespace, b.service, b.port);
    for (const sp of r.sliceProblems) others.push({ severity: 'warning', object: refOf(sp.slice), field: sp.field, message: sp.message });
    const backend: Backend = {
      name,
      service: { namespace, name: b.service, port: portText(b.port) },
      source,
      endpoints: r.endpoints,
      policy: policyOf(settings, caPem),
    };
    if (r.problem !== undefined) {
      backend.problem = r.problem;
      warn(`${b.field}.service`, `${r.problem}: requests to this backend get 503 until it is fixed; ${r.fix ?? 'fix the Service'}`);
    }
    backends.set(name, backend);
  }
  return [...backends.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function policyOf(s: IngressSettings, caPem: string | null): BackendPolicy {
  const tlsProtocol = s.protocol === 'https' || s.protocol === 'h2';
  return {
    balance: { ...s.balance },
    affinityCookie: s.sessionAffinity === 'cookie' ? s.sessionCookieName : null,
    protocol: s.protocol,
    upstreamTls: s.backendTlsVerify && tlsProtocol && caPem !== null ? { caPem, serverName: s.backendTlsServerName } : null,
    serverTimeoutMs: s.serverTimeoutMs,
    connectTimeoutMs: s.connectTimeoutMs,
    allowSourceRanges: [...s.allowSourceRanges],
    denySourceRanges: [...s.denySourceRanges],
    rateLimitRps: s.rateLimitRps,
    maxBodyBytes: s.maxBodyBytes,
    hsts: s.hsts ? { maxAgeSeconds: s.hstsMaxAgeSeconds, includeSubdomains: s.hstsIncludeSubdomains, preload: s.hstsPreload } : null,
  };
}
