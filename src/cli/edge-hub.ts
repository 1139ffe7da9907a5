/**
 * `gatehouse edge-hub`: the node-local caching proxy in front of kube-apiserver. Parses the flags,
 * finds the API server (--server, --kubeconfig, or the pod's service account), makes the HTTPS
 * listener's certificate when none is given, and runs until SIGTERM/SIGINT. docs/edge.md tells the rest.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { OutgoingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { startEdgeHub, type EdgeHubOptions, type Listener } from '../edgehub/server.js';
import { makeSelfSignedCertificate } from '../haproxy/default-cert.js';
import { parseDurationMs, parseSizeBytes } from '../translate/values.js';
import { defineCommand, formatHelp, parseCommandLine, UsageError } from './args.js';
import { loadKubeConfig } from './kubeconfig.js';
import { jsonLog } from './log.js';
import { untilSignal } from './signals.js';

export const edgeHubCommand = defineCommand({
  name: 'edge-hub',
  usage: 'gatehouse edge-hub [flags]',
  summary:
    'Runs the node-local caching proxy in front of kube-apiserver. Node components talk to it on loopback with their own credentials; ' +
    'while the API server is reachable it forwards every request and caches what they read, and while it is not, it answers reads from ' +
    'the cache, holds watches, and refuses writes with 503.',
  flags: {
    server: { type: 'string', valueName: 'URL', description: 'The kube-apiserver (default: from --kubeconfig, or in a pod the kubernetes Service)' },
    kubeconfig: { type: 'string', valueName: 'PATH', description: 'Where the API server and its CA come from; its credentials are used only for edge-hub\'s own /readyz probe' },
    'certificate-authority': { type: 'string', valueName: 'PATH', description: 'PEM CA bundle for the API server\'s certificate (default: the kubeconfig\'s)' },
    listen: { type: 'strings', valueName: 'URL', description: 'Where clients connect, http:// or https://, loopback addresses only (repeatable; default http://127.0.0.1:10261 and https://127.0.0.1:10268)' },
    'tls-cert-file': { type: 'string', valueName: 'PATH', description: 'Certificate (PEM) of the https listener (default: a self-signed one made in <cache-dir>/tls)' },
    'tls-key-file': { type: 'string', valueName: 'PATH', description: 'Its private key (PEM)' },
    'cache-dir': { type: 'string', default: '/var/lib/gatehouse/edge-hub', valueName: 'DIR', description: 'Where the cache (DIR/cache, 0700: it can hold Secrets) and the generated certificate (DIR/tls/tls.crt, for clients to trust) are kept' },
    'cache-size': { type: 'string', default: '256m', valueName: 'SIZE', description: 'The most the cache holds on disk (k, m, g); the least recently used entries are evicted beyond it' },
    'probe-interval': { type: 'string', default: '5s', valueName: 'DURATION', description: 'How often the API server\'s /readyz is probed' },
    'probe-timeout': { type: 'string', default: '2s', valueName: 'DURATION', description: 'How long a probe, or opening a connection for a forward, may take before the link counts as down' },
    'online-after': { type: 'integer', default: 3, min: 1, max: 100, valueName: 'N', description: 'Probes in a row that must succeed before going back online' },
    'offline-watch-timeout': { type: 'string', default: '5m', valueName: 'DURATION', description: 'The longest a watch is held open while offline (a client\'s shorter timeoutSeconds wins)' },
    'admin-address': { type: 'string', default: '127.0.0.1', valueName: 'ADDRESS', description: 'Address of the admin API (/healthz, /readyz, /metrics, /status)' },
    'admin-port': { type: 'integer', default: 10267, min: 0, max: 65535, valueName: 'PORT', description: 'Port of the admin API' },
  },
});

const DEFAULT_LISTEN = ['http://127.0.0.1:10261', 'https://127.0.0.1:10268'];

/** `http://127.0.0.1:10261` → a listener; loopback addresses only, since clients send their credentials. */
export function parseListen(s: string): Listener {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new UsageError(`--listen ${s}: not a URL; write http://127.0.0.1:10261 or https://127.0.0.1:10268`);
  }
  const protocol = u.protocol.replace(/:$/, '');
  if (protocol !== 'http' && protocol !== 'https') throw new UsageError(`--listen ${s}: the scheme must be http or https`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
  if (!loopback) throw new UsageError(`--listen ${s}: edge-hub listens on loopback only (127.0.0.0/8, ::1 or localhost): clients send it their credentials`);
  if (u.port === '') throw new UsageError(`--listen ${s}: give a port, e.g. ${protocol}://127.0.0.1:${protocol === 'http' ? 10261 : 10268}`);
  return { protocol, host, port: Number(u.port) };
}

function duration(flag: string, value: string): number {
  const d = parseDurationMs(value);
  if (!d.ok) throw new UsageError(`--${flag}: ${d.error}`);
  return d.value;
}

