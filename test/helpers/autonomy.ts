import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

/** GET /status of `gatehouse autonomy` (src/autonomy/controller.ts AutonomyStatus). */
export interface AutonomyStatusDoc {
  synced: boolean;
  nodes: {
    autonomous: { name: string; duration: string; seconds: number | null; annotation: string; value: string }[];
    invalid: { name: string; annotation: string; value: string; problem: string; fix: string }[];
  };
  pods: { watched: number; managed: number; pending: number; retrying: number };
  writes: { set: number; restore: number; conflicts: number; errors: number };
  lastError: { time: string; pod: string; message: string } | null;
}

export interface RunningAutonomy {
  adminPort: number;
  process: ChildProcess;
  /** stdout and stderr so far. */
  logs(): string;
  /** The JSON log lines so far (stderr lines that parse). */
  logLines(): Record<string, unknown>[];
  status(): Promise<AutonomyStatusDoc>;
  metrics(): Promise<string>;
  /** GET /readyz's status code. */
  readyz(): Promise<number>;
  /** Waits until `until` holds for /status. */
  waitStatus(until: (s: AutonomyStatusDoc) => boolean, what: string, timeoutMs?: number): Promise<AutonomyStatusDoc>;
  /** Waits until the controller has listed and has no pod queued or in progress. */
  waitIdle(timeoutMs?: number): Promise<AutonomyStatusDoc>;
  /** SIGTERM (or `signal`), and waits for the exit; returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface AutonomyOptions {
  args?: string[];
  /** Wait for /readyz 200 before returning (default true). */
  waitReady?: boolean;
}

/** Starts `gatehouse autonomy` as a real process, connected with `kubeconfig`, its admin API on a free loopback port. */
export async function startAutonomy(kubeconfig: string, opts: AutonomyOptions = {}): Promise<RunningAutonomy> {
  const adminPort = await freePort();
  let output = '';
  let stderr = '';
  const child = spawn(process.execPath, [CLI, 'autonomy', '--kubeconfig', kubeconfig, '--admin-address', '127.0.0.1', '--admin-port', String(adminPort), ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
    stderr += d.toString();
  });
  const admin = `http://127.0.0.1:${adminPort}`;
  const status = async (): Promise<AutonomyStatusDoc> => (await (await fetch(`${admin}/status`)).json()) as AutonomyStatusDoc;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const tail = () => output.slice(-4000);
  const run: RunningAutonomy = {
    adminPort,
    process: child,
    logs: () => output,
    logLines: () =>
      stderr.split('\n').flatMap((line) => {
        try {
          const v: unknown = JSON.parse(line);
          return typeof v === 'object' && v !== null ? [v as Record<string, unknown>] : [];
        } catch {
          return [];
        }
      }),
    status,
    metrics: async () => (await fetch(`${admin}/metrics`)).text(),
    readyz: async () => (await fetch(`${admin}/readyz`)).status,
    async waitStatus(until, what, timeoutMs = 10_000) {
      let last: AutonomyStatusDoc | undefined;
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`gatehouse autonomy exited with ${child.exitCode}: ${tail()}`);
        try {
          last = await status();
        } catch {
          return false;
        }
        return until(last);
      }, timeoutMs, `${what} (logs: ${tail()})`);
      return last!;
    },
    waitIdle(timeoutMs) {
      return run.waitStatus((s) => s.synced && s.pods.pending === 0, 'the controller synced and idle', timeoutMs);
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  if (opts.waitReady !== false) {
    try {
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`gatehouse autonomy exited with ${child.exitCode}: ${output}`);
        try {
          return (await fetch(`${admin}/readyz`)).status === 200;
        } catch {
          return false;
        }
      }, 15_000, `gatehouse autonomy ready (logs: ${tail()})`);
    } catch (err) {
      await run.stop();
      throw err;
    }
  }
  return run;
}
