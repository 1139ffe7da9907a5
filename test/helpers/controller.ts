import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from './client.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';
import type { GatewayStatusDoc } from './gateway.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

export interface ControllerStatusDoc extends GatewayStatusDoc {
  kubernetes: { synced: boolean; servingSnapshot: boolean; leader: boolean; identity: string; syncLagSeconds: number };
}

export interface RunningController {
  stateDir: string;
  httpPort: number;
  httpsPort: number;
  adminPort: number;
  process: ChildProcess;
  logs(): string;
  status(): Promise<ControllerStatusDoc>;
  metrics(): Promise<string>;
  /** GET /readyz's status code. */
  readyz(): Promise<number>;
  /** Waits until `until` holds for /status. */
  waitStatus(until: (s: ControllerStatusDoc) => boolean, what: string, timeoutMs?: number): Promise<ControllerStatusDoc>;
  /** SIGTERM, and waits for the exit; returns the exit code. */
  stop(): Promise<number | null>;
}

export interface ControllerOptions {
  /** Reuse a state directory (the snapshot in it); default: a new one. */
  stateDir?: string;
  args?: string[];
  /** Wait for /readyz 200 before returning (default true). */
  waitReady?: boolean;
}

/** One value of a Prometheus metric from the text format (the sum over series matching `labels`). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const set = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** Starts `gatehouse controller` as a real process, connected to `kubeconfig`, on free loopback ports. */
export async function startController(kubeconfig: string, opts: ControllerOptions = {}): Promise<RunningController> {
  const stateDir = opts.stateDir ?? join(mkdtempSync(join(tmpdir(), 'gh-ctl-')), 'state');
  const [httpPort, httpsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  let output = '';
  const child = spawn(process.execPath, [
    CLI, 'controller', '--kubeconfig', kubeconfig, '--configmap', 'gatehouse/gatehouse',
    '--http-port', String(httpPort), '--https-port', String(httpsPort), '--admin-port', String(adminPort),
    '--state-dir', stateDir, '--listen-address', '127.0.0.1', ...(opts.args ?? []),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const admin = `http://127.0.0.1:${adminPort}`;
  const status = async (): Promise<ControllerStatusDoc> => (await (await fetch(`${admin}/status`)).json()) as ControllerStatusDoc;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ctl: RunningController = {
    stateDir, httpPort, httpsPort, adminPort, process: child,
    logs: () => output,
    status,
    metrics: async () => (await fetch(`${admin}/metrics`)).text(),
    readyz: async () => (await fetch(`${admin}/readyz`)).status,
    async waitStatus(until, what, timeoutMs = 10_000) {
      let last: ControllerStatusDoc | undefined;
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`gatehouse controller exited with ${child.exitCode}: ${output.slice(-3000)}`);
        try {
          last = await status();
        } catch {
          return false;
        }
        return until(last);
      }, timeoutMs, `${what} (logs: ${output.slice(-3000)})`);
      return last!;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  if (opts.waitReady !== false) {
    try {
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`gatehouse controller exited with ${child.exitCode}: ${output}`);
        try {
          return (await fetch(`${admin}/readyz`)).status === 200;
        } catch {
          return false;
        }
      }, 15_000, `gatehouse controller ready (logs: ${output.slice(-3000)})`);
    } catch (err) {
      await ctl.stop();
      throw err;
    }
  }
  return ctl;
}

/** The backend answering `host` on the controller's HTTP port, or the status code when none does. */
export async function answer(ctl: RunningController, host = 'shop.example', path = '/'): Promise<string> {
  try {
    const r = await request(ctl.httpPort, { host, path });
    return r.backend ?? String(r.status);
  } catch (e) {
    return `error ${String(e)}`;
  }
}

/** Waits until `host` (and `path`) is answered by the backend `want` (or that status code). */
export async function until(ctl: RunningController, want: string, what: string, host = 'shop.example', path = '/'): Promise<void> {
  let last = '';
  await waitFor(async () => (last = await answer(ctl, host, path)) === want, 15_000, `${what}: ${host} answered by ${want} (last: ${last}; logs: ${ctl.logs().slice(-1500)})`);
}
