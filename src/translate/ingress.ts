/**
 * One Ingress → its routes, backends and TLS hosts, checked field by field. Any error rejects the
 * whole Ingress (it contributes nothing); warnings leave it served. Conflicts between Ingresses
 * are settled later (translate.ts); conflicts inside one Ingress are settled here (first wins).
 */
import type { Backend, PathType } from '../model/types.js';
import type { Diagnostic } from '../model/diagnostic.js';
import { refOf, type ObjectRef, type StoredObject } from '../store/objects.js';
import { describe, isRecord, own, quote } from './json.js';
import { LABEL_RULE, SUBDOMAIN_RULE, isDns1123Label, isDns1123Subdomain } from '../store/names.js';
import { parseHost } from './hosts.js';
import { parsePath, parsePathType } from './paths.js';
import { parseAnnotations, type IngressSettings } from './settings.js';
import type { EndpointIndex } from './endpoints.js';
import type { SecretResolver } from './secrets.js';
import { backendNameOf, buildBackends, parseBackendRef, type BackendRef, type Report } from './backends.js';
import { parseTls, resolveBackendCa, resolveTls, type BuiltTls } from './tls.js';

export interface BuiltRoute {
  host: string;
  path: string;
  pathType: PathType | 'Default';
  backend: string;
  /** Where in the Ingress it was written, for diagnostics. */
  field: string;
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
  const report: Report = { error, warn };
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

  const backendRefs: BackendRef[] = [];
  type PendingRoute = { host: string; path: string; pathType: PathType | 'Default'; ref: BackendRef; field: string };
  const pending: PendingRoute[] = [];

  let defaultRef: BackendRef | null = null;
  const db = own(spec, 'defaultBackend');
  if (db !== undefined && db !== null) {
    defaultRef = parseBackendRef(db, 'spec.defaultBackend', report);
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
        const bref = parseBackendRef(own(p, 'backend'), `${pf}.backend`, report);
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

  const pendingTls = parseTls(own(spec, 'tls'), report);

  if (errors > 0) return { ok: false, diagnostics, others };

  // Secrets (after the structure is known to be good, so a broken Ingress does not report on Secrets).
  const { tls: builtTls, secretsUsed } = resolveTls(pendingTls, ns, ctx.secrets, report);

  const caPem = resolveBackendCa(settings, ns, ctx.secrets, report, secretsUsed);
  if (errors > 0) return { ok: false, diagnostics, others };

  const backends = buildBackends(backendRefs, ns, obj.name, ref, settings, caPem, ctx.endpoints, report, others);
  const backendName = (b: BackendRef): string => backendNameOf(ns, obj.name, b);

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
      backends,
      tls: builtTls,
      secretsUsed,
    },
    diagnostics,
    others,
  };
}
