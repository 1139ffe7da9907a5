/**
 * What `gatehouse run` and `gatehouse controller` share: the data-plane flags, and starting the
 * gateway (metrics, HAProxy data plane, admin API) on a store of objects filled by a source.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { GatewayMetrics } from '../admin/metrics.js';
import { startAdminServer } from '../admin/server.js';
import { Gateway, type AppliedState } from '../gateway/gateway.js';
import { DataPlane, type Log } from '../haproxy/dataplane.js';
import { layout, type Layout } from '../haproxy/layout.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { StoredObject } from '../store/objects.js';
import { portFlag, UsageError, type FlagValues } from './args.js';
import { jsonLog } from './log.js';

export const servingFlags = {
  'http-port': portFlag('Port for plain HTTP', 8080),
  'https-port': portFlag('Port for HTTPS', 8443),
  'admin-port': portFlag('Port of the admin API (/healthz, /readyz, /metrics, /status)', 9180),
  'admin-address': { type: 'string', default: '127.0.0.1', valueName: 'ADDR', description: 'Address the admin API listens on; keep it local (deploy/ uses 0.0.0.0 for the kubelet\'s probes, with a NetworkPolicy closing the port)' },
  'listen-address': { type: 'string', default: '0.0.0.0', valueName: 'ADDR', description: 'Address the HTTP and HTTPS ports listen on' },
  'state-dir': { type: 'string', default: '.gatehouse', valueName: 'DIR', description: 'Where HAProxy\'s configuration, maps, certificates (0600) and sockets are kept' },
  'ingress-class': { type: 'string', default: 'gatehouse', valueName: 'NAME', description: 'The IngressClass this gateway serves' },
  haproxy: { type: 'string', default: 'haproxy', valueName: 'PATH', description: 'The HAProxy binary' },
} as const;

type ServingValues = FlagValues<typeof servingFlags>;

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function isIPv4(s: string): boolean {
  const m = IPV4.exec(s);
  return m !== null && m.slice(1).every((x) => Number(x) <= 255);
}

/** Throws a UsageError for an address flag that is not an IPv4 address. */
export function checkServingFlags(values: ServingValues): void {
  for (const flag of ['listen-address', 'admin-address'] as const) {
    if (!isIPv4(values[flag])) throw new UsageError(`--${flag} ${values[flag]} is not an IPv4 address: give one such as 0.0.0.0 or 127.0.0.1`);
  }
}

export interface ServeOptions {
  objects: () => readonly StoredObject[];
  sourceDiagnostics?: () => readonly Diagnostic[];
  locate?: (diagnostics: readonly Diagnostic[]) => Diagnostic[];
  configMap: { namespace?: string; name: string };
  onApplied?: (applied: AppliedState) => void;
  /** Extra readiness condition (e.g. the cluster has been read); HAProxy must serve as well. */
  ready?: () => boolean;
  /** Extra fields for /status. */
  status?: () => Record<string, unknown>;
}

export interface Serving {
  files: Layout;
  metrics: GatewayMetrics;
  dataplane: DataPlane;
  gateway: Gateway;
  adminPort: number;
  log: Log;
  stop(): Promise<void>;
}

export async function startServing(values: ServingValues, opts: ServeOptions): Promise<Serving> {
  const files = layout(resolve(values['state-dir']));
  mkdirSync(resolve(files.stateDir, 'run'), { recursive: true, mode: 0o700 });
  const log = jsonLog;
  const metrics = new GatewayMetrics();
  const dataplane = new DataPlane({
    layout: files,
    listen: { address: values['listen-address'], httpPort: values['http-port'], httpsPort: values['https-port'] },
    binary: values.haproxy,
    metrics,
    log,
  });
  const gateway = new Gateway({
    objects: opts.objects,
    sourceDiagnostics: opts.sourceDiagnostics,
    locate: opts.locate,
    ingressClass: values['ingress-class'],
    configMap: opts.configMap,
    dataplane,
    metrics,
    log,
    onApplied: opts.onApplied,
  });
  const ready = () => gateway.ready && (opts.ready?.() ?? true);
  const status = () => ({ ...gateway.status(), ready: ready(), ...opts.status?.() });
  const admin = await startAdminServer(values['admin-port'], { ready, status }, metrics, values['admin-address']);
  return {
    files,
    metrics,
    dataplane,
    gateway,
    adminPort: admin.port,
    log,
    async stop() {
      await dataplane.stop();
      await admin.close();
    },
  };
}

/** Resolves on SIGTERM or SIGINT. */
export function untilSignal(log: Log): Promise<void> {
  return new Promise<void>((done) => {
    const stop = (signal: string) => {
      log('info', `${signal} received: stopping`);
      done();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
