import type { CryptoSettings } from '../crypto/settings.js';
import type { ObjectRef } from '../store/objects.js';

/**
 * The gateway model: everything the data plane needs, derived only from objects (translate/),
 * and nothing else. Arrays are sorted (see each field) so the same objects give the same model.
 */
export interface Model {
  settings: GlobalSettings;
  /** Sorted by name. */
  backends: Backend[];
  /** Sorted by host, then pathType, then path. */
  routes: Route[];
  /** Sorted by name. */
  certificates: Certificate[];
}

/** Settings that exist once per gateway (ConfigMap only). */
export interface GlobalSettings {
  /** `timeout client` and `timeout http-request` in milliseconds. */
  clientTimeoutMs: number;
  /** Port written in the Location of HTTP→HTTPS redirects; 443 is left out of the URL. */
  httpsRedirectPort: number;
  sslMinVersion: 'TLSv1.2' | 'TLSv1.3';
  /** HAProxy's nbthread; 0: HAProxy's default (one per CPU). */
  workerThreads: number;
  /** TLS private-key offload: providers, engine, and when to use them. */
  crypto: CryptoSettings;
}

export type PathType = 'Exact' | 'Prefix';

export interface Route {
  /**
   * The virtual host: an exact lowercase host (`a.example.com`), a wildcard (`*.example.com`),
   * or `*` for rules without a host (every host).
   */
  host: string;
  /**
   * `Exact`: the path as written. `Prefix`: normalised without a trailing slash, except `/` itself.
   * `Default`: '' (the Ingress's defaultBackend for this host).
   */
  path: string;
  pathType: PathType | 'Default';
  /** Name of the backend in `Model.backends`. */
  backend: string;
  /** HTTP requests on this route are answered with a 308 to HTTPS. */
  redirectToHttps: boolean;
  source: ObjectRef;
}

export interface Endpoint {
  /** IPv4 or IPv6 address (canonical text form). */
  address: string;
  port: number;
  /** `terminating` endpoints are only used when a backend has no ready ones. */
  state: 'ready' | 'terminating';
}

export interface Backend {
  /** `<namespace>_<ingress>_<service>_<port>`: only [a-z0-9.-] between the underscores. */
  name: string;
  service: { namespace: string; name: string; port: string };
  source: ObjectRef;
  /** Sorted by address then port; no duplicates. Empty means the backend answers 503. */
  endpoints: Endpoint[];
  /** Why there are no endpoints, when that is a problem in the objects (Service missing, …). */
  problem?: string;
  policy: BackendPolicy;
}

export type Balance =
  | { kind: 'roundrobin' }
  | { kind: 'leastconn' }
  | { kind: 'source' }
  | { kind: 'header'; header: string };

export interface BackendPolicy {
  balance: Balance;
  /** Cookie name for session affinity, or null for none. */
  affinityCookie: string | null;
  /** `https`/`h2` speak TLS to the endpoints; `h2c`/`h2` speak HTTP/2 (gRPC). */
  protocol: 'http' | 'https' | 'h2c' | 'h2';
  /** Verify the endpoints' certificates (only with https/h2). */
  upstreamTls: { caPem: string; serverName: string | null } | null;
  serverTimeoutMs: number;
  connectTimeoutMs: number;
  /** Canonical CIDRs. Empty allow list = every source allowed. */
  allowSourceRanges: string[];
  denySourceRanges: string[];
  /** Requests per second per source IP; 0 = no limit. */
  rateLimitRps: number;
  /** Largest request body in bytes (by Content-Length); 0 = no limit. */
  maxBodyBytes: number;
  /** Strict-Transport-Security on HTTPS responses, or null for none. */
  hsts: { maxAgeSeconds: number; includeSubdomains: boolean; preload: boolean } | null;
}

export interface Certificate {
  /** `<namespace>_<secret>`. */
  name: string;
  secret: { namespace: string; name: string };
  /** PEM: the certificate chain, then the private key. */
  pem: string;
  /** SNI names this certificate answers (exact or `*.` wildcard), sorted. */
  hosts: string[];
  /** Expiry of the leaf certificate, ISO 8601. */
  notAfter: string;
}
