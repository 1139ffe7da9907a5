import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCert } from '../../test/helpers/certs.js';
import { ingress, service, tlsSecret, yamlOf } from '../../test/helpers/manifests.js';
import type { CertFiles } from './servers.js';

/** The host name every benchmark routes (and presents in SNI). */
export const HOST = 'bench.local';

export type KeyType = 'rsa' | 'ec';

/** A self-signed certificate for HOST, written to a new temp dir (0600) for nginx and HAProxy. */
export function certFiles(type: KeyType): CertFiles & { certText: string; keyText: string } {
  const c = makeCert([HOST], { type, days: 30 });
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-cert-'));
  const files = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), pem: join(dir, 'both.pem') };
  writeFileSync(files.cert, c.cert, { mode: 0o600 });
  writeFileSync(files.key, c.key, { mode: 0o600 });
  writeFileSync(files.pem, c.pem, { mode: 0o600 });
  return { ...files, certText: c.cert, keyText: c.key };
}

/** The gateway's manifests for one site: HOST over TLS with `cert`, every path to a Service on `backendPort`. */
export function siteManifests(backendPort: number, cert: { certText: string; keyText: string }): string {
  return yamlOf(
    tlsSecret('bench-tls', cert.certText, cert.keyText),
    ...service('backend', [{ port: backendPort }]),
    ingress('bench', { rules: [{ host: HOST, paths: [{ path: '/', service: 'backend' }] }], tls: [{ hosts: [HOST], secretName: 'bench-tls' }] }),
  );
}

/** The same site over plain HTTP only (no TLS, so no redirect): HOST, every path to a Service on `backendPort`. */
export function plainSiteManifests(backendPort: number): string {
  return yamlOf(...service('backend', [{ port: backendPort }]), ingress('bench', { rules: [{ host: HOST, paths: [{ path: '/', service: 'backend' }] }] }));
}
