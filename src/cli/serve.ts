/**
 * What `gatehouse run` and `gatehouse controller` share: the data-plane flags, and starting the
 * gateway (metrics, HAProxy data plane, admin API) on a store of objects filled by a source.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { GatewayMetrics } from '../admin/metrics.js';
import { probeCapabilities, type HaproxyCapabilities } from '../crypto/capabilities.js';
import { describeDevices, detectDevices } from '../crypto/devices.js';
import { OffloadResolver } from '../crypto/resolver.js';
import { checkFlagSettings, SETTINGS } from '../translate/settings.js';
import { dashboardHandlers } from '../admin/dashboard.js';
import { startAdminServer, type AdminHandler } from '../admin/server.js';
import { Gateway, type AppliedState } from '../gateway/gateway.js';
import { DataPlane, type Log } from '../haproxy/dataplane.js';
import { layout, type Layout } from '../haproxy/layout.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { StoredObject } from '../store/objects.js';
import { portFlag, UsageError, type FlagValues, type StringFlag } from './args.js';
import { jsonLog } from './log.js';
import { FlowLog } from '../observe/flow-log.js';
import { otlpLogsUrl, OtlpFlowExporter } from '../observe/otlp.js';
import { version } from './version.js';

/** A flag that sets the default of a ConfigMap setting (SETTINGS entries marked `flag`). */
function settingFlag(name: string): StringFlag {
  const s = SETTINGS.find((x) => x.name === name && x.flag);
  if (!s) throw new Error(`${name} is not a setting flag`);
  return { type: 'string', valueName: 'VALUE', description: `${s.description} Values: ${s.values}. Default ${s.default === '' ? 'none' : s.default}; the ConfigMap key ${name} overrides it` };
}

export const servingFlags = {
  'http-port': portFlag('Port for plain HTTP', 8080),
  'https-port': portFlag('Port for HTTPS', 8443),
  'admin-port': portFlag('Port of the admin API (/healthz, /readyz, /metrics, /status)', 9180),
  'admin-address': { type: 'string', default: '127.0.0.1', valueName: 'ADDR', description: 'Address the admin API listens on; keep it local (deploy/ uses 0.0.0.0 for the kubelet\'s probes, with a NetworkPolicy closing the port)' },
  'listen-address': { type: 'string', default: '0.0.0.0', valueName: 'ADDR', description: 'Address the HTTP and HTTPS ports listen on' },
  'state-dir': { type: 'string', default: '.gatehouse', valueName: 'DIR', description: 'Where HAProxy\'s configuration, maps, certificates (0600) and sockets are kept' },
  'ingress-class': { type: 'string', default: 'gatehouse', valueName: 'NAME', description: 'The IngressClass this gateway serves' },
  haproxy: { type: 'string', default: 'haproxy', valueName: 'PATH', description: 'The HAProxy binary' },
  'flow-buffer': { type: 'integer', default: 65536, min: 0, max: 10_000_000, valueName: 'N', description: 'Flows kept for /flows, gatehouse observe and the dashboard (each request and failed TLS handshake is one); 0 turns the flow log off' },
  'otlp-endpoint': { type: 'string', valueName: 'URL', description: 'Also send each flow as an OpenTelemetry log record to this OTLP/HTTP collector (http://HOST:4318; /v1/logs is added unless the path ends with it). Default: off' },
  'dev-root': { type: 'string', default: '/dev', valueName: 'DIR', description: 'Where to look for accelerator devices (vfio/<group>, tpmrm<n>)' },
  'crypto-offload': settingFlag('crypto-offload'),
  'ssl-provider': settingFlag('ssl-provider'),
  'ssl-provider-path': settingFlag('ssl-provider-path'),
  'ssl-propquery': settingFlag('ssl-propquery'),
  'ssl-mode-async': settingFlag('ssl-mode-async'),
  'ssl-engine': settingFlag('ssl-engine'),
  'ssl-engine-algos': settingFlag('ssl-engine-algos'),
} as const;

type ServingValues = FlagValues<typeof servingFlags>;

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function isIPv4(s: string): boolean {
  const m = IPV4.exec(s);
  return m !== null && m.slice(1).every((x) => Number(x) <= 255);
}

/** What the checked flags give besides their values. */
export interface ServingSetup {
  /** What the HAProxy binary can do (`haproxy -vv`). */
  haproxy: HaproxyCapabilities;
  /** Setting defaults given as flags, by setting name. */
  settingDefaults: Record<string, string>;
}

