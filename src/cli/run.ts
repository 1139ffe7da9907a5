import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { GatewayMetrics } from '../admin/metrics.js';
import { startAdminServer } from '../admin/server.js';
import { Gateway } from '../gateway/gateway.js';
import { DataPlane } from '../haproxy/dataplane.js';
import { layout } from '../haproxy/layout.js';
import type { Diagnostic } from '../model/diagnostic.js';
import { loadManifests, type FieldLocator } from '../sources/files/load.js';
import { watchManifests } from '../sources/files/watch.js';
import { ObjectStore } from '../store/store.js';
import { defineCommand, formatHelp, parseCommandLine, UsageError } from './args.js';
import { locateDiagnostics } from './check.js';
import { jsonLog } from './log.js';

const port = (def: number, what: string) => ({ type: 'integer' as const, default: def, min: 1, max: 65535, valueName: 'PORT', description: what });

export const runCommand = defineCommand({
  name: 'run',
  usage: 'gatehouse run --manifests PATH... [flags]',
  summary: 'Runs the gateway with Kubernetes YAML files as its source. The files are watched: a change on disk is served within a second, without a restart.',
  positionals: true,
  flags: {
    manifests: { type: 'strings', valueName: 'PATH', description: 'A YAML file, or a directory whose .yaml/.yml files are read; repeatable' },
    'http-port': port(8080, 'Port for plain HTTP'),
    'https-port': port(8443, 'Port for HTTPS'),
    'admin-port': port(9180, 'Port of the admin API (/healthz, /readyz, /metrics, /status), bound to 127.0.0.1 only'),
    'listen-address': { type: 'string', default: '0.0.0.0', valueName: 'ADDR', description: 'Address the HTTP and HTTPS ports listen on' },
    'state-dir': { type: 'string', default: '.gatehouse', valueName: 'DIR', description: 'Where HAProxy\'s configuration, maps, certificates (0600) and sockets are kept' },
    'ingress-class': { type: 'string', default: 'gatehouse', valueName: 'NAME', description: 'The IngressClass this gateway serves' },
    haproxy: { type: 'string', default: 'haproxy', valueName: 'PATH', description: 'The HAProxy binary' },
  },
});

const IPV4_OR_ANY = /^(0\.0\.0\.0|127(\.\d{1,3}){3}|(\d{1,3}\.){3}\d{1,3}|\*)$/;

/** `gatehouse run`: returns the exit code once stopped by SIGTERM/SIGINT. */
export async function runGateway(argv: string[], hooks: { onStarted?: (ready: boolean) => void } = {}): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseCommandLine(runCommand, argv));
    if (values.help) {
      process.stdout.write(formatHelp(runCommand) + '\n');
      return 0;
    }
    if (!IPV4_OR_ANY.test(values['listen-address'])) throw new UsageError(`--listen-address ${values['listen-address']} is not an IPv4 address: give one such as 0.0.0.0 or 127.0.0.1`);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`gatehouse run: ${e.message}\nRun "gatehouse run --help" for the flags.\n`);
      return 2;
    }
    throw e;
  }
  const paths = [...values.manifests, ...positionals];
  if (paths.length === 0) {
    process.stderr.write('gatehouse run: no manifests given: name a file or a directory with --manifests PATH\n');
    return 2;
  }

  const files = layout(resolve(values['state-dir']));
  mkdirSync(resolve(files.stateDir, 'run'), { recursive: true, mode: 0o700 });
  const log = jsonLog;
  const store = new ObjectStore();
  let sourceDiagnostics: Diagnostic[] = [];
  let locate: FieldLocator = () => undefined;
  const load = async (): Promise<void> => {
    const loaded = await loadManifests(paths);
    sourceDiagnostics = loaded.diagnostics;
    locate = loaded.locate;
    store.replaceAll(loaded.objects);
  };

  const metrics = new GatewayMetrics();
  const dataplane = new DataPlane({
    layout: files,
    listen: { address: values['listen-address'], httpPort: values['http-port'], httpsPort: values['https-port'] },
    binary: values.haproxy,
    metrics,
    log,
  });
  const gateway = new Gateway({
    objects: () => store.list(),
    sourceDiagnostics: () => sourceDiagnostics,
    locate: (d) => locateDiagnostics(d, locate),
    ingressClass: values['ingress-class'],
    configMap: { name: 'gatehouse' },
    dataplane,
    metrics,
    log,
  });
  const admin = await startAdminServer(values['admin-port'], { ready: () => gateway.ready, status: () => gateway.status() }, metrics);
  log('info', 'gatehouse run starting', { manifests: paths, stateDir: files.stateDir, http: values['http-port'], https: values['https-port'], admin: `127.0.0.1:${admin.port}` });

  try {
    await load();
  } catch (e) {
    log('error', `reading the manifests failed: ${e instanceof Error ? e.message : String(e)}`);
    await admin.close();
    return 2;
  }
  await gateway.sync();
  hooks.onStarted?.(gateway.ready);
  if (!gateway.ready) {
    log('error', `HAProxy could not start, so gatehouse stops: ${gateway.status().lastError ?? 'see the messages above'}`);
    await dataplane.stop();
    await admin.close();
    return 1;
  }
  // Sync after every read, even when no object changed: the problems found in the files may have.
  const watch = watchManifests(paths, () => {
    load().then(
      () => gateway.sync(),
      (e: unknown) => log('error', `reading the manifests failed; the last good state keeps serving: ${e instanceof Error ? e.message : String(e)}`),
    );
  });

  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      log('info', `${signal} received: stopping`);
      done();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  watch.close();
  await dataplane.stop();
  await admin.close();
  log('info', 'stopped');
  return 0;
}
