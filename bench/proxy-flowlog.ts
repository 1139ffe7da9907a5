import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { startGateway, type RunningGateway } from '../test/helpers/gateway.js';
import type { Flow } from '../src/observe/flow.js';
import { cpuSeconds, totalCpuSeconds } from './lib/procs.js';
import type { Cell, Table } from './lib/result.js';
import { HOST, plainSiteManifests } from './lib/site.js';
import { formatNumber, ratio, stat, type Stat } from './lib/stats.js';
import { runWrk } from './lib/wrk.js';

/**
 * What the flow log costs: small requests over plain HTTP/1.1 keep-alive (wrk), straight to the backend,
 * through the gateway with its flow log on (the default) and through the same gateway with `--flow-buffer 0`
 * (no log lines rendered into HAProxy's configuration at all). The cheapest request there is, so the flow
 * log's part of it is as large as it gets.
 */

export interface FlowLogPlan {
  runs: number;
  /** wrk counts whole seconds. */
  seconds: number;
  /** A wrk run before each measured one, not counted (0: none). */
  warmupSeconds: number;
}

export const FLOW_LOG_FULL: FlowLogPlan = { runs: 5, seconds: 5, warmupSeconds: 1 };
export const FLOW_LOG_SMOKE: FlowLogPlan = { runs: 1, seconds: 1, warmupSeconds: 0 };

/** wrk's connections, as in the measurement docs/observe.md first reported. */
const CONNECTIONS = 20;

type Variant = 'direct' | 'flows-on' | 'flows-off';

const VARIANTS: Array<{ key: Variant; label: string }> = [
  { key: 'direct', label: 'direct to the backend' },
  { key: 'flows-on', label: 'gateway, flow log on (default)' },
  { key: 'flows-off', label: 'gateway, --flow-buffer 0' },
];

/** The ratios of req/s the comparison is about, each over runs made one right after the other. */
const RATIOS: Array<{ label: string; part: Variant; whole: Variant }> = [
  { label: 'flow log on / direct', part: 'flows-on', whole: 'direct' },
  { label: '--flow-buffer 0 / direct', part: 'flows-off', whole: 'direct' },
  { label: 'flow log on / --flow-buffer 0', part: 'flows-on', whole: 'flows-off' },
];

export interface FlowLogRun {
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU of HAProxy's worker (direct: the backend's nginx worker) per request, µs. */
  serverCpuUs: number;
  /** CPU of the gateway's own (Node) process per request, µs; 0 for direct. */
  gatewayCpuUs: number;
  /** Requests the gateway counted as flows (gatehouse_http_requests_total), null without a flow log. */
  flows: number | null;
}

/** What the smoke test asserts on, in the results JSON. */
export interface FlowLogData {
  runs: Record<Variant, FlowLogRun[]>;
  /** Per run: part / whole of req/s, by RATIOS label. */
  ratios: Record<string, number[]>;
  /** The newest flow /flows gave after the runs with the flow log on. */
  lastFlow: Flow;
  /** /flows' status with --flow-buffer 0 (404: no flow log), and whether HAProxy's configuration had one. */
  flowsOff: { flowsStatus: number; configHasFlowLog: boolean };
}

interface Target {
  port: number;
  serverPids(): Promise<number[]>;
  gateway?: RunningGateway;
}

/** GET `path` on 127.0.0.1:`port` with Host HOST: status and body (bounded by a 5 s timeout). */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: HOST }, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET 127.0.0.1:${port}${path}: no answer in 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** The sum of gatehouse_http_requests_total over its labels: the requests that became flows. */
export function flowsCounted(metrics: string): number {
  let sum = 0;
  for (const m of metrics.matchAll(/^gatehouse_http_requests_total(?:\{[^}]*\})? (\S+)$/gm)) sum += Number(m[1]);
  return sum;
}

/**
 * HAProxy's ring holds lines the gateway has not read yet when wrk ends: waits (at most 5 s) until the
 * gateway's count of flows stops moving, so that their CPU and count belong to the run.
 */
async function settledFlows(gw: RunningGateway): Promise<number> {
  const deadline = Date.now() + 5000;
  let last = flowsCounted(await gw.metrics());
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const now = flowsCounted(await gw.metrics());
    if (now === last) return now;
    last = now;
  }
  return last;
}

async function haproxyWorker(gw: RunningGateway): Promise<number[]> {
  const pid = (await gw.status()).haproxy.workerPid;
  if (pid === undefined) throw new Error('proxy: flow log: the gateway reports no HAProxy worker');
  return [pid];
}

