import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

export interface EdgeHubStatusDoc {
  state: 'online' | 'offline';
  heldWatches: number;
  hits: number;
  misses: number;
  refusedWrites: number;
  cache: { entries: number; bytes: number; maxBytes: number; evictions: number; corrupt: number; recovered: { entries: number; leftoversRemoved: number; corrupt: unknown[] } };
}

export interface RunningEdgeHub {
  httpPort: number;
  httpsPort: number;
  adminPort: number;
  /** The directory given as --cache-dir. */
  dir: string;
  process: ChildProcess;
  logs(): string;
  status(): Promise<EdgeHubStatusDoc>;
  metrics(): Promise<string>;
  waitState(state: 'online' | 'offline', timeoutMs?: number): Promise<void>;
  /** A kubeconfig for the https listener (trusting the hub's generated certificate) with this bearer token. */
  kubeconfig(token: string): string;
  /** SIGTERM and wait; returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

export interface EdgeHubTestOptions {
  /** Reuse a cache directory (a restart); default: a new one. */
  dir?: string;
  args?: string[];
}

/**
 * Starts `gatehouse edge-hub` as a real process in front of the API server of `kubeconfig`, on free
 * loopback ports, probing every 100 ms and back online after 2 good probes. Resolves once its admin
 * API answers.
 */
export async function startEdgeHub(kubeconfig: string, opts: EdgeHubTestOptions = {}): Promise<RunningEdgeHub> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'gh-edgehub-'));
  // Tests restart hubs on the same directory, so it goes when the test process ends.
  if (opts.dir === undefined) process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const [httpPort, httpsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  let output = '';
  const child = spawn(process.execPath, [
    CLI, 'edge-hub', '--kubeconfig', kubeconfig, '--cache-dir', dir,
    '--listen', `http://127.0.0.1:${httpPort}`, '--listen', `https://127.0.0.1:${httpsPort}`, '--admin-port', String(adminPort),
    '--probe-interval', '100ms', '--probe-timeout', '1s', '--online-after', '2', ...(opts.args ?? []),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const admin = `http://127.0.0.1:${adminPort}`;
  const status = async () => (await (await fetch(`${admin}/status`)).json()) as EdgeHubStatusDoc;
  const alive = () => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`edge-hub exited (${child.exitCode ?? child.signalCode}): ${output.slice(-3000)}`);
  };
  const hub: RunningEdgeHub = {
    httpPort, httpsPort, adminPort, dir, process: child,
    logs: () => output,
    status,
    metrics: async () => (await fetch(`${admin}/metrics`)).text(),
    async waitState(state, timeoutMs = 10_000) {
      await waitFor(async () => {
        alive();
        try {
          return (await status()).state === state;
        } catch {
          return false;
        }
      }, timeoutMs, `edge-hub ${state} (logs: ${output.slice(-2000)})`);
    },
    kubeconfig(token) {
      const path = join(dir, `client-${token.slice(0, 8)}.kubeconfig`);
      writeFileSync(path, [
        'apiVersion: v1', 'kind: Config',
        'clusters:', '- name: hub', '  cluster:', `    server: https://127.0.0.1:${httpsPort}`, `    certificate-authority: ${join(dir, 'tls', 'tls.crt')}`,
        'users:', '- name: u', '  user:', `    token: ${token}`,
        'contexts:', '- name: hub', '  context:', '    cluster: hub', '    user: u', '    namespace: default',
        'current-context: hub', '',
      ].join('\n'));
      return path;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      return child.exitCode;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  try {
    await waitFor(async () => {
      alive();
      try {
        return (await fetch(`${admin}/healthz`)).ok;
      } catch {
        return false;
      }
    }, 15_000, `edge-hub admin API (logs: ${output.slice(-2000)})`);
  } catch (e) {
    await hub.kill();
    throw e;
  }
  return hub;
}