/** The API server and how to trust it: --server and --certificate-authority over the kubeconfig. */
function upstreamFrom(values: { server?: string; kubeconfig?: string; 'certificate-authority'?: string }) {
  const kc = loadKubeConfig(values.kubeconfig, values.server, values['certificate-authority']);
  const cluster = kc.getCurrentCluster()!;
  const url = new URL(cluster.server);
  const caFile = cluster.caFile;
  const ca = caFile !== undefined ? readFileSync(caFile, 'utf8') : cluster.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : undefined;
  const ownHeaders = async (): Promise<OutgoingHttpHeaders> => {
    if (!kc.getCurrentUser()) return {};
    const opts: { headers?: OutgoingHttpHeaders } = {};
    await kc.applyToHTTPSOptions(opts);
    const auth = opts.headers?.['Authorization'];
    return auth !== undefined ? { authorization: String(auth) } : {};
  };
  return {
    url,
    ...(ca !== undefined ? { ca } : {}),
    ...(cluster.tlsServerName ? { serverName: cluster.tlsServerName } : {}),
    ...(cluster.skipTLSVerify ? { insecure: true } : {}),
    ownHeaders,
  };
}

/**
 * A self-signed ECDSA certificate for the loopback names, made once and kept. The certificate is
 * world-readable (clients on the node trust it by this file: tls.crt), the key 0600.
 */
async function ensureListenerCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const certPath = join(dir, 'tls.crt');
  const keyPath = join(dir, 'tls.key');
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    const made = await makeSelfSignedCertificate('gatehouse-edge-hub', 'IP:127.0.0.1,IP:::1,DNS:localhost');
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    writeFileSync(keyPath, made.key, { mode: 0o600 });
    writeFileSync(certPath, made.cert, { mode: 0o644 });
    chmodSync(keyPath, 0o600); // also when a file was there before
    chmodSync(certPath, 0o644);
    return made;
  }
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
}

/** The settings from the command line (everything but the logger and the certificate); throws UsageError. */
export function edgeHubSettings(argv: readonly string[]): (Omit<EdgeHubOptions, 'log' | 'tls'> & { tlsFiles?: { cert: string; key: string } }) | 'help' {
  const { values } = parseCommandLine(edgeHubCommand, argv);
  if (values.help) return 'help';
  const size = parseSizeBytes(values['cache-size']);
  if (!size.ok) throw new UsageError(`--cache-size: ${size.error}`);
  if (size.value < 1024 * 1024) throw new UsageError(`--cache-size ${values['cache-size']}: give at least 1m`);
  if ((values['tls-cert-file'] === undefined) !== (values['tls-key-file'] === undefined)) throw new UsageError('give both --tls-cert-file and --tls-key-file, or neither');
  const admin = values['admin-address'];
  if (!(admin === 'localhost' || admin === '::1' || admin.startsWith('127.'))) throw new UsageError(`--admin-address ${admin}: the admin API listens on loopback only`);
  const probeTimeoutMs = duration('probe-timeout', values['probe-timeout']);
  return {
    upstream: { ...upstreamFrom(values), connectTimeoutMs: probeTimeoutMs },
    listeners: (values.listen.length ? values.listen : DEFAULT_LISTEN).map(parseListen),
    ...(values['tls-cert-file'] !== undefined ? { tlsFiles: { cert: values['tls-cert-file'], key: values['tls-key-file']! } } : {}),
    cacheDir: resolve(values['cache-dir']),
    cacheMaxBytes: size.value,
    probeIntervalMs: duration('probe-interval', values['probe-interval']),
    probeTimeoutMs,
    onlineAfter: values['online-after'],
    offlineWatchTimeoutMs: duration('offline-watch-timeout', values['offline-watch-timeout']),
    admin: { host: admin, port: values['admin-port'] },
  };
}

export async function runEdgeHub(argv: string[]): Promise<number> {
  let settings;
  try {
    settings = edgeHubSettings(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`gatehouse edge-hub: ${e.message}\nRun "gatehouse edge-hub --help" for the flags.\n`);
      return 2;
    }
    throw e;
  }
  if (settings === 'help') {
    process.stdout.write(formatHelp(edgeHubCommand) + '\n');
    return 0;
  }
  const log = jsonLog;
  const { tlsFiles, ...rest } = settings;
  const cacheDir = join(settings.cacheDir, 'cache');
  // The top directory only holds cache/ (0700: it can hold Secrets) and tls/ (the certificate clients trust).
  mkdirSync(settings.cacheDir, { recursive: true, mode: 0o755 });
  const tls = !settings.listeners.some((l) => l.protocol === 'https') ? undefined
    : tlsFiles ? { cert: readFileSync(tlsFiles.cert, 'utf8'), key: readFileSync(tlsFiles.key, 'utf8') }
      : await ensureListenerCertificate(join(settings.cacheDir, 'tls'));
  log('info', 'gatehouse edge-hub starting', { server: rest.upstream.url.origin, listeners: rest.listeners, cacheDir: settings.cacheDir, cacheMaxBytes: rest.cacheMaxBytes });
  const stopped = untilSignal(log);
  const hub = await startEdgeHub({ ...rest, cacheDir, ...(tls ? { tls } : {}), log });
  log('info', 'edge-hub serving', { listeners: hub.listeners.map((l) => `${l.protocol}://${l.host}:${l.port}`), adminPort: hub.adminPort });
  await stopped;

  await hub.close();
  log('info', 'stopped');
  return 0;
}