async function measureOnce(key: Variant, target: Target, plan: FlowLogPlan): Promise<FlowLogRun> {
  const url = `http://127.0.0.1:${target.port}/`;
  const load = { url, connections: CONNECTIONS, headers: { Host: HOST } };
  if (plan.warmupSeconds > 0) {
    await runWrk({ ...load, seconds: plan.warmupSeconds });
    if (target.gateway) await settledFlows(target.gateway);
  }
  const gw = target.gateway;
  const pids = await target.serverPids();
  const flowsBefore = gw && key === 'flows-on' ? flowsCounted(await gw.metrics()) : 0;
  const serverBefore = totalCpuSeconds(pids);
  const gatewayBefore = gw ? cpuSeconds(gw.process.pid!) : 0;
  const r = await runWrk({ ...load, seconds: plan.seconds });
  const flowsAfter = gw && key === 'flows-on' ? await settledFlows(gw) : 0;
  const serverCpu = totalCpuSeconds(pids) - serverBefore;
  const gatewayCpu = gw ? cpuSeconds(gw.process.pid!) - gatewayBefore : 0;
  if (r.requests <= 0 || r.failed > 0) {
    throw new Error(`proxy: flow log: ${key}: ${r.requests} requests, ${r.failed} failed (non-2xx ${r.non2xx3xx}, connect ${r.connectErrors}, read ${r.readErrors}, write ${r.writeErrors}, timeout ${r.timeouts}); a run with errors gives no figures`);
  }
  const flows = key === 'flows-on' ? flowsAfter - flowsBefore : null;
  if (flows !== null && flows <= 0) throw new Error(`proxy: flow log: ${key}: ${r.requests} requests made no flow`);
  return {
    requests: r.requests,
    rps: r.requestsPerSecond,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    serverCpuUs: (serverCpu / r.requests) * 1e6,
    gatewayCpuUs: (gatewayCpu / r.requests) * 1e6,
    flows,
  };
}

const percent = (x: number): string => `${Math.round(x * 100)}%`;

/**
 * Runs the comparison against the bench's backend (plain HTTP on `backendHttpPort`, answering `/` with
 * 2 bytes): starts the two gateways, checks every path, measures `plan.runs` interleaved rounds.
 */
