/**
 * `gatehouse controller`: the gateway with a live cluster as its source. Every replica watches the
 * cluster and serves traffic; the one holding the Lease also writes Ingress status and Events. The
 * last good set of objects is kept in the state directory, so a replica that starts while the API
 * server is unreachable serves what it served before, and one that loses it keeps serving.
 */
import { hostname } from 'node:os';
import type { AppliedState } from '../gateway/gateway.js';
import { KINDS, type Kind } from '../store/objects.js';
import { isDns1123Label, isDns1123Subdomain } from '../store/names.js';
import { ObjectStore } from '../store/store.js';
import { EventRecorder } from '../sources/kubernetes/events.js';
import { IngressStatusWriter } from '../sources/kubernetes/ingress-status.js';
import { LeaderElector, leaderTiming } from '../sources/kubernetes/leader.js';
import { ClusterSource } from '../sources/kubernetes/source.js';
import { readSnapshot, SnapshotWriter } from '../sources/snapshot/snapshot.js';
import { defineCommand, formatHelp, parseCommandLine, UsageError } from './args.js';
import { loadKubeConfig } from './kubeconfig.js';
import { untilSignal } from './signals.js';
import { checkServingFlags, servingFlags, startServing, type ServingSetup } from './serve.js';

export const controllerCommand = defineCommand({
  name: 'controller',
  usage: 'gatehouse controller [flags]',
  summary:
    'Runs the gateway with a Kubernetes cluster as its source: in a pod with its service account, elsewhere with a kubeconfig. ' +
    'Every replica serves; the leader (a Lease) writes Ingress status and Events.',
  flags: {
    kubeconfig: { type: 'string', valueName: 'PATH', description: 'A kubeconfig file (default: the service account in a pod, else $KUBECONFIG or ~/.kube/config)' },
    server: { type: 'string', valueName: 'URL', description: 'Connect to this API server URL instead of the kubeconfig\'s, with the same credentials (e.g. the node\'s edge-hub, https://127.0.0.1:10268)' },
    'certificate-authority': { type: 'string', valueName: 'PATH', description: 'CA bundle (PEM) for the certificate of --server, in place of the kubeconfig\'s CA and tls-server-name' },
    configmap: { type: 'string', default: 'gatehouse/gatehouse', valueName: 'NAMESPACE/NAME', description: 'The settings ConfigMap' },
    'watch-namespace': { type: 'string', valueName: 'NAMESPACE', description: 'Watch only this namespace (default: all)' },
    'publish-service': { type: 'string', valueName: 'NAMESPACE/NAME', description: 'Write this Service\'s load-balancer addresses into Ingress status' },
    'publish-address': { type: 'strings', valueName: 'ADDR', description: 'Write this address (IP or host name) into Ingress status; repeatable; wins over --publish-service' },
    lease: { type: 'string', default: 'gatehouse/gatehouse-leader', valueName: 'NAMESPACE/NAME', description: 'The Lease replicas elect their leader with' },
    identity: { type: 'string', valueName: 'NAME', description: 'This replica\'s name in the Lease (default: $POD_NAME, else the host name)' },
    'lease-duration': { type: 'integer', default: 15, min: 1, max: 3600, valueName: 'SECONDS', description: 'How long a leader that stopped renewing keeps the Lease before another replica takes over' },
    ...servingFlags,
  },
});

/** `namespace/name` → its parts; both must be DNS names. */
function namespacedName(flag: string, value: string): { namespace: string; name: string } {
  const parts = value.split('/');
  if (parts.length !== 2 || !isDns1123Label(parts[0]!) || !isDns1123Subdomain(parts[1]!)) {
    throw new UsageError(`--${flag} ${JSON.stringify(value)} must be NAMESPACE/NAME, e.g. gatehouse/gatehouse`);
  }
  return { namespace: parts[0]!, name: parts[1]! };
}

