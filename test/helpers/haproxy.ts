import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { isRunning, killAll } from './processes.js';
import { waitFor } from './wait.js';

export interface PlainHaproxy {
  pid: number;
  adminSocket: string;
  /** Everything HAProxy printed so far. */
  output: () => string;
  stop(): Promise<void>;
}

/**
 * A plain HAProxy (`haproxy -db -f`, one process, no master) running `config` written to
 * `dir/haproxy.cfg`, for tests that need a data plane but not the supervisor. `config` must declare
 * `stats socket <dir>/admin.sock … level admin`. Resolves once that socket answers.
 */
export async function startPlainHaproxy(dir: string, config: string): Promise<PlainHaproxy> {
  const configPath = join(dir, 'haproxy.cfg');
  const adminSocket = join(dir, 'admin.sock');
  writeFileSync(configPath, config);
  const child = spawn('haproxy', ['-db', '-f', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  const pid = child.pid ?? -1;
  const stop = async (): Promise<void> => {
    if (!exited) child.kill('SIGTERM');
    await waitFor(() => exited || !isRunning(pid), 5000, `haproxy ${pid} to exit`).catch(() => killAll([pid]));
  };
  try {
    await waitFor(async () => {
      if (exited) throw new Error(`haproxy exited before serving:\n${out}`);
      return answers(adminSocket);
    }, 10_000, `haproxy admin socket ${adminSocket}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid, adminSocket, output: () => out, stop };
}

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    let text = '';
    const s = connect(socketPath, () => s.end('show info\n'));
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(/^Pid: \d+$/m.test(text)));
  });
}