export async function measureFlowLogCost(backendHttpPort: number, backendPids: () => number[], plan: FlowLogPlan, log: (m: string) => void): Promise<{ method: string[]; tables: Table[]; data: FlowLogData }> {
  const gateways: RunningGateway[] = [];
  try {
    const on = await startGateway(plainSiteManifests(backendHttpPort));
    gateways.push(on);
    const off = await startGateway(plainSiteManifests(backendHttpPort), ['--flow-buffer', '0']);
    gateways.push(off);
    const targets: Record<Variant, Target> = {
      direct: { port: backendHttpPort, serverPids: async () => backendPids() },
      'flows-on': { port: on.httpPort, serverPids: () => haproxyWorker(on), gateway: on },
      'flows-off': { port: off.httpPort, serverPids: () => haproxyWorker(off), gateway: off },
    };
    for (const v of VARIANTS) {
      const r = await get(targets[v.key].port, '/');
      if (r.status !== 200 || r.body !== 'ok') throw new Error(`proxy: flow log: ${v.key}: GET / answered ${r.status} ${JSON.stringify(r.body.slice(0, 100))}, not 200 "ok"`);
    }

    // Interleaved rounds, each starting at another path, so that a slow moment of the machine is spread.
    const runs: Record<Variant, FlowLogRun[]> = { direct: [], 'flows-on': [], 'flows-off': [] };
    for (let run = 0; run < plan.runs; run++) {
      for (let i = 0; i < VARIANTS.length; i++) {
        const { key } = VARIANTS[(run + i) % VARIANTS.length]!;
        runs[key].push(await measureOnce(key, targets[key], plan));
      }
      log(`flow log: run ${run + 1} of ${plan.runs} done`);
    }

    // The flow log did what it is for, and is really off with --flow-buffer 0.
    const newest = await fetch(`http://127.0.0.1:${on.adminPort}/flows?last=1`);
    const lines = (await newest.text()).split('\n').filter(Boolean);
    if (newest.status !== 200 || lines.length !== 1) throw new Error(`proxy: flow log: /flows answered ${newest.status} with ${lines.length} flows after the runs`);
    const lastFlow = JSON.parse(lines[0]!) as Flow;
    if (lastFlow.verdict !== 'FORWARDED' || lastFlow.http?.status !== 200 || lastFlow.ingress?.name !== 'bench' || lastFlow.service?.name !== 'backend') {
      throw new Error(`proxy: flow log: the newest flow is not a forwarded request of Ingress bench: ${lines[0]}`);
    }
    const flowsStatus = (await fetch(`http://127.0.0.1:${off.adminPort}/flows?last=1`)).status;
    const configHasFlowLog = readFileSync(join(off.dir, 'state', 'haproxy.cfg'), 'utf8').includes('gatehouse_flows');
    if (flowsStatus !== 404 || configHasFlowLog) throw new Error(`proxy: flow log: with --flow-buffer 0, /flows answered ${flowsStatus} and HAProxy's configuration ${configHasFlowLog ? 'has' : 'has no'} flow log`);

    const ratios: Record<string, number[]> = {};
    for (const r of RATIOS) ratios[r.label] = runs[r.part].map((x, i) => x.rps / runs[r.whole][i]!.rps);

    const of = (key: Variant, f: keyof Omit<FlowLogRun, 'flows'>, unit: string): Stat => stat(runs[key].map((x) => x[f]), unit);
    const direct = of('direct', 'rps', '');
    const rows: Cell[][] = VARIANTS.map(({ key, label }) => {
      const flows = runs[key].reduce((n, x) => n + (x.flows ?? 0), 0);
      const requests = runs[key].reduce((n, x) => n + x.requests, 0);
      return [
        label,
        of(key, 'rps', ''),
        key === 'direct' ? '100%' : ratio(of(key, 'rps', ''), direct),
        of(key, 'p50Ms', 'ms'),
        of(key, 'p99Ms', 'ms'),
        of(key, 'serverCpuUs', 'µs'),
        key === 'direct' ? '' : of(key, 'gatewayCpuUs', 'µs'),
        key === 'flows-on' ? ratio(flows, requests) : key === 'flows-off' ? 'off' : '',
      ];
    });
    const ratioRows: Cell[][] = RATIOS.map(({ label }) => {
      const s = stat(ratios[label]!, '');
      return [label, percent(s.median), plan.runs > 1 ? `${percent(s.min)}–${percent(s.max)}` : percent(s.median)];
    });

    return {
      method: [
        `Flow log: wrk (one thread, ${CONNECTIONS} keep-alive connections, plain HTTP/1.1, Host ${HOST}) asking for the backend's 2-byte answer: straight to the backend's plain HTTP port, through \`gatehouse run\` (one Ingress without TLS to a Service on the backend) with its flow log on as by default, and through a second such gateway started with \`--flow-buffer 0\`.`,
        `${plan.runs} round${plan.runs > 1 ? 's' : ''} of ${plan.seconds} s per path${plan.warmupSeconds > 0 ? `, each after ${plan.warmupSeconds} s of unmeasured load` : ''}; the paths take turns within a round, each round starting at the next. Every path is first checked to answer 200 "ok", and every run must have no failed or non-2xx request.`,
        'After each run with the flow log on, the bench waits (at most 5 s) until the gateway\'s count of requests (gatehouse_http_requests_total) stops moving, so that the lines still in HAProxy\'s ring are read within the run\'s CPU figures. After the runs the newest flow from /flows must be a forwarded request of the Ingress; with `--flow-buffer 0`, /flows must answer 404 and HAProxy\'s configuration must have no flow log.',
        `Flow log CPU/req: user + system CPU of HAProxy's worker (direct: of the backend's nginx worker) and of the gateway's Node process per request made.`,
      ],
      tables: [
        {
          title: 'What the flow log costs: small requests over plain HTTP/1.1 keep-alive (wrk), flow log on and off',
          columns: ['path', 'req/s', '% of direct', 'p50', 'p99', 'HAProxy CPU/req', 'gateway process CPU/req', 'flows recorded'],
          rows,
          notes: [
            'HAProxy CPU/req: HAProxy\'s worker (for direct: the backend\'s nginx worker) per request; with the flow log on it includes writing each log line into its ring.',
            'gateway process CPU/req: the gateway\'s Node process per request: with the flow log on, reading, parsing and enriching each line, its metrics and the ring of flows; with it off, next to nothing.',
            'flows recorded: the requests the gateway counted (gatehouse_http_requests_total) over the requests wrk made, all runs; below 100% when HAProxy\'s ring dropped lines the gateway read too late.',
          ],
        },
        {
          title: 'The flow log\'s cost as ratios of req/s',
          columns: ['ratio', 'median', `range over ${plan.runs} round${plan.runs > 1 ? 's' : ''}`],
          rows: ratioRows,
          notes: [`Each ratio is taken within a round (runs made one right after the other) and its median over the rounds is shown; ${formatNumber(plan.seconds)} s runs.`],
        },
      ],
      data: { runs, ratios, lastFlow, flowsOff: { flowsStatus, configHasFlowLog } },
    };
  } finally {
    for (const gw of gateways.reverse()) await gw.stop();
  }
}
