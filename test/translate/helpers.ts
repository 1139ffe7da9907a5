/** Builders for translate tests: small, valid objects by default, every field overridable. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoredObject } from '../../src/store/objects.js';
import type { Diagnostic } from '../../src/model/diagnostic.js';
import { translate, type TranslateInput, type TranslateResult } from '../../src/translate/translate.js';

export const NOW = new Date('2025-06-01T00:00:00Z');

type Meta = {
  namespace?: string;
  annotations?: Record<string, unknown>;
  labels?: Record<string, string>;
  creationTimestamp?: string;
};

function obj(kind: StoredObject['kind'], apiVersion: string, name: string, raw: Record<string, unknown>, meta: Meta = {}): StoredObject {
  const o: StoredObject = {
    kind,
    apiVersion,
    namespace: meta.namespace ?? (kind === 'IngressClass' ? '' : 'default'),
    name,
    annotations: (meta.annotations ?? {}) as Record<string, string>,
    labels: meta.labels ?? {},
    raw: { apiVersion, kind, metadata: { name }, ...raw },
  };
  if (meta.creationTimestamp !== undefined) o.creationTimestamp = meta.creationTimestamp;
  return o;
}

export function backend(service: string, port: number | string = 80): Record<string, unknown> {
  return { service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } } };
}

export function path(p: string | undefined, svc = 'web', port: number | string = 80, pathType: unknown = 'Prefix'): Record<string, unknown> {
  const o: Record<string, unknown> = { pathType, backend: backend(svc, port) };
  if (p !== undefined) o['path'] = p;
  return o;
}

export function rule(host: string | undefined, ...paths: Record<string, unknown>[]): Record<string, unknown> {
  const r: Record<string, unknown> = { http: { paths } };
  if (host !== undefined) r['host'] = host;
  return r;
}

/** An Ingress of class gatehouse. */
export function ingress(name: string, spec: Record<string, unknown>, meta: Meta = {}): StoredObject {
  return obj('Ingress', 'networking.k8s.io/v1', name, { spec: { ingressClassName: 'gatehouse', ...spec } }, meta);
}

/** An Ingress with one Prefix path to `web:80` on `host`. */
export function simpleIngress(name: string, host = 'a.example.com', meta: Meta = {}, extra: Record<string, unknown> = {}): StoredObject {
  return ingress(name, { rules: [rule(host, path('/'))], ...extra }, meta);
}

export function rawIngress(name: string, raw: Record<string, unknown>, meta: Meta = {}): StoredObject {
  return obj('Ingress', 'networking.k8s.io/v1', name, raw, meta);
}

export function ingressClass(name: string, controller: string, isDefault = false): StoredObject {
  return obj('IngressClass', 'networking.k8s.io/v1', name, { spec: { controller } }, {
    annotations: isDefault ? { 'ingressclass.kubernetes.io/is-default-class': 'true' } : {},
  });
}

export type SvcPort = { name?: string; port: number; protocol?: string };

export function service(name: string, ports: SvcPort[] = [{ port: 80 }], meta: Meta = {}, specExtra: Record<string, unknown> = {}): StoredObject {
  return obj('Service', 'v1', name, { spec: { ports, ...specExtra } }, meta);
}

export type Ep = { addresses: unknown[]; conditions?: Record<string, unknown> };

export function slice(
  name: string,
  svc: string,
  endpoints: Ep[],
  ports: { name?: string; port?: number; protocol?: string }[] = [{ port: 8080 }],
  addressType = 'IPv4',
  meta: Meta = {},
): StoredObject {
  return obj('EndpointSlice', 'discovery.k8s.io/v1', name, { addressType, ports, endpoints }, {
    ...meta,
    labels: { 'kubernetes.io/service-name': svc, ...(meta.labels ?? {}) },
  });
}

export function configMap(data: Record<string, unknown>, name = 'gatehouse', namespace = 'gatehouse-system'): StoredObject {
  return obj('ConfigMap', 'v1', name, { data }, { namespace });
}

export function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

export function tlsSecret(name: string, pair: { cert: string; key: string }, meta: Meta = {}, extra: Record<string, unknown> = {}): StoredObject {
  return obj('Secret', 'v1', name, { type: 'kubernetes.io/tls', data: { 'tls.crt': b64(pair.cert), 'tls.key': b64(pair.key) }, ...extra }, meta);
}

export function rawSecret(name: string, raw: Record<string, unknown>, meta: Meta = {}): StoredObject {
  return obj('Secret', 'v1', name, raw, meta);
}

export interface CertPair {
  cert: string;
  key: string;
}

/** A real self-signed certificate made with openssl. */
export function makeCert(cn: string, sans: string[] = [cn], days = 365, keyType: 'ec' | 'rsa' = 'ec'): CertPair {
  const dir = mkdtempSync(join(tmpdir(), 'gh-cert-'));
  try {
    const args = ['req', '-x509', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', String(days), '-subj', `/CN=${cn}`];
    if (keyType === 'ec') args.push('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256');
    else args.push('-newkey', 'rsa:2048');
    if (sans.length) args.push('-addext', `subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}`);
    execFileSync('/usr/bin/openssl', args, { stdio: 'pipe' });
    return { cert: readFileSync(join(dir, 'c.pem'), 'utf8'), key: readFileSync(join(dir, 'k.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The real date of "now" for certificates made above (openssl uses the wall clock). */
export const REAL_NOW = (): Date => new Date(Date.now());

export function run(objects: readonly StoredObject[], opts: Partial<TranslateInput> = {}): TranslateResult {
  return translate({
    objects,
    ingressClass: 'gatehouse',
    configMap: { name: 'gatehouse' },
    now: NOW,
    ...opts,
  });
}

export function errors(r: TranslateResult, name?: string): Diagnostic[] {
  return r.diagnostics.filter((d) => d.severity === 'error' && (name === undefined || d.object.name === name));
}

export function warnings(r: TranslateResult, name?: string): Diagnostic[] {
  return r.diagnostics.filter((d) => d.severity === 'warning' && (name === undefined || d.object.name === name));
}

/** The one diagnostic on `field`, failing if there is not exactly one. */
export function only(list: Diagnostic[], field: string): Diagnostic {
  const found = list.filter((d) => d.field === field);
  if (found.length !== 1) {
    throw new Error(`expected one diagnostic on ${field}, got ${found.length}: ${JSON.stringify(list, null, 1)}`);
  }
  return found[0]!;
}

export function routeKeys(r: TranslateResult): string[] {
  return r.model.routes.map((x) => `${x.host} ${x.pathType} ${x.path} -> ${x.backend}`);
}

export { rng } from '../helpers/random.js';
