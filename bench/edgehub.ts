/**
 * Edge hub: what `gatehouse edge-hub` costs a client online and gives it offline, side by side with
 * a direct connection to the API server. The fake kube-apiserver of the tests (in a thread of its own)
 * holds N ConfigMaps; raw HTTPS keep-alive clients get one object and list all of them, directly and
 * through the hub, then through the hub with the API server stopped (answered from its cache); watches
 * time an update on the API server until the client sees it; the hub's memory and cache size are read
 * after caching the list.
 */
import { readFileSync, rmSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEdgeHub, type RunningEdgeHub } from '../test/helpers/edge-hub.js';
import { waitFor } from '../test/helpers/wait.js';
import { configMapName, startApiServerThread, type ThreadedApiServer } from './lib/apiserver-thread.js';
import { cpuSeconds, rssBytes } from './lib/procs.js';
import type { Bench, BenchContext, Cell, Measured, Table } from './lib/result.js';
import { formatNumber, percentile, stat, type Stat } from './lib/stats.js';

interface Plan {
  /** ConfigMaps on the API server. */
  objects: number;
  runs: number;
  /** Each load phase: warm-up (not counted), then measured. */
  warmupSeconds: number;
  seconds: number;
  /** Updates timed per watch and run. */
  updates: number;
  /** The longest memory is sampled for before it counts as settled. */
  settleMs: number;
}

const FULL: Plan = { objects: 1000, runs: 5, warmupSeconds: 1, seconds: 3, updates: 100, settleMs: 5000 };
const SMOKE: Plan = { objects: 50, runs: 1, warmupSeconds: 0.2, seconds: 0.5, updates: 10, settleMs: 1000 };

const NAMESPACE = 'bench';
/** Characters of each ConfigMap's data value: with its metadata about 1 KiB of JSON. */
const VALUE_CHARS = 720;
/** Requests in flight, each on its own keep-alive connection. */
const CONCURRENCY = 4;
/** A bound on any one load phase, whatever its duration. */
const MAX_REQUESTS = 2_000_000;
const REQUEST_TIMEOUT_MS = 10_000;
const WATCH_EVENT_TIMEOUT_MS = 5000;
/** Between one update seen and the next one written. */
const UPDATE_GAP_MS = 10;
const MiB = 2 ** 20;
const KiB = 1024;

const LIST_PATH = `/api/v1/namespaces/${NAMESPACE}/configmaps`;
const getPath = (i: number) => `${LIST_PATH}/${configMapName(i)}`;

// ---------------------------------------------------------------- a raw HTTPS client

/** Where a client connects: the API server directly or a hub listener, with the CA it trusts. */
interface Target {
  port: number;
  ca: string;
  /** The name the certificate is checked against (default: the IP address, 127.0.0.1). */
  servername?: string;
  token: string;
}

interface Answer {
  status: number;
  /** Answered by the hub from its cache (`x-gatehouse-edge-hub: cache`). */
  fromCache: boolean;
  body: Buffer;
  /** From sending the request to the last byte of the answer. */
  ms: number;
}

