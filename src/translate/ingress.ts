/**
 * One Ingress → its routes, backends and TLS hosts, checked field by field. Any error rejects the
 * whole Ingress (it contributes nothing); warnings leave it served. Conflicts between Ingresses
 * are settled later (translate.ts); conflicts inside one Ingress are settled here (first wins).
 */
import type { Backend, BackendPolicy, PathType } from '../model/types.js';
import type { Diagnostic } from '../model/diagnostic.js';
import { refOf, type ObjectRef, type StoredObject } from '../store/objects.js';
import { describe, isRecord, own, quote } from './json.js';
import {
  IANA_RULE,
  LABEL_1035_RULE,
  LABEL_RULE,
  SUBDOMAIN_RULE,
  isDns1035Label,
  isDns1123Label,
  isDns1123Subdomain,
  isIanaServiceName,
} from './names.js';
import { parseHost } from './hosts.js';
import { parsePath, parsePathType } from './paths.js';
import { ANNOTATION_PREFIX, parseAnnotations, type IngressSettings } from './settings.js';
import { annotationPath } from './json.js';
import { portText, resolveEndpoints, type EndpointIndex, type PortRef } from './endpoints.js';
import type { SecretResolver, TlsMaterial } from './secrets.js';

export interface BuiltRoute {
  host: string;
  path: string;
  pathType: PathType | 'Default';
  backend: string;
  /** Where in the Ingress it was written, for diagnostics. */
  field: string;
}

export interface BuiltTls {
  host: string;
  field: string;
  /** The Secret serving this host, or null for the default certificate. */
  secret: { name: string; material: TlsMaterial; version: StoredObject } | null;
}

export interface BuiltIngress {
  object: StoredObject;
  ref: ObjectRef;
  /** creationTimestamp in ms since the epoch, or null when absent or unreadable (= newest). */
  created: number | null;
  settings: IngressSettings;
  /** In the order written, duplicates inside the Ingress removed. */
  routes: BuiltRoute[];
  /** Sorted by name. */
  backends: Backend[];
  tls: BuiltTls[];
  /** Versions of the Secrets this Ingress uses (TLS and CA). */
  secretsUsed: StoredObject[];
}

export interface IngressContext {
  defaults: IngressSettings;
  endpoints: EndpointIndex;
  secrets: SecretResolver;
}

export type BuildResult =
  | { ok: true; ingress: BuiltIngress; diagnostics: Diagnostic[]; others: Diagnostic[] }
  | { ok: false; diagnostics: Diagnostic[]; others: Diagnostic[] };

interface BackendRef {
  service: string;
  port: PortRef;
  field: string;
}

const RFC3339 = /^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$/;

/** creationTimestamp in ms, or null if absent or not RFC 3339. */
export function parseTimestamp(v: unknown): number | null {
  if (typeof v !== 'string' || !RFC3339.test(v)) return null;
  const t = Date.parse(v.toUpperCase());
  return Number.isFinite(t) ? t : null;
}

function hostText(host: string): string {
  return host === '*' ? 'every host' : host;
}

export function routeText(r: { host: string; path: string; pathType: PathType | 'Default' }): string {
  if (r.pathType === 'Default') return `the default backend of ${hostText(r.host)}`;
  return `${r.pathType} path ${r.path} on ${hostText(r.host)}`;
}

