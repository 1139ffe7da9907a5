import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { startGateway, type RunningGateway } from '../test/helpers/gateway.js';
import { freePort } from '../test/helpers/ports.js';
import { h2load, type H2loadResult } from './lib/h2load.js';
import { FLOW_LOG_FULL, FLOW_LOG_SMOKE, measureFlowLogCost } from './proxy-flowlog.js';
import { totalCpuSeconds } from './lib/procs.js';
import type { Bench, BenchContext, Cell, Measured } from './lib/result.js';
import { startBackend, startReferenceNginx, type Server } from './lib/servers.js';
import { certFiles, HOST, siteManifests } from './lib/site.js';
import { ratio, stat, type Stat } from './lib/stats.js';

/**
 * Proxying: HTTPS keep-alive requests per second and latency through the gateway, through nginx set up
 * as ingress-nginx sets it up, and straight to the backend (the 100 %), over HTTP/1.1 and HTTP/2, for a
 * 2-byte and a 16 KiB answer. Then what the gateway's flow log costs (proxy-flowlog.ts): small plain HTTP
 * requests with it on, with it off, and straight to the backend.
 */

type Protocol = 'h1' | 'h2';

interface Path {
  key: string;
  label: string;
}

interface Combo {
  protocol: Protocol;
  size: 'small' | '16k';
}

/** Where requests go: each path is a TLS listener on 127.0.0.1 in front of (or being) the backend. */
const PATHS: Path[] = [
  { key: 'direct', label: 'direct to the backend' },
  { key: 'gateway', label: 'gateway' },
  { key: 'nginx', label: 'nginx (ingress-nginx defaults)' },
  { key: 'nginx-log', label: 'nginx + access log' },
];

const COMBOS: Combo[] = [
  { protocol: 'h1', size: 'small' },
  { protocol: 'h1', size: '16k' },
  { protocol: 'h2', size: 'small' },
  { protocol: 'h2', size: '16k' },
];

/** Concurrency: 32 requests in flight either way, on 32 HTTP/1.1 connections or 8 HTTP/2 connections of 4 streams. */
const LOAD: Record<Protocol, { clients: number; streams: number }> = {
  h1: { clients: 32, streams: 1 },
  h2: { clients: 8, streams: 4 },
};

/**
 * nginx's requests per client connection (ingress-nginx: 1000). HAProxy sets no such limit; at nginx's,
 * the streams an HTTP/2 client has already sent past the GOAWAY are refused, which h2load counts as errors.
 */
const KEEPALIVE_REQUESTS = 1_000_000;

interface Plan {
  runs: number;
  seconds: number;
  warmupSeconds: number;
}

const FULL: Plan = { runs: 5, seconds: 5, warmupSeconds: 1 };
const SMOKE: Plan = { runs: 1, seconds: 0.5, warmupSeconds: 0.2 };

const PROTOCOL_LABEL: Record<Protocol, string> = { h1: 'HTTP/1.1', h2: 'HTTP/2' };
const SIZE_LABEL: Record<Combo['size'], string> = { small: '2 B', '16k': '16 KiB' };
const URL_PATH: Record<Combo['size'], string> = { small: '/', '16k': '/16k' };
const BODY_BYTES: Record<Combo['size'], number> = { small: 2, '16k': 16 * 1024 };

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  /** CPU time of the server processes of the path (the proxy; direct: the backend) per request, µs. */
  cpuUs: number;
}

interface Target {
  port: number;
  /** The processes that do the path's work, looked up at each run (HAProxy's worker can change). */
  pids(): Promise<number[]>;
}

/**
 * Throws unless every request of the run was answered 2xx. In a timed run h2load counts a response in the
 * status codes when its headers come and in the requests when it ends, so the two can differ by the requests
 * in flight at the end of the warm-up or of the run (`slack`); no other status may appear at all.
 */
