/**
 * The translator: every object in the store → the gateway Model and Diagnostics. Pure: the same
 * input gives a deep-equal output, whatever the order of the objects.
 */
import type { Backend, Certificate, Model, Route } from '../model/types.js';
import type { Diagnostic } from '../model/diagnostic.js';
import { KINDS, displayName, objectKey, refOf, type Kind, type StoredObject } from '../store/objects.js';
import { isRecord, stableStringify } from './json.js';
import { isDns1123Label, isDns1123Subdomain } from '../store/names.js';
import { indexClasses, isOurs } from './ingressclass.js';
import { indexEndpoints } from './endpoints.js';
import { FALLBACK_MESSAGE, SecretResolver } from './secrets.js';
import { parseConfigMap, type SettingContext } from './settings.js';
import { buildIngress, routeText, type BuiltIngress, type BuiltRoute } from './ingress.js';
import { normaliseDiagnostics } from './diagnostics.js';

export interface TranslateInput {
  /** Everything in the store, any kinds, any order. */
  objects: readonly StoredObject[];
  /** --ingress-class. */
  ingressClass: string;
  /** The settings ConfigMap; without a namespace, the one of that name in any namespace. */
  configMap: { namespace?: string; name: string };
  /** For certificate expiry. */
  now: Date;
  /** By objectKey(): the last version of each Ingress/Secret that was accepted. */
  lastAccepted?: ReadonlyMap<string, StoredObject>;
  /** Setting defaults from flags, and what the HAProxy binary can do. */
  settings?: SettingContext;
}

