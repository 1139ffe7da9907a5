import { runToEnd, startProcess } from './procs.js';

export interface WrkOptions {
  /** http://127.0.0.1:PORT/PATH (wrk speaks HTTP/1.1 only). */
  url: string;
  connections: number;
  headers?: Record<string, string>;
  /** wrk's own limit (-d): it stops by itself after this many seconds if stop() was not called. */
  maxSeconds: number;
  /** A request taking longer than this counts as a timeout (-T). Default 2 s, wrk's default. */
  timeoutSeconds?: number;
}

export interface WrkResult {
  requests: number;
  seconds: number;
  /** Responses with a status other than 2xx or 3xx. */
  non2xx3xx: number;
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  timeouts: number;
  /** Every request that did not end in a 2xx/3xx answer: the sum of the above errors. */
  failed: number;
}

export interface RunningWrk {
  /** Ends the run (SIGINT: wrk stops and prints what it counted so far) and returns its figures. */
  stop(): Promise<WrkResult>;
}

/**
 * Starts wrk (one thread) in the background for open-ended load, e.g. while something else happens;
 * stop() ends it. It is also ended by bench/lib/procs.ts stopAll() if the benchmark fails first.
 */
export function startWrk(o: WrkOptions): RunningWrk {
  const args = ['-t', '1', '-c', String(o.connections), '-d', `${o.maxSeconds}s`, '-T', `${o.timeoutSeconds ?? 2}s`];
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(o.url);
  const proc = startProcess('wrk', args);
  // 'close': exited and its output read to the end
  const exited = new Promise<void>((resolve) => proc.child.once('close', () => resolve()));
  return {
    async stop() {
      proc.child.kill('SIGINT');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 10_000)));
      const how = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (how === 'late') {
        await proc.stop();
        throw new Error(`wrk did not stop on SIGINT:\n${proc.output()}`);
      }
      await proc.stop();
      return parseWrk(proc.output());
    },
  };
}

/** wrk's summary: `N requests in 1.50s`, `Socket errors: connect a, read b, write c, timeout d`, `Non-2xx or 3xx responses: n`. */
export function parseWrk(out: string): WrkResult {
  const total = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(out);
  if (!total) throw new Error(`wrk printed no summary:\n${out.slice(-2000)}`);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const unit = total[3] === 'ms' ? 0.001 : total[3] === 'm' ? 60 : 1;
  const r = {
    requests: Number(total[1]),
    seconds: Number(total[2]) * unit,
    non2xx3xx: non ? Number(non[1]) : 0,
    connectErrors: sock ? Number(sock[1]) : 0,
    readErrors: sock ? Number(sock[2]) : 0,
    writeErrors: sock ? Number(sock[3]) : 0,
    timeouts: sock ? Number(sock[4]) : 0,
  };
  return { ...r, failed: r.non2xx3xx + r.connectErrors + r.readErrors + r.writeErrors + r.timeouts };
}

export interface TimedWrkResult extends WrkResult {
  requestsPerSecond: number;
  /** Latency percentiles wrk prints with --latency (its histogram, all connections). */
  p50Ms: number;
  p99Ms: number;
}

/** Runs wrk (one thread) for `seconds` (whole seconds: wrk takes no fractions) and returns its figures and latency. */
export async function runWrk(o: Omit<WrkOptions, 'maxSeconds'> & { seconds: number }): Promise<TimedWrkResult> {
  const seconds = Math.max(1, Math.round(o.seconds));
  const args = ['-t', '1', '-c', String(o.connections), '-d', `${seconds}s`, '-T', `${o.timeoutSeconds ?? 2}s`, '--latency'];
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(o.url);
  const { stdout } = await runToEnd('wrk', args, (seconds + 30) * 1000);
  const r = parseWrk(stdout);
  return { ...r, requestsPerSecond: r.requests / r.seconds, ...parseWrkLatency(stdout) };
}

/** The 50 % and 99 % lines of wrk's `Latency Distribution` (--latency), in ms. */
export function parseWrkLatency(out: string): { p50Ms: number; p99Ms: number } {
  const at = (p: number): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    if (!m) return NaN;
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as 'us' | 'ms' | 's' | 'm'];
  };
  return { p50Ms: at(50), p99Ms: at(99) };
}
