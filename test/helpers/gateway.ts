import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

export interface RunningGateway {
  dir: string;
  manifests: string;
  httpPort: number;
  httpsPort: number;
  adminPort: number;
  process: ChildProcess;
  /** Everything the gateway logged so far (JSON lines). */
  logs: () => string;
  status(): Promise<GatewayStatusDoc>;
  metrics(): Promise<string>;
  /**
   * Writes the manifests file and waits until `until` holds for the status (by default: a newer
   * generation was applied).
   */
  update(yaml: string, until?: (s: GatewayStatusDoc) => boolean): Promise<GatewayStatusDoc>;
  stop(): Promise<void>;
}

export interface GatewayStatusDoc {
  generation: number;
  ready: boolean;
  lastError: string | null;
  haproxy: { masterPid?: number; workerPid?: number; reloads: number; restarts: number };
  reloads: Record<string, number>;
  diagnostics: Array<{ severity: string; object: { kind: string; namespace: string; name: string }; field: string; message: string }>;
  rejected: Array<{ kind: string; namespace: string; name: string }>;
  backends: Array<{ name: string; endpoints: Array<{ address: string; port: number }> }>;
  certificates: Array<{ name: string; hosts: string[] }>;
  routes: unknown[];
}

export interface StartOptions {
  /** The gateway's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Wait for /readyz 200 (default), or only for a first configuration applied (a gateway that is not meant to be ready). */
  wait?: 'ready' | 'applied';
  /** How long start and update() wait (default 10 s and 5 s); large configurations take longer. */
  timeoutMs?: number;
}

/** Starts `gatehouse run` as a real process on free loopback ports with `yaml` as its manifests. */
export async function startGateway(yaml: string, extraArgs: string[] = [], opts: StartOptions = {}): Promise<RunningGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-e2e-'));
  const manifests = join(dir, 'manifests.yaml');
  writeFileSync(manifests, yaml);
  const [httpPort, httpsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  let output = '';
  const child = spawn(process.execPath, [
    CLI, 'run', '--manifests', manifests, '--http-port', String(httpPort), '--https-port', String(httpsPort),
    '--admin-port', String(adminPort), '--state-dir', join(dir, 'state'), '--listen-address', '127.0.0.1', ...extraArgs,
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const admin = `http://127.0.0.1:${adminPort}`;
  const status = async (): Promise<GatewayStatusDoc> => (await (await fetch(`${admin}/status`)).json()) as GatewayStatusDoc;
  const gw: RunningGateway = {
    dir, manifests, httpPort, httpsPort, adminPort, process: child,
    logs: () => output,
    status,
    metrics: async () => (await fetch(`${admin}/metrics`)).text(),
    async update(text: string, until?: (s: GatewayStatusDoc) => boolean) {
      const before = (await status()).generation;
      const done = until ?? ((s: GatewayStatusDoc) => s.generation > before);
      writeFileSync(manifests, text);
      let last: GatewayStatusDoc | undefined;
      await waitFor(async () => {
        last = await status();
        return done(last);
      }, opts.timeoutMs ?? 5000, `the update to be applied (generation was ${before}; logs: ${output.slice(-2000)})`);
      return last!;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`gatehouse exited with ${child.exitCode}: ${output}`);
      try {
        if (opts.wait === 'applied') return (await status()).generation > 0;
        return (await fetch(`${admin}/readyz`)).status === 200;
      } catch {
        return false;
      }
    }, opts.timeoutMs ?? 10000, `gatehouse ${opts.wait ?? 'ready'} (logs: ${output.slice(-2000)})`);
  } catch (err) {
    await gw.stop();
    throw err;
  }
  return gw;
}