export async function runController(argv: string[]): Promise<number> {
  let values;
  let setup: ServingSetup;
  let flags;
  try {
    ({ values } = parseCommandLine(controllerCommand, argv));
    if (values.help) {
      process.stdout.write(formatHelp(controllerCommand) + '\n');
      return 0;
    }
    setup = await checkServingFlags(values);
    const ns = values['watch-namespace'];
    if (ns !== undefined && !isDns1123Label(ns)) throw new UsageError(`--watch-namespace ${JSON.stringify(ns)} is not a namespace name`);
    flags = {
      configMap: namespacedName('configmap', values.configmap),
      lease: namespacedName('lease', values.lease),
      publishService: values['publish-service'] === undefined ? undefined : namespacedName('publish-service', values['publish-service']),
      kc: loadKubeConfig(values.kubeconfig, values.server, values['certificate-authority']),
      identity: values.identity ?? process.env['POD_NAME'] ?? hostname(),
    };
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`gatehouse controller: ${e.message}\nRun "gatehouse controller --help" for the flags.\n`);
      return 2;
    }
    throw e;
  }
  const { kc, identity } = flags;

  const store = new ObjectStore();
  let servingSnapshot = false;
  let started = false;
  let lastApplied: AppliedState | null = null;
  let leaderWork: Promise<void> = Promise.resolve();

  // Filled in below; the callbacks only run after the gateway's first sync.
  let source!: ClusterSource;
  let elector!: LeaderElector;
  let statusWriter!: IngressStatusWriter;
  let events!: EventRecorder;

  /** The leader's writes, one round at a time, from the last applied state. */
  const leaderRound = (): void => {
    leaderWork = leaderWork.then(async () => {
      const applied = lastApplied;
      if (!applied || !elector.leading || !source.synced) return;
      const served = new Set([...applied.accepted.keys()].filter((k) => k.startsWith('Ingress/')));
      await statusWriter.update(store.list().filter((o) => o.kind === 'Ingress'), served);
      await events.record(applied.diagnostics, applied.objects);
    }).catch((err: unknown) => serving.log('warn', `the leader's status and Event writes failed (tried again on the next change): ${String(err)}`));
  };

  const serving = await startServing(values, setup, {
    objects: () => store.list(),
    configMap: flags.configMap,
    ready: () => source.synced || servingSnapshot,
    status: () => ({
      kubernetes: { synced: source.synced, servingSnapshot, leader: elector.leading, identity, syncLagSeconds: source.syncLagSeconds() },
    }),
    onApplied: (applied) => {
      lastApplied = applied;
      if (source.synced) {
        servingSnapshot = false;
        try {
          snapshots.write(applied.objects);
        } catch (err) {
          serving.log('warn', `writing the snapshot ${snapshots.path} failed (tried again on the next change): ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      leaderRound();
    },
  });
  const { gateway, log } = serving;
  const snapshots = new SnapshotWriter(serving.files.snapshot);
  // Read now, so a corrupt file is reported at start even when the API server answers.
  const snap = readSnapshot(serving.files.snapshot);
  if (snap.status === 'corrupt') log('error', `the snapshot ${serving.files.snapshot} is ignored because ${snap.reason}; it is replaced once the cluster has been read`);

  source = new ClusterSource({
    kc,
    scope: { namespace: values['watch-namespace'], configMap: flags.configMap },
    store,
    registry: serving.metrics.registry,
    log,
    // A list that changed nothing still ends serving from the snapshot, and the snapshot is written then.
    onSynced: () => {
      if (started) void gateway.sync();
    },
  });
  statusWriter = new IngressStatusWriter(kc, { service: flags.publishService, addresses: values['publish-address'] }, log);
  events = new EventRecorder(kc, identity, log);
  elector = new LeaderElector({
    kc,
    ...flags.lease,
    identity,
    ...leaderTiming(values['lease-duration']),
    log,
    onChange: (leading) => {
      if (!leading) return;
      events.reset();
      leaderRound();
    },
  });
  log('info', 'gatehouse controller starting', {
    server: kc.getCurrentCluster()?.server,
    identity,
    watchNamespace: values['watch-namespace'] ?? '(all)',
    stateDir: serving.files.stateDir,
    admin: `${values['admin-address']}:${serving.adminPort}`,
  });

  source.start();
  if ((await source.firstOutcome()) === 'unreachable') {
    if (snap.status === 'ok') {
      // Kinds a reflector has listed meanwhile are live already; the snapshot fills the others.
      for (const kind of Object.keys(KINDS) as Kind[]) {
        if (source.reflectors.some((r) => r.resource.kind === kind && r.synced)) continue;
        store.replaceKind(kind, snap.objects.filter((o) => o.kind === kind));
      }
      servingSnapshot = !source.synced;
      log('warn', `the API server cannot be reached: serving the snapshot of ${snap.writtenAt} (${snap.objects.length} objects) while retrying`);
    } else {
      log('warn', 'the API server cannot be reached and there is no usable snapshot: nothing is served (not ready) until it answers');
    }
  }
  store.onChange(() => void gateway.sync());
  started = true;
  await gateway.sync();
  if (!gateway.serving) {
    log('error', `HAProxy could not start, so gatehouse stops: ${gateway.status().lastError ?? 'see the messages above'}`);
    await source.stop();
    await serving.stop();
    return 1;
  }
  elector.start();
  const refresh = setInterval(leaderRound, 30_000);

  await untilSignal(log);
  clearInterval(refresh);
  await elector.stop();
  await source.stop();
  await leaderWork;
  await serving.stop();
  log('info', 'stopped');
  return 0;
}
