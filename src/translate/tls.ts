/** `spec.tls` of an Ingress: hosts, Secret names, and the Secrets resolved and checked. */
import type { StoredObject } from '../store/objects.js';
import { annotationPath, describe, isRecord, own, quote } from './json.js';
import { SUBDOMAIN_RULE, isDns1123Subdomain } from '../store/names.js';
import { parseHost } from './hosts.js';
import type { Report } from './backends.js';
import { ANNOTATION_PREFIX, type IngressSettings } from './settings.js';
import type { SecretResolver, TlsMaterial } from './secrets.js';

export interface BuiltTls {
  host: string;
  field: string;
  /** The Secret serving this host, or null for the default certificate. */
  secret: { name: string; material: TlsMaterial; version: StoredObject } | null;
}

/** A TLS host as written, before its Secret is looked up. */
export interface PendingTls {
  host: string;
  field: string;
  secretName: string | null;
  /** Index of the tls entry. */
  entry: number;
}

/** Reads `spec.tls`: each host checked like a rule host, each secretName like an object name. */
export function parseTls(tls: unknown, { error, warn }: Report): PendingTls[] {
  const pending: PendingTls[] = [];
  if (tls === undefined || tls === null) return pending;
  if (!Array.isArray(tls)) {
    error('spec.tls', `tls must be a list, not ${describe(tls)}`);
    return pending;
  }
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
      else pending.push({ host: r.value, field: `${tf}.hosts[${j}]`, secretName, entry: i });
    });
  });
  return pending;
}

/**
 * Looks up the Secret of each TLS host. Missing: a warning, and the host keeps TLS with the
 * default certificate. Invalid: an error (the Ingress is rejected). A certificate that does not
 * name an exact host is a warning.
 */
export function resolveTls(
  pending: readonly PendingTls[],
  namespace: string,
  secrets: SecretResolver,
  { error, warn }: Report,
): { tls: BuiltTls[]; secretsUsed: StoredObject[] } {
  const tls: BuiltTls[] = [];
  const secretsUsed: StoredObject[] = [];
  const reported = new Set<number>();
  for (const t of pending) {
    if (t.secretName === null) {
      tls.push({ host: t.host, field: t.field, secret: null });
      continue;
    }
    const sf = `spec.tls[${t.entry}].secretName`;
    const r = secrets.tls(namespace, t.secretName);
    const first = !reported.has(t.entry);
    reported.add(t.entry);
    if (r.status === 'missing') {
      if (first) warn(sf, `Secret ${namespace}/${t.secretName} does not exist: its hosts are served with the default certificate until it is created (check the name)`);
      tls.push({ host: t.host, field: t.field, secret: null });
    } else if (r.status === 'invalid') {
      if (first) error(sf, `Secret ${namespace}/${t.secretName} is not a valid TLS Secret (${r.reason}): fix the Secret; this Ingress is not served until then`);
    } else {
      if (!secretsUsed.includes(r.version)) secretsUsed.push(r.version);
      tls.push({ host: t.host, field: t.field, secret: { name: t.secretName, material: r.value, version: r.version } });
      if (!t.host.startsWith('*.')) {
        let covered = false;
        try {
          covered = r.value.leaf.checkHost(t.host) !== undefined;
        } catch {
          covered = false;
        }
        if (!covered) {
          warn(t.field, `the certificate in Secret ${namespace}/${t.secretName} is not valid for ${t.host}: clients will see a name mismatch; add the name to the certificate or use another Secret`);
        }
      }
    }
  }
  return { tls, secretsUsed };
}

/**
 * The CA that verifies endpoint certificates, when the settings ask for verification: from
 * `ca.crt` of the backend-ca-secret. Missing or invalid is an error (serving without the
 * verification that was asked for would be worse than not serving).
 */
export function resolveBackendCa(
  settings: IngressSettings,
  namespace: string,
  secrets: SecretResolver,
  { error }: Report,
  secretsUsed: StoredObject[],
): string | null {
  const tlsProtocol = settings.protocol === 'https' || settings.protocol === 'h2';
  if (!settings.backendTlsVerify || !tlsProtocol || settings.backendCaSecret === null) return null;
  const name = settings.backendCaSecret;
  const field = annotationPath(`${ANNOTATION_PREFIX}backend-ca-secret`);
  const r = secrets.ca(namespace, name);
  if (r.status === 'missing') {
    error(field, `Secret ${namespace}/${name} does not exist: create it with the CA certificates in ca.crt, or correct the name`);
    return null;
  }
  if (r.status === 'invalid') {
    error(field, `Secret ${namespace}/${name} cannot be used as a CA (${r.reason}): fix the Secret`);
    return null;
  }
  if (!secretsUsed.includes(r.version)) secretsUsed.push(r.version);
  return r.value.pem;
}
