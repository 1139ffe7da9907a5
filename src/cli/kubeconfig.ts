/** The cluster connection the commands that talk to kube-apiserver share (controller, autonomy). */
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { UsageError } from './args.js';

/**
 * --kubeconfig PATH, else the pod's service account, else $KUBECONFIG or ~/.kube/config. With
 * `server`, the current context's cluster is reached at that URL instead, with the same credentials
 * (e.g. a node-local edge-hub in front of the API server); with `caFile`, its certificate is checked
 * against that CA bundle instead of the cluster's, and the kubeconfig's tls-server-name is dropped. Throws UsageError.
 */
export function loadKubeConfig(path: string | undefined, server?: string, caFile?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path !== undefined) kc.loadFromFile(path);
    else if (process.env['KUBERNETES_SERVICE_HOST']) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (e) {
    throw new UsageError(`reading the cluster configuration failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new UsageError('no cluster to connect to: give --kubeconfig PATH, or run in a pod');
  if (server === undefined && caFile === undefined) return kc;
  if (caFile !== undefined && !existsSync(caFile)) throw new UsageError(`--certificate-authority ${caFile}: no such file`);
  let url: URL;
  try {
    url = new URL(server ?? cluster.server);
  } catch {
    throw new UsageError(`--server ${JSON.stringify(server)} is not a URL: give one such as https://127.0.0.1:10268`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`--server ${JSON.stringify(server)} must be an https:// (or http://) URL`);
  }
  // A CA of its own means the server's certificate is checked afresh: the kubeconfig's CA and the
  // name it was checked against (tls-server-name) belong to the old server. Without one, both stay.
  const { caData: _caData, tlsServerName: _name, ...rest } = cluster;
  const moved = {
    ...(caFile !== undefined ? { ...rest, caFile } : cluster),
    server: url.href.replace(/\/+$/, ''),
  };
  kc.loadFromOptions({
    clusters: kc.clusters.map((c) => (c.name === cluster.name ? moved : c)),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.getCurrentContext(),
  });
  return kc;
}
