/**
 * `gatehouse autonomy`: keeps pods on autonomous edge nodes from being evicted while their node is
 * NotReady or unreachable (src/autonomy/, docs/autonomy.md). Parses the flags, starts the controller
 * and its admin API, and runs until SIGTERM/SIGINT.
 */
import { isIP } from 'node:net';
import { startAdminServer } from '../admin/server.js';
import { AutonomyController } from '../autonomy/controller.js';
import { defineCommand, formatHelp, parseCommandLine, portFlag, UsageError } from './args.js';
import { loadKubeConfig } from './kubeconfig.js';
import { untilSignal } from './signals.js';
import { jsonLog } from './log.js';

export const autonomyCommand = defineCommand({
  name: 'autonomy',
  usage: 'gatehouse autonomy [flags]',
  summary:
    'Keeps pods on autonomous edge nodes from being evicted while their node is NotReady or unreachable: for nodes annotated ' +
    'gatehouse.io/autonomy: "true" (or OpenYurt\'s node.openyurt.io/autonomy-duration), sets the pods\' NoExecute tolerations for ' +
    'node.kubernetes.io/unreachable and not-ready to the node\'s autonomy duration, and restores them when autonomy ends. ' +
    'DaemonSet and static pods are left alone.',
  flags: {
    kubeconfig: { type: 'string', valueName: 'PATH', description: 'A kubeconfig file (default: the service account in a pod, else $KUBECONFIG or ~/.kube/config)' },
    server: { type: 'string', valueName: 'URL', description: 'Connect to this API server URL instead of the kubeconfig\'s, with the same credentials' },
    'certificate-authority': { type: 'string', valueName: 'PATH', description: 'CA bundle (PEM) for the certificate of --server, in place of the kubeconfig\'s CA and tls-server-name' },
    'admin-address': { type: 'string', default: '127.0.0.1', valueName: 'ADDR', description: 'Address the admin API (/healthz, /readyz, /metrics, /status) listens on' },
    'admin-port': portFlag('Port of the admin API', 10266),
  },
});

export async function runAutonomy(argv: string[]): Promise<number> {
  let values;
  let kc;
  try {
    ({ values } = parseCommandLine(autonomyCommand, argv));
    if (values.help) {
      process.stdout.write(formatHelp(autonomyCommand) + '\n');
      return 0;
    }
    if (isIP(values['admin-address']) === 0) {
      throw new UsageError(`--admin-address ${JSON.stringify(values['admin-address'])} is not an IP address: give one such as 127.0.0.1 or 0.0.0.0`);
    }
    kc = loadKubeConfig(values.kubeconfig, values.server, values['certificate-authority']);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`gatehouse autonomy: ${e.message}\nRun "gatehouse autonomy --help" for the flags.\n`);
      return 2;
    }
    throw e;
  }

  const log = jsonLog;
  const stopped = untilSignal(log);
  const controller = new AutonomyController({ kc, log });
  let admin;
  try {
    admin = await startAdminServer(values['admin-port'], {
      ready: () => controller.synced,
      status: () => controller.status(),
      notReady: 'nodes and pods have not been listed from the API server yet',
    }, controller.metrics, values['admin-address']);
  } catch (e) {
    log('error', `the admin API cannot listen on ${values['admin-address']}:${values['admin-port']}: ${e instanceof Error ? e.message : String(e)}; give another --admin-port`);
    return 1;
  }
  log('info', 'gatehouse autonomy starting', { server: kc.getCurrentCluster()?.server, admin: `${values['admin-address']}:${admin.port}` });
  controller.start();

  await stopped;
  await controller.stop();
  await admin.close();
  log('info', 'stopped');
  return 0;
}
