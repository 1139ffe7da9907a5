import { isAbsolute, join } from 'node:path';

/**
 * Where the data plane's files live under the state directory. Every path written into the HAProxy
 * configuration comes from here, so the state directory itself must be a plain absolute path.
 */
export interface Layout {
  stateDir: string;
  config: string;
  runtimeSocket: string;
  masterSocket: string;
  /** Where the gateway receives HAProxy's flow log (observe/receiver.ts). */
  flowSocket: string;
  crtList: string;
  defaultCert: string;
  hostsMap: string;
  exactMap: string;
  prefixMap: string;
  defaultMap: string;
  /** The controller's snapshot of the last good cluster state (not read by HAProxy). */
  snapshot: string;
  certFile(name: string): string;
  caFile(backend: string): string;
}

const SAFE_PATH = /^\/[A-Za-z0-9._\/-]*$/;

export function layout(stateDir: string): Layout {
  if (!isAbsolute(stateDir) || !SAFE_PATH.test(stateDir)) {
    throw new Error(
      `state directory "${stateDir}" must be an absolute path of letters, digits and . _ - / only ` +
        `(it is written into HAProxy's configuration): choose another --state-dir`,
    );
  }
  return {
    stateDir,
    config: join(stateDir, 'haproxy.cfg'),
    runtimeSocket: join(stateDir, 'run', 'haproxy.sock'),
    masterSocket: join(stateDir, 'run', 'master.sock'),
    flowSocket: join(stateDir, 'run', 'flows.sock'),
    crtList: join(stateDir, 'crt-list.txt'),
    defaultCert: join(stateDir, 'certs', 'default.pem'),
    hostsMap: join(stateDir, 'maps', 'hosts.map'),
    exactMap: join(stateDir, 'maps', 'exact.map'),
    prefixMap: join(stateDir, 'maps', 'prefix.map'),
    defaultMap: join(stateDir, 'maps', 'default.map'),
    snapshot: join(stateDir, 'snapshot.json'),
    certFile: (name) => join(stateDir, 'certs', `${name}.pem`),
    caFile: (backend) => join(stateDir, 'ca', `${backend}.pem`),
  };
}