export function checkRun(where: string, r: H2loadResult, slack: number): void {
  const problems: string[] = [];
  if (r.requests <= 0) problems.push('no requests were made');
  if (r.non2xx > 0) problems.push(`${r.non2xx} requests were answered with a status other than 2xx`);
  if (r.failed > 0 || r.errored > 0 || r.timeouts > 0) problems.push(`${r.failed} failed, ${r.errored} errored, ${r.timeouts} timed out`);
  if (Math.abs(r.requests - r.ok) > slack) problems.push(`${r.ok} of ${r.requests} requests were answered 2xx`);
  if (!(r.requestsPerSecond > 0) || !Number.isFinite(r.p50Ms) || !Number.isFinite(r.p99Ms)) problems.push('no rate or latency was measured');
  if (problems.length > 0) throw new Error(`proxy: ${where}: ${problems.join('; ')}; a run with errors gives no figures`);
}

/**
 * A few requests by count before the timed runs: each must be 2xx with exactly the expected body. (In a
 * timed run h2load's byte counts include requests cut by the end of the warm-up or of the run, so the body
 * size is checked here.)
 */
async function checkPath(target: Target, combo: Combo, where: string): Promise<void> {
  const requests = 8;
  const r = await h2load({ url: `https://${HOST}:${target.port}${URL_PATH[combo.size]}`, protocol: combo.protocol, clients: 2, requests });
  checkRun(where, r, 0);
  if (r.requests !== requests) throw new Error(`proxy: ${where}: ${r.requests} of ${requests} requests were made`);
  const expected = requests * BODY_BYTES[combo.size];
  if (r.dataBytes !== expected) throw new Error(`proxy: ${where}: ${r.dataBytes ?? 'no'} bytes of body came back for ${requests} requests, not ${expected}`);
}

async function measureOnce(target: Target, combo: Combo, plan: Plan, where: string): Promise<Figures> {
  const pids = await target.pids();
  const cpuBefore = totalCpuSeconds(pids);
  const started = process.hrtime.bigint();
  const r = await h2load({
    url: `https://${HOST}:${target.port}${URL_PATH[combo.size]}`,
    protocol: combo.protocol,
    clients: LOAD[combo.protocol].clients,
    streams: LOAD[combo.protocol].streams,
    seconds: plan.seconds,
    warmupSeconds: plan.warmupSeconds,
  });
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuSeconds = totalCpuSeconds(pids) - cpuBefore;
  checkRun(where, r, LOAD[combo.protocol].clients * LOAD[combo.protocol].streams);
  // CPU over the whole h2load run (warm-up included) divided by the requests it would have made at the measured rate
  const cpuUs = (cpuSeconds / wallSeconds / r.requestsPerSecond) * 1e6;
  return { rps: r.requestsPerSecond, p50: r.p50Ms, p99: r.p99Ms, cpuUs };
}

function comboKey(path: string, c: Combo): string {
  return `${path}/${c.protocol}/${c.size}`;
}

