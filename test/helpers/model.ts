import type { Backend, BackendPolicy, Certificate, Model, Route } from '../../src/model/types.js';
import { builtinCrypto } from '../../src/crypto/settings.js';

/** Small builders for gateway models in tests. */
export const basePolicy: BackendPolicy = {
  balance: { kind: 'roundrobin' },
  affinityCookie: null,
  protocol: 'http',
  upstreamTls: null,
  serverTimeoutMs: 60000,
  connectTimeoutMs: 5000,
  allowSourceRanges: [],
  denySourceRanges: [],
  rateLimitRps: 0,
  maxBodyBytes: 0,
  hsts: { maxAgeSeconds: 31536000, includeSubdomains: false, preload: false },
};

export function backend(name: string, endpoints: Array<[string, number]>, policy: Partial<BackendPolicy> = {}): Backend {
  const [namespace = 'default', ingress = 'ing', service = 'svc', port = '80'] = name.split('_');
  return {
    name,
    service: { namespace, name: service, port },
    source: { kind: 'Ingress', namespace, name: ingress },
    endpoints: endpoints.map(([address, p]) => ({ address, port: p, state: 'ready' as const })),
    policy: { ...basePolicy, ...policy },
  };
}

export function route(host: string, pathType: Route['pathType'], path: string, backendName: string, redirectToHttps = false): Route {
  return { host, pathType, path, backend: backendName, redirectToHttps, source: { kind: 'Ingress', namespace: 'default', name: 'ing' } };
}

export function model(parts: Partial<Model> = {}): Model {
  return {
    settings: { clientTimeoutMs: 60000, httpsRedirectPort: 443, sslMinVersion: 'TLSv1.2', workerThreads: 0, crypto: builtinCrypto() },
    backends: [],
    routes: [],
    certificates: [],
    ...parts,
  };
}

export function certificate(name: string, pem: string, hosts: string[]): Certificate {
  const [namespace = 'default', secret = 'tls'] = name.split('_');
  return { name, secret: { namespace, name: secret }, pem, hosts, notAfter: '2030-01-01T00:00:00.000Z' };
}