export function buildIngress(obj: StoredObject, ctx: IngressContext): BuildResult {
  const ref = refOf(obj);
  const diagnostics: Diagnostic[] = [];
  const others: Diagnostic[] = [];
  let errors = 0;
  const error = (field: string, message: string) => {
    errors++;
    diagnostics.push({ severity: 'error', object: ref, field, message });
  };
  const warn = (field: string, message: string) => diagnostics.push({ severity: 'warning', object: ref, field, message });
  const ns = obj.namespace;

  // Names go into HAProxy identifiers: check them before anything else uses them.
  if (!isDns1123Label(ns)) error('metadata.namespace', `namespace ${quote(ns)} is not a valid namespace name: use ${LABEL_RULE}`);
  if (!isDns1123Subdomain(obj.name)) error('metadata.name', `name ${quote(obj.name)} is not a valid Ingress name: use ${SUBDOMAIN_RULE}`);
  if (errors > 0) return { ok: false, diagnostics, others };

  const created = parseTimestamp(obj.creationTimestamp);
  if (obj.creationTimestamp !== undefined && created === null) {
    warn('metadata.creationTimestamp', `${quote(obj.creationTimestamp)} is not an RFC 3339 time: this Ingress counts as the newest in conflicts; write e.g. 2024-01-31T12:00:00Z or leave it out`);
  }

  const parsed = parseAnnotations(obj.annotations, ctx.defaults);
  for (const p of parsed.problems) {
    if (p.severity === 'error') error(p.field, p.message);
    else warn(p.field, p.message);
  }
  const settings = parsed.settings;

  const spec = own(obj.raw, 'spec');
  if (!isRecord(spec)) {
    error('spec', `spec must be a mapping, not ${describe(spec)}: give the Ingress rules or a defaultBackend`);
    return { ok: false, diagnostics, others };
  }

  // Backend references.
  const parseBackend = (v: unknown, f: string): BackendRef | null => {
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
  };

  const backendRefs: BackendRef[] = [];
  type PendingRoute = { host: string; path: string; pathType: PathType | 'Default'; ref: BackendRef; field: string };
  const pending: PendingRoute[] = [];

  let defaultRef: BackendRef | null = null;
  const db = own(spec, 'defaultBackend');
  if (db !== undefined && db !== null) {
    defaultRef = parseBackend(db, 'spec.defaultBackend');
    if (defaultRef) backendRefs.push(defaultRef);
  }

  const ruleHosts: string[] = [];
  const rules = own(spec, 'rules');
  let ruleCount = 0;
  if (rules !== undefined && rules !== null && !Array.isArray(rules)) {
    error('spec.rules', `rules must be a list, not ${describe(rules)}`);
  } else if (Array.isArray(rules)) {
    ruleCount = rules.length;
    rules.forEach((rule: unknown, i: number) => {
      const rf = `spec.rules[${i}]`;
      if (!isRecord(rule)) {
        error(rf, `a rule must be a mapping with host and http, not ${describe(rule)}`);
        return;
      }
      const rawHost = own(rule, 'host');
      let host = '*';
      if (rawHost !== undefined && rawHost !== null && rawHost !== '') {
        const h = parseHost(rawHost);
        if (!h.ok) {
          error(`${rf}.host`, h.error);
          return;
        }
        host = h.value;
      }
      if (!ruleHosts.includes(host)) ruleHosts.push(host);
      const http = own(rule, 'http');
      if (http === undefined || http === null) return;
      if (!isRecord(http)) {
        error(`${rf}.http`, `http must be a mapping with paths, not ${describe(http)}`);
        return;
      }
      const paths = own(http, 'paths');
      if (!Array.isArray(paths) || paths.length === 0) {
        error(`${rf}.http.paths`, paths === undefined ? 'http.paths is required: list at least one path, or leave http out' : `http.paths must be a non-empty list, not ${describe(paths)}`);
        return;
      }
      paths.forEach((p: unknown, j: number) => {
        const pf = `${rf}.http.paths[${j}]`;
        if (!isRecord(p)) {
          error(pf, `a path must be a mapping with path, pathType and backend, not ${describe(p)}`);
          return;
        }
        const pt = parsePathType(own(p, 'pathType'));
        let path: { path: string; pathType: PathType } | null = null;
        if (!pt.ok) error(`${pf}.pathType`, pt.error);
        else {
          const r = parsePath(own(p, 'path'), pt.value);
          if (r.ok) path = r.value;
          else error(`${pf}.path`, r.error);
        }
        const bref = parseBackend(own(p, 'backend'), `${pf}.backend`);
        if (!path || !bref) return;
        backendRefs.push(bref);
        pending.push({ host, path: path.path, pathType: path.pathType, ref: bref, field: pf });
      });
    });
  }
  if (ruleCount === 0 && (db === undefined || db === null)) {
    error('spec', 'the Ingress has no rules and no defaultBackend, so it routes nothing: add spec.rules or spec.defaultBackend');
  }
  if (defaultRef) {
    for (const host of ruleCount > 0 ? ruleHosts : ['*']) {
      pending.push({ host, path: '', pathType: 'Default', ref: defaultRef, field: 'spec.defaultBackend' });
    }
  }

  // TLS.
  type PendingTls = { host: string; field: string; secretName: string | null; entry: number };
  const pendingTls: PendingTls[] = [];
  const tls = own(spec, 'tls');
  if (tls !== undefined && tls !== null && !Array.isArray(tls)) {
    error('spec.tls', `tls must be a list, not ${describe(tls)}`);
  } else if (Array.isArray(tls)) {
    tls.forEach((entry: unknown, i: number) => {
      const tf = `spec.tls[${i}]`;
      if (!isRecord(entry)) {
        error(tf, `a tls entry must be a mapping with hosts and secretName, not ${describe(entry)}`);
        return;
      }
      let secretName: string | null = null;
      const sn = own(entry, 'secretName');
      if (sn !== undefined && sn !== null && sn !== '') {
        if (isDns1123Subdomain(sn)) secretName = sn;
        else {
          error(`${tf}.secretName`, `${quote(sn)} is not a valid Secret name: use ${SUBDOMAIN_RULE}`);
          return;
        }
      }
      const hosts = own(entry, 'hosts');
      if (hosts !== undefined && hosts !== null && !Array.isArray(hosts)) {
        error(`${tf}.hosts`, `hosts must be a list of host names, not ${describe(hosts)}`);
        return;
      }
      if (!Array.isArray(hosts) || hosts.length === 0) {
        warn(`${tf}.hosts`, 'this tls entry lists no hosts, so it applies to none: list the hosts its certificate is for');
        return;
      }
      hosts.forEach((h: unknown, j: number) => {
        const r = parseHost(h);
        if (!r.ok) error(`${tf}.hosts[${j}]`, r.error);
        else pendingTls.push({ host: r.value, field: `${tf}.hosts[${j}]`, secretName, entry: i });
      });
    });
  }

  if (errors > 0) return { ok: false, diagnostics, others };

  // Secrets (after the structure is known to be good, so a broken Ingress does not report on Secrets).
  const secretsUsed: StoredObject[] = [];
  const builtTls: BuiltTls[] = [];
  const checkedEntries = new Set<number>();
  for (const t of pendingTls) {
    if (t.secretName === null) {
      builtTls.push({ host: t.host, field: t.field, secret: null });
      continue;
    }
    const sf = `spec.tls[${t.entry}].secretName`;
    const r = ctx.secrets.tls(ns, t.secretName);
    const first = !checkedEntries.has(t.entry);
    checkedEntries.add(t.entry);
    if (r.status === 'missing') {
      if (first) warn(sf, `Secret ${ns}/${t.secretName} does not exist: its hosts are served with the default certificate until it is created (check the name)`);
      builtTls.push({ host: t.host, field: t.field, secret: null });
    } else if (r.status === 'invalid') {
      if (first) error(sf, `Secret ${ns}/${t.secretName} is not a valid TLS Secret (${r.reason}): fix the Secret; this Ingress is not served until then`);
    } else {
      if (!secretsUsed.includes(r.version)) secretsUsed.push(r.version);
      builtTls.push({ host: t.host, field: t.field, secret: { name: t.secretName, material: r.value, version: r.version } });
      if (!t.host.startsWith('*.')) {
        let covered = false;
        try {
          covered = r.value.leaf.checkHost(t.host) !== undefined;
        } catch {
          covered = false;
        }
        if (!covered) warn(t.field, `the certificate in Secret ${ns}/${t.secretName} is not valid for ${t.host}: clients will see a name mismatch; add the name to the certificate or use another Secret`);
      }
    }
  }

  let caPem: string | null = null;
  const tlsProtocol = settings.protocol === 'https' || settings.protocol === 'h2';
  if (settings.backendTlsVerify && tlsProtocol && settings.backendCaSecret !== null) {
    const caField = annotationPath(`${ANNOTATION_PREFIX}backend-ca-secret`);
    const r = ctx.secrets.ca(ns, settings.backendCaSecret);
    if (r.status === 'missing') error(caField, `Secret ${ns}/${settings.backendCaSecret} does not exist: create it with the CA certificates in ca.crt, or correct the name`);
    else if (r.status === 'invalid') error(caField, `Secret ${ns}/${settings.backendCaSecret} cannot be used as a CA (${r.reason}): fix the Secret`);
    else {
      caPem = r.value.pem;
      if (!secretsUsed.includes(r.version)) secretsUsed.push(r.version);
    }
  }
  if (errors > 0) return { ok: false, diagnostics, others };

  // Backends.
  const backends = new Map<string, Backend>();
  const backendName = (b: BackendRef): string => `${ns}_${obj.name}_${b.service}_${portText(b.port)}`;
  for (const b of backendRefs) {
    const name = backendName(b);
    if (backends.has(name)) continue;
    const r = resolveEndpoints(ctx.endpoints, ns, b.service, b.port);
    for (const sp of r.sliceProblems) others.push({ severity: 'warning', object: refOf(sp.slice), field: sp.field, message: sp.message });
    const backend: Backend = {
      name,
      service: { namespace: ns, name: b.service, port: portText(b.port) },
      source: ref,
      endpoints: r.endpoints,
      policy: policyOf(settings, caPem),
    };
    if (r.problem !== undefined) {
      backend.problem = r.problem;
      warn(`${b.field}.service`, `${r.problem}: requests to this backend get 503 until it is fixed; ${r.fix ?? 'fix the Service'}`);
    }
    backends.set(name, backend);
  }

  // Routes, first one wins inside the Ingress.
  const routes: BuiltRoute[] = [];
  const seen = new Map<string, BuiltRoute>();
  for (const p of pending) {
    const key = `${p.host}\n${p.pathType}\n${p.path}`;
    const prior = seen.get(key);
    if (prior) {
      if (prior.field !== p.field) {
        warn(p.field, `${routeText(p)} is already routed by ${prior.field} of this Ingress, which wins: remove one of them`);
      }
      continue;
    }
    const route: BuiltRoute = { host: p.host, path: p.path, pathType: p.pathType, backend: backendName(p.ref), field: p.field };
    seen.set(key, route);
    routes.push(route);
  }

  return {
    ok: true,
    ingress: {
      object: obj,
      ref,
      created,
      settings,
      routes,
      backends: [...backends.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      tls: builtTls,
      secretsUsed,
    },
    diagnostics,
    others,
  };
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