export const proxyBench: Bench = {
  name: 'proxy',
  title: 'Proxying: HTTPS keep-alive requests/s and latency, gateway vs nginx vs direct, and what the flow log costs',
  async run(ctx: BenchContext): Promise<Measured> {
    const plan = ctx.smoke ? SMOKE : FULL;
    const cert = certFiles('ec');
    const servers: Server[] = [];
    let gw: RunningGateway | undefined;
    try {
      const [backendHttp, backendHttps, nginxPort, nginxLogPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
      const backend = await startBackend(backendHttp, backendHttps, cert);
      servers.push(backend);
      const nginx = await startReferenceNginx(nginxPort, backendHttp, cert, { keepaliveRequests: KEEPALIVE_REQUESTS });
      servers.push(nginx);
      const nginxLog = await startReferenceNginx(nginxLogPort, backendHttp, cert, { accessLog: true, keepaliveRequests: KEEPALIVE_REQUESTS });
      servers.push(nginxLog);
      gw = await startGateway(siteManifests(backendHttp, cert));
      const gateway = gw;
      const targets: Record<string, Target> = {
        direct: { port: backendHttps, pids: async () => backend.workerPids() },
        gateway: {
          port: gateway.httpsPort,
          pids: async () => {
            const pid = (await gateway.status()).haproxy.workerPid;
            if (pid === undefined) throw new Error('proxy: the gateway reports no HAProxy worker');
            return [pid];
          },
        },
        nginx: { port: nginxPort, pids: async () => nginx.workerPids() },
        'nginx-log': { port: nginxLogPort, pids: async () => nginxLog.workerPids() },
      };

      for (const combo of COMBOS) for (const path of PATHS) await checkPath(targets[path.key]!, combo, comboKey(path.key, combo));

      // Runs are interleaved (run 1 of every path and combination, then run 2, …) so that a slow moment of
      // the machine spreads over all of them instead of landing on one path.
      const collected = new Map<string, Figures[]>();
      for (let run = 0; run < plan.runs; run++) {
        for (const combo of COMBOS) {
          for (const path of PATHS) {
            const key = comboKey(path.key, combo);
            const figures = await measureOnce(targets[path.key]!, combo, plan, `${key} run ${run + 1}`);
            collected.set(key, [...(collected.get(key) ?? []), figures]);
          }
        }
        ctx.log(`run ${run + 1} of ${plan.runs} done`);
      }

      const flowLog = await measureFlowLogCost(backendHttp, () => backend.workerPids(), ctx.smoke ? FLOW_LOG_SMOKE : FLOW_LOG_FULL, ctx.log);

      const rows: Cell[][] = [];
      for (const combo of COMBOS) {
        const of = (path: string, f: keyof Figures, unit: string): Stat => stat(collected.get(comboKey(path, combo))!.map((x) => x[f]), unit);
        const direct = of('direct', 'rps', '');
        for (const path of PATHS) {
          const rps = of(path.key, 'rps', '');
          rows.push([
            path.label,
            PROTOCOL_LABEL[combo.protocol],
            SIZE_LABEL[combo.size],
            rps,
            path.key === 'direct' ? '100%' : ratio(rps, direct),
            of(path.key, 'p50', 'ms'),
            of(path.key, 'p99', 'ms'),
            of(path.key, 'cpuUs', 'µs'),
          ]);
        }
      }

      return {
        method: [
          `h2load (one client thread) over TLS 1.3 with an ECDSA P-256 certificate, keep-alive: HTTP/1.1 on ${LOAD.h1.clients} connections, HTTP/2 on ${LOAD.h2.clients} connections of ${LOAD.h2.streams} streams (${LOAD.h1.clients} requests in flight either way).`,
          `Each figure is the median of ${plan.runs} run${plan.runs > 1 ? 's' : ''} of ${plan.seconds} s after ${plan.warmupSeconds} s of warm-up, with ± half the range of the runs; runs of all paths and combinations are interleaved.`,
          'Every path is first checked to answer 2xx with exactly the expected body, and every run must have all its requests answered 2xx, or the benchmark fails instead of reporting figures.',
          'Backend: nginx, one worker, answering from memory (2 B) or the page cache (16 KiB) over plain HTTP/1.1 on 127.0.0.1; "direct" is the same nginx over TLS on another port, with no proxy in between.',
          'Gateway: `gatehouse run` with one Ingress (TLS, one host, path /) to a Service on the backend, HAProxy with its default thread count (one per core).',
          'nginx: Debian nginx with the settings ingress-nginx renders by default (a worker per core, TLS, HTTP/2, 4 KiB TLS records and proxy buffers, keep-alive to clients and upstream, proxy headers, HSTS) but none of its Lua (balancer, metrics), and with keep-alive-requests raised from 1,000 to 1,000,000 (HAProxy has no such limit; at it, HTTP/2 streams already sent are refused); without, then with, ingress-nginx\'s default access log (its upstreaminfo format, to a file).',
          'CPU/req: user + system CPU of the path\'s server processes (the proxy; for direct, the backend) per request; the backend\'s own CPU is not included for the proxies.',
          'Load generator, proxy and backend share the machine\'s cores.',
          ...flowLog.method,
        ],
        tables: [
          {
            title: 'HTTPS keep-alive requests through each path',
            columns: ['path', 'protocol', 'response', 'req/s', '% of direct', 'p50', 'p99', 'CPU/req'],
            rows,
            notes: [
              '% of direct: the median req/s of the path over that of the direct connection with the same protocol and response.',
              'p50 / p99: latency of each request from its start to the end of its response, as h2load logs it.',
            ],
          },
          ...flowLog.tables,
        ],
        data: { flowLog: flowLog.data },
      };
    } finally {
      await gw?.stop();
      for (const s of servers.reverse()) await s.stop();
      rmSync(dirname(cert.cert), { recursive: true, force: true });
    }
  },
};