/**
 * Checks the flags, and the setting flags against what the HAProxy binary can do. Throws a
 * UsageError for an address that is not IPv4, an invalid setting, or a binary that does not run.
 */
export async function checkServingFlags(values: ServingValues): Promise<ServingSetup> {
  for (const flag of ['listen-address', 'admin-address'] as const) {
    if (!isIPv4(values[flag])) throw new UsageError(`--${flag} ${values[flag]} is not an IPv4 address: give one such as 0.0.0.0 or 127.0.0.1`);
  }
  if (values['otlp-endpoint'] !== undefined) {
    if (values['flow-buffer'] === 0) throw new UsageError('--otlp-endpoint exports the flow log, which --flow-buffer 0 turns off: remove one of them');
    try {
      otlpLogsUrl(values['otlp-endpoint']);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const settingDefaults: Record<string, string> = {};
  for (const { name, flag } of SETTINGS) {
    const v = (values as Record<string, unknown>)[name];
    if (flag && typeof v === 'string') settingDefaults[name] = v;
  }
  let haproxy: HaproxyCapabilities;
  try {
    haproxy = await probeCapabilities(values.haproxy);
  } catch (e) {
    throw new UsageError(`--haproxy ${values.haproxy}: ${e instanceof Error ? e.message : String(e)}: install HAProxy 2.6 or newer (Debian: apt-get install haproxy) or give its path`);
  }
  const problems = checkFlagSettings(settingDefaults, haproxy);
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return { haproxy, settingDefaults };
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
  /** The flow log; undefined with --flow-buffer 0. */
  flows: FlowLog | undefined;
  dataplane: DataPlane;
  gateway: Gateway;
  adminPort: number;
  log: Log;
  stop(): Promise<void>;
}

export async function startServing(values: ServingValues, setup: ServingSetup, opts: ServeOptions): Promise<Serving> {
  const files = layout(resolve(values['state-dir']));
  const runDir = resolve(files.stateDir, 'run');
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const log = jsonLog;
  const metrics = new GatewayMetrics();
  const devices = detectDevices(process.env, values['dev-root']);
  log('info', `HAProxy ${setup.haproxy.version} on ${setup.haproxy.openssl ?? 'an unknown OpenSSL'}`, {
    providers: setup.haproxy.providers,
    engine: setup.haproxy.engine,
    async: setup.haproxy.async,
    devices: describeDevices(devices),
  });
  const flows = values['flow-buffer'] > 0 ? new FlowLog(values['flow-buffer'], metrics.registry, log) : undefined;
  await flows?.start(files.flowSocket);
  const otlp = flows && values['otlp-endpoint'] !== undefined ? new OtlpFlowExporter(values['otlp-endpoint'], version(), metrics.registry, log) : undefined;
  if (flows && otlp) flows.ring.follow((flow) => otlp.export(flow));
  const offload = new OffloadResolver({ binary: values.haproxy, devices, dir: runDir, log, metrics });
  const dataplane = new DataPlane({
    layout: files,
    listen: { address: values['listen-address'], httpPort: values['http-port'], httpsPort: values['https-port'] },
    binary: values.haproxy,
    flows: flows !== undefined,
    metrics,
    log,
  });
  const gateway = new Gateway({
    objects: opts.objects,
    sourceDiagnostics: opts.sourceDiagnostics,
    locate: opts.locate,
    ingressClass: values['ingress-class'],
    configMap: opts.configMap,
    settings: { defaults: setup.settingDefaults, haproxy: setup.haproxy },
    offload,
    dataplane,
    metrics,
    log,
    onApplied: (applied) => {
      flows?.update(dataplane.current?.model.backends ?? [], applied.objects, gateway.status().crypto.mode === 'offload');
      opts.onApplied?.(applied);
    },
  });
  const ready = () => gateway.ready && (opts.ready?.() ?? true);
  const status = () => ({ ...gateway.status(), ready: ready(), ...opts.status?.() });
  const handlers: Record<string, AdminHandler> = { ...dashboardHandlers(), ...(flows ? { '/flows': flows.handler } : {}) };
  const admin = await startAdminServer(values['admin-port'], { ready, status, handlers }, metrics, values['admin-address']);
  return {
    files,
    metrics,
    flows,
    dataplane,
    gateway,
    adminPort: admin.port,
    log,
    async stop() {
      await dataplane.stop();
      await flows?.stop();
      await otlp?.stop();
      await admin.close();
    },
  };
}
