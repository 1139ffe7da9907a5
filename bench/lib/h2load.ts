import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile } from './stats.js';
import { runToEnd } from './procs.js';

export interface H2loadOptions {
  /** https://NAME:PORT/PATH or http://…; NAME is sent as SNI and :authority/Host. */
  url: string;
  /** Where to connect instead of NAME (default 127.0.0.1 and the URL's port). */
  connectTo?: string;
  protocol: 'h1' | 'h2';
  clients: number;
  /** Streams per HTTP/2 connection (-m). Default 1. */
  streams?: number;
  /** A measured run of this many seconds after `warmupSeconds` (-D), or exactly `requests` (-n). */
  seconds?: number;
  warmupSeconds?: number;
  requests?: number;
  headers?: Record<string, string>;
}

export interface H2loadResult {
  requests: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeouts: number;
  /** Requests with a 2xx status. */
  ok: number;
  /** Requests with a 3xx, 4xx or 5xx status. */
  non2xx: number;
  requestsPerSecond: number;
  seconds: number;
  /** Latency of each request (from its start to the end of its response), from --log-file. */
  p50Ms: number;
  p99Ms: number;
  tlsProtocol: string | undefined;
  /** Bytes of response bodies received (h2load's `data` traffic), when it printed them. */
  dataBytes?: number;
}

/** Runs h2load (nghttp2-client) once, one client thread, and parses its summary and per-request log. */
export async function h2load(o: H2loadOptions): Promise<H2loadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-h2load-'));
  const log = join(dir, 'requests.log');
  const url = new URL(o.url);
  const args = ['-t', '1', '-c', String(o.clients), '-m', String(o.streams ?? 1), '--log-file', log];
  if (o.protocol === 'h1') args.push('--h1');
  // h2load takes whole numbers or a unit ("0.5" is refused, "500ms" is not): durations go in ms.
  if (o.seconds !== undefined) args.push('-D', `${Math.round(o.seconds * 1000)}ms`, '--warm-up-time', `${Math.round((o.warmupSeconds ?? 1) * 1000)}ms`);
  else args.push('-n', String(o.requests ?? o.clients));
  args.push('--connect-to', o.connectTo ?? `127.0.0.1:${url.port}`);
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(o.url);
  const limitMs = ((o.seconds ?? 60) + (o.warmupSeconds ?? 1) + 30) * 1000;
  try {
    const { stdout } = await runToEnd('h2load', args, limitMs);
    return { ...parseSummary(stdout), ...latencies(readFileSync(log, 'utf8')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function parseSummary(out: string): Omit<H2loadResult, 'p50Ms' | 'p99Ms'> {
  const finished = /finished in ([\d.]+)(ms|s), ([\d.]+) req\/s/.exec(out);
  const req = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (!finished || !req) throw new Error(`h2load printed no summary:\n${out.slice(-2000)}`);
  return {
    seconds: Number(finished[1]) / (finished[2] === 'ms' ? 1000 : 1),
    requestsPerSecond: Number(finished[3]),
    requests: Number(req[1]),
    succeeded: Number(req[2]),
    failed: Number(req[3]),
    errored: Number(req[4]),
    timeouts: Number(req[5]),
    ok: codes ? Number(codes[1]) : 0,
    non2xx: codes ? Number(codes[2]) + Number(codes[3]) + Number(codes[4]) : 0,
    tlsProtocol: /TLS Protocol: (\S+)/.exec(out)?.[1],
    dataBytes: ((d) => (d ? Number(d[1]) : undefined))(/traffic: .*\((\d+)\) data/.exec(out)),
  };
}

/** p50 and p99 from h2load's log: start (µs), status, duration (µs) per line. */
function latencies(log: string): { p50Ms: number; p99Ms: number } {
  const durations = log
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((f) => f.length >= 3)
    .map((f) => Number(f[2]) / 1000);
  return { p50Ms: percentile(durations, 50), p99Ms: percentile(durations, 99) };
}