export interface TranslateResult {
  model: Model;
  diagnostics: Diagnostic[];
  /** By objectKey(): the versions of Ingresses and Secrets used (the next lastAccepted). */
  accepted: Map<string, StoredObject>;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Objects a source could hand over broken (not the user's fields, the envelope) are skipped. */
function wellFormed(o: unknown): o is StoredObject {
  if (!isRecord(o)) return false;
  const kind = o['kind'];
  return (
    typeof kind === 'string' &&
    Object.prototype.hasOwnProperty.call(KINDS, kind) &&
    typeof o['namespace'] === 'string' &&
    typeof o['name'] === 'string' &&
    isRecord(o['raw'])
  );
}

function originText(o: StoredObject): string {
  return o.origin ? `${o.origin.file}:${o.origin.line}` : 'another source';
}

/** Objects by kind, one per key. Duplicates: the first by origin, then content, is used; the others get a warning. */
function collect(objects: readonly StoredObject[], diags: Diagnostic[]): Map<Kind, StoredObject[]> {
  const byKey = new Map<string, StoredObject[]>();
  for (const o of objects) {
    if (!wellFormed(o)) continue;
    const k = objectKey(o);
    const list = byKey.get(k);
    if (list) list.push(o);
    else byKey.set(k, [o]);
  }
  const byKind = new Map<Kind, StoredObject[]>();
  for (const kind of Object.keys(KINDS) as Kind[]) byKind.set(kind, []);
  for (const k of [...byKey.keys()].sort()) {
    const list = byKey.get(k)!;
    if (list.length > 1) {
      const keyed = list.map((o) => ({ o, s: `${o.origin?.file ?? ''}\n${String(o.origin?.line ?? 0).padStart(12, '0')}\n${stableStringify(o)}` }));
      keyed.sort((a, b) => cmp(a.s, b.s));
      list.splice(0, list.length, ...keyed.map((x) => x.o));
      for (const dup of list.slice(1)) {
        diags.push({
          severity: 'warning',
          object: refOf(dup),
          field: 'metadata.name',
          message: `${dup.kind} ${displayName(dup)} is defined more than once; the one from ${originText(list[0]!)} is used and this one is ignored: remove the duplicate`,
        });
      }
    }
    byKind.get(list[0]!.kind)!.push(list[0]!);
  }
  return byKind;
}

function pickConfigMap(maps: readonly StoredObject[], want: TranslateInput['configMap'], diags: Diagnostic[]): StoredObject | undefined {
  const candidates = maps
    .filter((m) => m.name === want.name && (want.namespace === undefined || m.namespace === want.namespace))
    .filter((m) => {
      if (isDns1123Label(m.namespace) && isDns1123Subdomain(m.name)) return true;
      diags.push({ severity: 'error', object: refOf(m), field: isDns1123Label(m.namespace) ? 'metadata.name' : 'metadata.namespace', message: 'the ConfigMap\'s namespace or name is not a valid Kubernetes name: it is ignored and the built-in settings apply' });
      return false;
    })
    .sort((a, b) => cmp(a.namespace, b.namespace));
  const used = candidates[0];
  for (const other of candidates.slice(1)) {
    diags.push({
      severity: 'warning',
      object: refOf(other),
      field: 'metadata.namespace',
      message: `the settings ConfigMap ${displayName(used!)} is used and this one is ignored: keep a single ConfigMap named ${want.name}, or name its namespace in the gateway's options`,
    });
  }
  return used;
}

/** Oldest first; no timestamp = newest; ties by namespace, then name. */
function compareAge(a: BuiltIngress, b: BuiltIngress): number {
  if (a.created !== b.created) {
    if (a.created === null) return 1;
    if (b.created === null) return -1;
    return a.created - b.created;
  }
  return cmp(a.object.namespace, b.object.namespace) || cmp(a.object.name, b.object.name);
}

function whyWins(winner: BuiltIngress, loser: BuiltIngress): string {
  if (winner.created !== null && (loser.created === null || winner.created < loser.created)) return 'is older';
  return 'is as old and comes first by namespace and name';
}

export function translate(input: TranslateInput): TranslateResult {
  const diags: Diagnostic[] = [];
  const objects = Array.isArray(input.objects) ? input.objects : [];
  const byKind = collect(objects, diags);

  const cm = pickConfigMap(byKind.get('ConfigMap')!, input.configMap, diags);
  const { settings, problems } = parseConfigMap(cm, input.settings);
  if (cm) for (const p of problems) diags.push({ severity: p.severity, object: refOf(cm), field: p.field, message: p.message });

  const classes = indexClasses(byKind.get('IngressClass')!);
  const endpoints = indexEndpoints(byKind.get('Service')!, byKind.get('EndpointSlice')!);
  const secretMap = new Map(byKind.get('Secret')!.map((s) => [objectKey(s), s]));
  const { crypto } = settings.global;
  const secrets = new SecretResolver(secretMap, input.lastAccepted, input.now, { tpmKeys: crypto.offload === 'required' && crypto.providers.includes('tpm2') });
  const ctx = { defaults: settings.ingress, endpoints, secrets };

  const built: BuiltIngress[] = [];
  for (const ing of byKind.get('Ingress')!) {
    if (!isOurs(ing, classes, input.ingressClass)) continue;
    const r = buildIngress(ing, ctx);
    diags.push(...r.diagnostics, ...r.others);
    if (r.ok) {
      built.push(r.ingress);
      continue;
    }
    const last = input.lastAccepted?.get(objectKey(ing));
    if (!last || last === ing || !wellFormed(last) || objectKey(last) !== objectKey(ing) || !isOurs(last, classes, input.ingressClass)) continue;
    const r2 = buildIngress(last, ctx);
    diags.push(...r2.others);
    if (r2.ok) {
      built.push(r2.ingress);
      diags.push({ severity: 'warning', object: refOf(ing), field: '', message: FALLBACK_MESSAGE });
    }
  }
  diags.push(...secrets.diagnostics());

  const model = assemble(built, settings.global, diags);

  const used = new Map<string, StoredObject>();
  for (const b of built) {
    used.set(objectKey(b.object), b.object);
    for (const s of b.secretsUsed) {
      const k = objectKey(s);
      const prior = used.get(k);
      // One Secret checked for two uses may pass one with the current version and the other only
      // with the last one: keep the current version then.
      if (prior && prior !== s && prior === secretMap.get(k)) continue;
      used.set(k, s);
    }
  }
  const accepted = new Map([...used.keys()].sort().map((k) => [k, used.get(k)!]));
  return { model, diagnostics: normaliseDiagnostics(diags), accepted };
}

/** Is `host` a TLS host: listed itself, or covered by a listed `*.` wildcard one label up? Never `*`. */
function isTlsHost(host: string, tlsHosts: ReadonlySet<string>): boolean {
  if (host === '*') return false;
  if (tlsHosts.has(host)) return true;
  if (host.startsWith('*.')) return false;
  const dot = host.indexOf('.');
  return dot > 0 && tlsHosts.has(`*.${host.slice(dot + 1)}`);
}

function assemble(built: readonly BuiltIngress[], global: Model['settings'], diags: Diagnostic[]): Model {
  const order = [...built].sort(compareAge);

  // Routes: the oldest Ingress wins a host + path + pathType.
  const winners = new Map<string, { route: BuiltRoute; ing: BuiltIngress }>();
  for (const ing of order) {
    for (const route of ing.routes) {
      const key = `${route.host}\n${route.pathType}\n${route.path}`;
      const w = winners.get(key);
      if (!w) {
        winners.set(key, { route, ing });
        continue;
      }
      diags.push({
        severity: 'warning',
        object: ing.ref,
        field: route.field,
        message: `${routeText(route)} is also defined by Ingress ${displayName(w.ing.object)}, which ${whyWins(w.ing, ing)} and wins: this one is not served; remove it or change its host or path`,
      });
    }
  }

  // TLS: every TLS host of every accepted Ingress redirects; a host's certificate is the oldest claim.
  const tlsHosts = new Set<string>();
  const claims = new Map<string, { secretKey: string; ing: BuiltIngress; t: BuiltIngress['tls'][number] }>();
  for (const ing of order) {
    for (const t of ing.tls) {
      tlsHosts.add(t.host);
      if (!t.secret) continue;
      const secretKey = `${ing.object.namespace}/${t.secret.name}`;
      const c = claims.get(t.host);
      if (!c) {
        claims.set(t.host, { secretKey, ing, t });
      } else if (c.secretKey !== secretKey) {
        const by = c.ing === ing ? 'an earlier tls entry of this Ingress' : `Ingress ${displayName(c.ing.object)}, which ${whyWins(c.ing, ing)}`;
        diags.push({
          severity: 'warning',
          object: ing.ref,
          field: t.field,
          message: `${t.host} already uses the certificate of Secret ${c.secretKey} (from ${by}): this Secret is not used for it; use the same Secret for this host everywhere`,
        });
      }
    }
  }
  const certs = new Map<string, Certificate>();
  for (const [host, c] of claims) {
    const s = c.t.secret!;
    let cert = certs.get(c.secretKey);
    if (!cert) {
      cert = {
        name: `${c.ing.object.namespace}_${s.name}`,
        secret: { namespace: c.ing.object.namespace, name: s.name },
        pem: s.material.pem,
        hosts: [],
        notAfter: s.material.notAfter,
      };
      certs.set(c.secretKey, cert);
    }
    cert.hosts.push(host);
  }
  for (const c of certs.values()) c.hosts.sort(cmp);

  const routes: Route[] = [];
  const usedBackends = new Map<string, Backend>();
  for (const { route, ing } of winners.values()) {
    const redirect = ing.settings.sslRedirect && isTlsHost(route.host, tlsHosts);
    routes.push({ host: route.host, path: route.path, pathType: route.pathType, backend: route.backend, redirectToHttps: redirect, source: ing.ref });
    const b = ing.backends.find((x) => x.name === route.backend);
    if (b) usedBackends.set(b.name, b);
  }
  routes.sort((a, b) => cmp(a.host, b.host) || cmp(a.pathType, b.pathType) || cmp(a.path, b.path));

  return {
    settings: { ...global },
    backends: [...usedBackends.values()].sort((a, b) => cmp(a.name, b.name)),
    routes,
    certificates: [...certs.values()].sort((a, b) => cmp(a.name, b.name)),
  };
}