function fetchOnce(agent: Agent | false, t: Target, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = httpsRequest({
      host: '127.0.0.1', port: t.port, path, agent, ca: t.ca, ...(t.servername ? { servername: t.servername } : {}),
      headers: { authorization: `Bearer ${t.token}`, accept: 'application/json' },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, fromCache: res.headers['x-gatehouse-edge-hub'] === 'cache', body: Buffer.concat(chunks), ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

type Obj = Record<string, unknown>;
const metaOf = (o: unknown): Obj => (typeof o === 'object' && o !== null && typeof (o as Obj).metadata === 'object' ? (o as Obj).metadata as Obj : {});

/** What is wrong with an answer to the get of ConfigMap `i`, or undefined. */
function checkGet(a: Answer, i: number, offline: boolean): string | undefined {
  if (a.status !== 200) return `get ${configMapName(i)}: status ${a.status}: ${a.body.toString('utf8').slice(0, 200)}`;
  if (offline && !a.fromCache) return `get ${configMapName(i)} offline: not answered from the hub's cache`;
  const o = JSON.parse(a.body.toString('utf8')) as Obj;
  const m = metaOf(o);
  if (o.kind !== 'ConfigMap' || m.name !== configMapName(i) || m.namespace !== NAMESPACE) return `get ${configMapName(i)}: answered ${String(o.kind)} ${String(m.namespace)}/${String(m.name)}`;
  return undefined;
}

/** What is wrong with an answer to the list of all `n` ConfigMaps, or undefined. */
function checkList(a: Answer, n: number, offline: boolean): string | undefined {
  if (a.status !== 200) return `list: status ${a.status}: ${a.body.toString('utf8').slice(0, 200)}`;
  if (offline && !a.fromCache) return 'list offline: not answered from the hub\'s cache';
  const o = JSON.parse(a.body.toString('utf8')) as Obj;
  const items = Array.isArray(o.items) ? o.items : [];
  if (o.kind !== 'ConfigMapList' || items.length !== n) return `list: ${String(o.kind)} of ${items.length} items, not ConfigMapList of ${n}`;
  for (let i = 0; i < n; i++) if (metaOf(items[i]).name !== configMapName(i)) return `list: item ${i} is ${String(metaOf(items[i]).name)}, not ${configMapName(i)}`;
  return undefined;
}

/** Errors counted across the whole benchmark, the first few kept for a person to read. */
class Errors {
  count = 0;
  samples: string[] = [];
  add(why: string): void {
    this.count++;
    if (this.samples.length < 10) this.samples.push(why);
  }
}

// ---------------------------------------------------------------- load phases

export interface PhaseFigures {
  /** Requests answered in the measured part (warm-up not included). */
  requests: number;
  /** Wrong answers and failed requests, warm-up included. */
  errors: number;
  /** Answers that came from the hub's cache (its `x-gatehouse-edge-hub: cache` header). */
  fromCache: number;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** The hub process's CPU per request (user + system), for paths through it. */
  hubCpuMsPerRequest?: number;
}

/**
 * `CONCURRENCY` lanes, each sending a request as soon as its last one was answered, for `seconds`
 * (at most MAX_REQUESTS in all); request `k` goes to `path(k)` and its answer is judged by `check`.
 */
async function loadFor(agent: Agent, t: Target, seconds: number, path: (k: number) => string, check: (a: Answer, k: number) => string | undefined, errors: Errors): Promise<Omit<PhaseFigures, 'errors'>> {
  const latencies: number[] = [];
  let fromCache = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const lane = async () => {
    while (performance.now() < deadline && next < MAX_REQUESTS) {
      const k = next++;
      try {
        const a = await fetchOnce(agent, t, path(k));
        latencies.push(a.ms);
        if (a.fromCache) fromCache++;
        const why = check(a, k);
        if (why) errors.add(why);
      } catch (e) {
        errors.add(`${path(k)}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  const wall = (performance.now() - started) / 1000;
  return { requests: latencies.length, fromCache, seconds: wall, requestsPerSecond: latencies.length / wall, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

/** A warm-up (answers checked, not measured), then the measured phase; the hub's CPU over the latter. */
async function phase(plan: Plan, agent: Agent, t: Target, hubPid: number | undefined, path: (k: number) => string, check: (a: Answer, k: number) => string | undefined, all: Errors): Promise<PhaseFigures> {
  const errors = new Errors();
  await loadFor(agent, t, plan.warmupSeconds, path, check, errors);
  const cpu0 = hubPid !== undefined ? cpuSeconds(hubPid) : 0;
  const r = await loadFor(agent, t, plan.seconds, path, check, errors);
  const cpu = hubPid !== undefined ? cpuSeconds(hubPid) - cpu0 : undefined;
  all.count += errors.count;
  for (const s of errors.samples) if (all.samples.length < 10) all.samples.push(s);
  return { ...r, errors: errors.count, ...(cpu !== undefined ? { hubCpuMsPerRequest: (cpu * 1000) / Math.max(1, r.requests) } : {}) };
}

// ---------------------------------------------------------------- watch fan-in

export interface WatchFigures {
  /** From the update on the API server to the client reading the event, per update. */
  latenciesMs: number[];
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/**
 * A watch from the current list's resourceVersion on `t`, then `updates` updates one after the other
 * (each of another ConfigMap, the next written UPDATE_GAP_MS after the last was seen), each timed from
 * just before the API server's write to the client reading its MODIFIED event, on the monotonic clock
 * both threads share.
 */
async function watchFanIn(t: Target, api: ThreadedApiServer, plan: Plan, label: string, all: Errors): Promise<WatchFigures> {
  const errors = new Errors();
  const listed = await fetchOnce(false, t, LIST_PATH);
  const why = checkList(listed, plan.objects, false);
  if (why) throw new Error(`watch ${label}: the list before it: ${why}`);
  const rv = String(metaOf(JSON.parse(listed.body.toString('utf8'))).resourceVersion ?? '');
  const waiting = new Map<string, (at: bigint) => void>();
  let opened!: () => void;
  let failed!: (e: Error) => void;
  const ready = new Promise<void>((resolve, reject) => ([opened, failed] = [resolve, reject]));
  const req = httpsRequest({
    host: '127.0.0.1', port: t.port, path: `${LIST_PATH}?watch=1&resourceVersion=${rv}&timeoutSeconds=600`, agent: false, ca: t.ca,
    ...(t.servername ? { servername: t.servername } : {}), headers: { authorization: `Bearer ${t.token}`, accept: 'application/json' },
  }, (res) => {
    if (res.statusCode !== 200) return failed(new Error(`watch ${label}: status ${res.statusCode}`));
    opened();
    res.setEncoding('utf8');
    let rest = '';
    res.on('data', (chunk: string) => {
      const at = process.hrtime.bigint();
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        const event = JSON.parse(line) as { type?: string; object?: { data?: Record<string, string> } };
        const seq = event.object?.data?.seq;
        if (event.type === 'MODIFIED' && seq !== undefined) waiting.get(seq)?.(at);
      }
    });
    res.on('error', () => undefined);
  });
  req.on('error', (e) => failed(e));
  req.end();
  const latencies: number[] = [];
  try {
    await ready;
    for (let k = 0; k < plan.updates; k++) {
      const index = (k * 37) % plan.objects;
      const seq = `${label}-${k}-${process.hrtime.bigint()}`;
      let timer: NodeJS.Timeout | undefined;
      const seen = new Promise<bigint | undefined>((resolve) => {
        waiting.set(seq, resolve);
        timer = setTimeout(() => resolve(undefined), WATCH_EVENT_TIMEOUT_MS);
      });
      const [written, at] = await Promise.all([api.update(index, seq), seen]);
      clearTimeout(timer);
      waiting.delete(seq);
      if (at === undefined) errors.add(`watch ${label}: the update of ${configMapName(index)} was not seen within ${WATCH_EVENT_TIMEOUT_MS} ms`);
      else latencies.push(Number(at - written) / 1e6);
      await new Promise((r) => setTimeout(r, UPDATE_GAP_MS));
    }
  } finally {
    req.destroy();
  }
  all.count += errors.count;
  for (const s of errors.samples) if (all.samples.length < 10) all.samples.push(s);
  if (latencies.length === 0) throw new Error(`watch ${label}: no update was seen: ${errors.samples.join('; ')}`);
  return { latenciesMs: latencies, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), errors: errors.count };
}

// ---------------------------------------------------------------- memory

/** The hub's RSS once it stops moving: every 250 ms until four samples in a row are within 1 %, or `maxMs`. */
async function settledRss(pid: number, maxMs: number): Promise<number> {
  const samples: number[] = [];
  const deadline = Date.now() + maxMs;
  for (;;) {
    samples.push(rssBytes(pid));
    const last = samples.slice(-4);
    if (last.length === 4 && Math.max(...last) - Math.min(...last) <= 0.01 * Math.max(...last)) return samples.at(-1)!;
    if (Date.now() >= deadline) return samples.at(-1)!;
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface MemoryPoint {
  rssBytes: number;
  /** V8's heap in use, from the hub's own metrics (gatehouse_edgehub_nodejs_heap_size_used_bytes). */
  heapUsedBytes: number;
  cacheBytes: number;
  cacheEntries: number;
}

async function memoryPoint(hub: RunningEdgeHub, maxMs: number): Promise<MemoryPoint> {
  const rss = await settledRss(hub.process.pid!, maxMs);
  const { cache } = await hub.status();
  const heap = /^gatehouse_edgehub_nodejs_heap_size_used_bytes (\S+)$/m.exec(await hub.metrics());
  if (!heap) throw new Error('the hub\'s /metrics has no gatehouse_edgehub_nodejs_heap_size_used_bytes');
  return { rssBytes: rss, heapUsedBytes: Number(heap[1]), cacheBytes: cache.bytes, cacheEntries: cache.entries };
}

// ---------------------------------------------------------------- one run

type Path = 'direct' | 'hub' | 'offline';
type Request = 'get' | 'list';

interface RunFigures {
  phases: Record<`${Request}/${Path}`, PhaseFigures>;
  watch: Record<'direct' | 'hub', WatchFigures>;
  memory: { idle: MemoryPoint; list: MemoryPoint; end: MemoryPoint };
}

/** A new hub with an empty cache in front of `api`; every phase once; the hub stopped and its dir removed. */
async function runOnce(ctx: BenchContext, plan: Plan, api: ThreadedApiServer, run: number, errors: Errors): Promise<RunFigures> {
  const hub = await startEdgeHub(api.kubeconfigPath);
  // Stopped from outside (bench/run.ts exits on SIGINT/SIGTERM): the hub is a child of this process.
  const onExit = () => {
    hub.process.kill('SIGKILL');
    rmSync(hub.dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const direct: Target = { port: api.port, ca: api.ca, servername: api.serverName, token: api.token };
  const viaHub: Target = { port: hub.httpsPort, ca: readFileSync(join(hub.dir, 'tls', 'tls.crt'), 'utf8'), token: api.token };
  const agents = { direct: new Agent({ keepAlive: true, maxSockets: CONCURRENCY }), hub: new Agent({ keepAlive: true, maxSockets: CONCURRENCY }) };
  const n = plan.objects;
  const hubPid = hub.process.pid!;
  try {
    await hub.waitState('online');
    const idle = await memoryPoint(hub, plan.settleMs);
    // The hub caches the list as it passes: what the memory figure is about.
    const first = await fetchOnce(agents.hub, viaHub, LIST_PATH);
    const bad = checkList(first, n, false);
    if (bad) throw new Error(`the first list through the hub: ${bad}`);
    await waitFor(async () => (await hub.status()).cache.entries >= 1, 10_000, 'the hub to cache the list');
    const list = await memoryPoint(hub, plan.settleMs);

    const getK = (k: number) => getPath(k % n);
    const judgeGet = (offline: boolean) => (a: Answer, k: number) => checkGet(a, k % n, offline);
    const judgeList = (offline: boolean) => (a: Answer) => checkList(a, n, offline);
    const phases = {} as RunFigures['phases'];
    phases['get/direct'] = await phase(plan, agents.direct, direct, undefined, getK, judgeGet(false), errors);
    phases['get/hub'] = await phase(plan, agents.hub, viaHub, hubPid, getK, judgeGet(false), errors);
    phases['list/direct'] = await phase(plan, agents.direct, direct, undefined, () => LIST_PATH, judgeList(false), errors);
    phases['list/hub'] = await phase(plan, agents.hub, viaHub, hubPid, () => LIST_PATH, judgeList(false), errors);
    const watch = {
      direct: await watchFanIn(direct, api, plan, `direct-${run}`, errors),
      hub: await watchFanIn(viaHub, api, plan, `hub-${run}`, errors),
    };

    // The link down: the API server stops, the hub notices (it probes every 100 ms) and answers from its cache.
    await api.stop();
    try {
      await hub.waitState('offline', 10_000);
      phases['get/offline'] = await phase(plan, agents.hub, viaHub, hubPid, getK, judgeGet(true), errors);
      phases['list/offline'] = await phase(plan, agents.hub, viaHub, hubPid, () => LIST_PATH, judgeList(true), errors);
    } finally {
      await api.start();
    }
    await hub.waitState('online', 10_000);
    const end = await memoryPoint(hub, plan.settleMs);
    const f = (p: PhaseFigures) => `${formatNumber(p.requestsPerSecond)}/s p50 ${formatNumber(p.p50Ms)} ms`;
    ctx.log(`run ${run + 1} of ${plan.runs}: get ${f(phases['get/direct'])} direct, ${f(phases['get/hub'])} hub, ${f(phases['get/offline'])} offline; ` +
      `list ${f(phases['list/direct'])} direct, ${f(phases['list/hub'])} hub, ${f(phases['list/offline'])} offline; ` +
      `watch p50 ${formatNumber(watch.direct.p50Ms)} ms direct, ${formatNumber(watch.hub.p50Ms)} ms hub; hub RSS ${formatNumber(list.rssBytes / MiB)} MiB after the list; errors so far ${errors.count}`);
    return { phases, watch, memory: { idle, list, end } };
  } finally {
    agents.direct.destroy();
    agents.hub.destroy();
    await hub.stop();
    process.off('exit', onExit);
    rmSync(hub.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- tables

const PATH_LABEL: Record<Path, string> = {
  direct: 'direct to the API server',
  hub: 'through edge-hub (online)',
  offline: 'edge-hub offline (its cache)',
};

/** `a / b` as a factor: ×0.62, ×1.9. */
function times(a: Stat | number, b: Stat | number): string {
  const x = typeof a === 'number' ? a : a.median;
  const y = typeof b === 'number' ? b : b.median;
  return y === 0 || !Number.isFinite(x / y) ? 'n/a' : `×${Number((x / y).toPrecision(2))}`;
}

function requestsTable(runs: RunFigures[], plan: Plan): Table {
  const rows: Cell[][] = [];
  for (const request of ['get', 'list'] as const) {
    const of = (path: Path, f: (p: PhaseFigures) => number, unit: string) => stat(runs.map((r) => f(r.phases[`${request}/${path}`])), unit);
    const directRps = of('direct', (p) => p.requestsPerSecond, '');
    const directP50 = of('direct', (p) => p.p50Ms, 'ms');
    const directP99 = of('direct', (p) => p.p99Ms, 'ms');
    for (const path of ['direct', 'hub', 'offline'] as const) {
      const rps = of(path, (p) => p.requestsPerSecond, '');
      const p50 = of(path, (p) => p.p50Ms, 'ms');
      const p99 = of(path, (p) => p.p99Ms, 'ms');
      rows.push([
        request === 'get' ? 'get one ConfigMap' : `list all ${formatNumber(plan.objects)}`,
        PATH_LABEL[path],
        rps,
        times(rps, directRps),
        p50,
        times(p50, directP50),
        p99,
        times(p99, directP99),
        path === 'direct' ? '' : of(path, (p) => p.hubCpuMsPerRequest ?? NaN, 'ms'),
        runs.reduce((s, r) => s + r.phases[`${request}/${path}`].errors, 0),
      ]);
    }
  }
  return {
    title: `get and list with ${CONCURRENCY} requests in flight: direct, through the hub, and from its cache offline`,
    columns: ['request', 'path', 'req/s', 'req/s × direct', 'p50', 'p50 × direct', 'p99', 'p99 × direct', 'hub CPU/req', 'wrong answers'],
    rows,
    notes: [
      '× direct: the median of the row over the median of the direct row of the same request (hub / direct). Offline rows compare the hub\'s cache with the direct connection while the API server was up.',
      'hub CPU/req: user + system CPU of the edge-hub process over the measured part, per request answered.',
      'wrong answers: failed requests and answers that were not the object asked for (get) or not every object in order (list), or offline not from the cache, over every run and warm-up; the benchmark reports figures only as measured, so this column must read 0.',
    ],
  };
}

function watchTable(runs: RunFigures[]): Table {
  const of = (path: 'direct' | 'hub', f: (w: WatchFigures) => number) => stat(runs.map((r) => f(r.watch[path])), 'ms');
  const rows: Cell[][] = (['direct', 'hub'] as const).map((path) => {
    const p50 = of(path, (w) => w.p50Ms);
    const p99 = of(path, (w) => w.p99Ms);
    return [
      path === 'direct' ? 'watch direct on the API server' : 'watch through edge-hub',
      p50,
      times(p50, of('direct', (w) => w.p50Ms)),
      p99,
      times(p99, of('direct', (w) => w.p99Ms)),
      runs.reduce((s, r) => s + r.watch[path].latenciesMs.length, 0),
    ];
  });
  return {
    title: 'Watch fan-in: from an update on the API server to the watching client reading it',
    columns: ['watch', 'p50', 'p50 × direct', 'p99', 'p99 × direct', 'updates seen'],
    rows,
    notes: ['p50 and p99 are over the updates of one run; the table shows their median over the runs, with the spread.'],
  };
}

function memoryTable(runs: RunFigures[], plan: Plan): Table {
  const n = plan.objects;
  const at = (k: 'idle' | 'list' | 'end', f: (m: MemoryPoint, r: RunFigures) => number, unit: string) => stat(runs.map((r) => f(r.memory[k], r)), unit);
  const row = (label: string, k: 'idle' | 'list' | 'end'): Cell[] => [
    label,
    at(k, (m) => m.rssBytes / MiB, 'MiB'),
    at(k, (m) => m.heapUsedBytes / MiB, 'MiB'),
    k === 'idle' ? '' : at(k, (m, r) => (m.rssBytes - r.memory.idle.rssBytes) / MiB, 'MiB'),
    k === 'list' ? at(k, (m, r) => (m.rssBytes - r.memory.idle.rssBytes) / KiB / n, 'KiB') : '',
    at(k, (m) => m.cacheEntries, ''),
    at(k, (m) => m.cacheBytes / MiB, 'MiB'),
    k === 'idle' ? '' : at(k, (m) => m.cacheBytes / KiB / n, 'KiB'),
  ];
  return {
    title: `edge-hub memory and cache for ${formatNumber(n)} ConfigMaps`,
    columns: ['when', 'hub RSS', 'of which V8 heap used', 'RSS over idle', 'per object', 'cache entries', 'cache on disk', 'cache per object'],
    rows: [
      row('started, nothing cached', 'idle'),
      row(`after one list of all ${formatNumber(n)}`, 'list'),
      row('at the end: every object also got singly, watched, served offline', 'end'),
    ],
    notes: [
      'RSS from /proc/PID/status once four samples 250 ms apart are within 1 % (at most a few seconds); V8 heap used from the hub\'s /metrics right after (garbage not yet collected included); cache on disk is `/status` cache.bytes, the size of its entry files (key, header and JSON value), which the hub also holds in memory. At the end the cache holds the list and every object on its own; the RSS then also holds what the load left in the heap, so it is not shown per object.',
    ],
  };
}

// ---------------------------------------------------------------- the benchmark

export interface EdgeHubData {
  objects: number;
  runs: number;
  concurrency: number;
  seconds: number;
  updates: number;
  /** Mean bytes of one ConfigMap in the list as the API server sends it. */
  objectBytes: number;
  /** One entry per request and path, each with every run's figures. */
  requests: Array<{ request: Request; path: Path; runs: PhaseFigures[] }>;
  watch: Array<{ path: 'direct' | 'hub'; runs: WatchFigures[] }>;
  memory: Record<'idle' | 'list' | 'end', MemoryPoint[]>;
  /** Wrong answers and failures over the whole benchmark (must be 0), and the first few. */
  errors: number;
  errorSamples: string[];
}

export const edgehubBench: Bench = {
  name: 'edgehub',
  title: 'Edge hub: get, list and watch through it and from its cache, against a direct connection',
  async run(ctx): Promise<Measured & { data: EdgeHubData }> {
    const plan = ctx.smoke ? SMOKE : FULL;
    const api = await startApiServerThread({ objects: plan.objects, namespace: NAMESPACE, valueChars: VALUE_CHARS });
    const errors = new Errors();
    const runs: RunFigures[] = [];
    let objectBytes = 0;
    try {
      const listed = await fetchOnce(false, { port: api.port, ca: api.ca, servername: api.serverName, token: api.token }, LIST_PATH);
      const bad = checkList(listed, plan.objects, false);
      if (bad) throw new Error(`the API server's list: ${bad}`);
      const items = (JSON.parse(listed.body.toString('utf8')) as { items: unknown[] }).items;
      objectBytes = items.reduce<number>((s, i) => s + Buffer.byteLength(JSON.stringify(i)), 0) / items.length;
      for (let run = 0; run < plan.runs; run++) runs.push(await runOnce(ctx, plan, api, run, errors));
    } finally {
      await api.close();
    }
    const paths: Path[] = ['direct', 'hub', 'offline'];
    return {
      method: [
        `The fake kube-apiserver of the tests (test/helpers/fake-apiserver.ts: HTTPS, bearer token, Kubernetes list and watch semantics) in a worker thread of the bench process, holding ${formatNumber(plan.objects)} ConfigMaps of about ${formatNumber(objectBytes)} B of JSON each in one namespace.`,
        '`gatehouse edge-hub` as its own process in front of it (probing every 100 ms, online again after 2 good probes), a new one with an empty cache dir for each run; clients use its https listener with its generated certificate, as the Gatehouse controller does.',
        `Client: Node's https with keep-alive in the bench's main thread, ${CONCURRENCY} requests in flight (each on its own connection), \`Accept: application/json\` and the bearer token, as @kubernetes/client-node sends them, without the library's own decoding. Every answer is parsed and checked: a get is the ConfigMap asked for (gets go round all ${formatNumber(plan.objects)} names), a list holds every object in order, an offline answer came from the hub's cache.`,
        `Each load figure: ${plan.warmupSeconds} s of warm-up, then ${plan.seconds} s measured; latency from sending the request to the last byte of the answer. ${plan.runs} run${plan.runs > 1 ? 's' : ''}, each of: one list through the hub (memory measured after it), get direct then through the hub, list direct then through the hub, the watches, then the API server stopped (its listener closed, connections cut) and, once the hub reports offline, get and list through it again; the median over the runs is shown with ± half the range.`,
        `Watch fan-in: a watch from the list's resourceVersion, then ${plan.updates} updates of ConfigMaps one after the other (the next ${UPDATE_GAP_MS} ms after the last was seen), each timed on the monotonic clock from just before the API server's write to the client reading the event; once directly and once through the hub (which also applies each event to its cached list).`,
        'The load client, the API server and the hub share the machine\'s cores: directly, two busy threads; through the hub, three.',
      ],
      tables: [requestsTable(runs, plan), watchTable(runs), memoryTable(runs, plan)],
      data: {
        objects: plan.objects,
        runs: plan.runs,
        concurrency: CONCURRENCY,
        seconds: plan.seconds,
        updates: plan.updates,
        objectBytes,
        requests: (['get', 'list'] as const).flatMap((request) => paths.map((path) => ({ request, path, runs: runs.map((r) => r.phases[`${request}/${path}`]) }))),
        watch: (['direct', 'hub'] as const).map((path) => ({ path, runs: runs.map((r) => r.watch[path]) })),
        memory: { idle: runs.map((r) => r.memory.idle), list: runs.map((r) => r.memory.list), end: runs.map((r) => r.memory.end) },
        errors: errors.count,
        errorSamples: errors.samples,
      },
    };
  },
};
