import { spawn } from 'node:child_process';

export interface ConfigCheck {
  /** `haproxy -c` exited 0. */
  ok: boolean;
  /** Everything HAProxy printed (stdout then stderr), e.g. `[ALERT] … parsing [x.cfg:18] : unknown keyword …`. */
  output: string;
  /** The `[ALERT]` lines of `output`, without the `[ALERT]    (pid) : ` prefix. */
  alerts: string[];
}

/**
 * `haproxy -c -f <configPath>`: does HAProxy accept this configuration? Never throws for a rejected
 * configuration (that is `ok: false` with HAProxy's words in `output`); rejects only when the binary
 * cannot be run at all.
 */
export function checkConfig(binary: string, configPath: string, opts: { timeoutMs?: number } = {}): Promise<ConfigCheck> {
  return new Promise<ConfigCheck>((resolve, reject) => {
    const child = spawn(binary, ['-c', '-f', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${binary} -c -f ${configPath}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let output = Buffer.concat(out).toString('utf8') + Buffer.concat(err).toString('utf8');
      if (signal) output += `\n${binary} -c was killed by ${signal}`;
      resolve({ ok: code === 0, output: output.trim(), alerts: alertLines(output) });
    });
  });
}

/** `[ALERT]    (123) : config : parsing …` → `config : parsing …`. */
export function alertLines(output: string): string[] {
  const alerts: string[] = [];
  for (const line of output.split('\n')) {
    const m = /^\[ALERT\]\s*(?:\(\d+\)\s*)?:\s?(.*)$/.exec(line);
    if (m?.[1] !== undefined) alerts.push(m[1]);
  }
  return alerts;
}
