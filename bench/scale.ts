/**
 * Scale: the gateway with 1k, 5k and 10k Ingresses, each with its own host, Service and EndpointSlice
 * of 10 endpoints. Per size: the time from spawning `gatehouse run` to serving, the pipeline's own
 * times measured in a fresh thread (read, translate, render, `haproxy -c`), memory of the gateway and of
 * HAProxy once settled, and one endpoint change from the file written to traffic following it.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { loadManifests } from '../src/sources/files/load.js';
import { ObjectStore } from '../src/store/store.js';
import { translate } from '../src/translate/translate.js';
import { nextSlots, plan, type DataPlaneState } from '../src/plan/plan.js';
import { render } from '../src/haproxy/render.js';
import { layout } from '../src/haproxy/layout.js';
import { checkConfig } from '../src/haproxy/check.js';
import { ensureDefaultCertificate } from '../src/haproxy/default-cert.js';
import { stopwatch } from '../src/haproxy/dataplane.js';
import { request } from '../test/helpers/client.js';
import { startGateway, type RunningGateway } from '../test/helpers/gateway.js';
import { freePort } from '../test/helpers/ports.js';
import { isRunning, killAll } from '../test/helpers/processes.js';
import { waitFor } from '../test/helpers/wait.js';
import { childPids, cpuSeconds, pssBytes, rssBytes } from './lib/procs.js';
import type { Bench, BenchContext, Cell, Measured, Table } from './lib/result.js';
import { formatNumber, stat, type Stat } from './lib/stats.js';

const FULL_SIZES = [1000, 5000, 10000];
const SMOKE_SIZES = [20, 50, 100];
const ENDPOINTS = 10;
/** The endpoints of every Service: 127.0.0.1 … 127.0.0.10, all answered by the bench's backend. */
const ADDRESSES = Array.from({ length: ENDPOINTS }, (_, i) => `127.0.0.${i + 1}`);
/** Where one endpoint moves in each change of a run, in turn; only the listener at MOVED[k] answers `moved-(k+1)`. */
const MOVED = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
const movedName = (k: number) => `moved-${k + 1}`;
const MiB = 2 ** 20;

export function ingressName(i: number): string {
  return `app-${String(i).padStart(5, '0')}`;
}

export function hostOf(i: number): string {
  return `${ingressName(i)}.scale.test`;
}

/**
 * `n` Ingresses, each with its own host, Service and EndpointSlice of 10 ready endpoints on `port`
 * (block-style YAML as `kubectl get -o yaml` writes it), in one file. With `moved`, Ingress number
 * `moved.index` has its last endpoint on `moved.address` instead.
 */
export function scaleManifests(n: number, port: number, moved?: { index: number; address: string }): string {
  const docs: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = ingressName(i);
    const addresses = i === moved?.index ? [...ADDRESSES.slice(0, -1), moved.address] : ADDRESSES;
    docs.push(
      [
        'apiVersion: networking.k8s.io/v1',
        'kind: Ingress',
        'metadata:',
        `  name: ${name}`,
        '  namespace: default',
        'spec:',
        '  ingressClassName: gatehouse',
        '  rules:',
        `  - host: ${hostOf(i)}`,
        '    http:',
        '      paths:',
        '      - path: /',
        '        pathType: Prefix',
        '        backend:',
        '          service:',
        `            name: ${name}`,
        '            port:',
        '              number: 80',
        '---',
        'apiVersion: v1',
        'kind: Service',
        'metadata:',
        `  name: ${name}`,
        '  namespace: default',
        'spec:',
        '  ports:',
        '  - name: http',
        '    port: 80',
        `    targetPort: ${port}`,
        '---',
        'apiVersion: discovery.k8s.io/v1',
        'kind: EndpointSlice',
        'metadata:',
        `  name: ${name}-abcde`,
        '  namespace: default',
        '  labels:',
        `    kubernetes.io/service-name: ${name}`,
        'addressType: IPv4',
        'ports:',
        '- name: http',
        `  port: ${port}`,
        '  protocol: TCP',
        'endpoints:',
        ...addresses.flatMap((a) => [`- addresses:`, `  - ${a}`, '  conditions:', '    ready: true']),
        '',
      ].join('\n'),
    );
  }
  return docs.join('---\n');
}

/** The backend: one HTTP listener per endpoint address on `port` answering `backend`, and one per MOVED address. */
interface Backend {
  port: number;
  close(): Promise<void>;
}

async function listen(server: HttpServer, port: number, address: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function startBackend(): Promise<Backend> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const servers: HttpServer[] = [];
    try {
      for (const address of [...ADDRESSES, ...MOVED]) {
        const name = MOVED.includes(address) ? movedName(MOVED.indexOf(address)) : 'backend';
        const server = createServer((req, res) => {
          req.resume();
          res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name });
          res.end('ok');
        });
        servers.push(server);
        await listen(server, port, address);
      }
      return {
        port,
        close: async () => {
          await Promise.all(servers.map((s) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())))));
        },
      };
    } catch (e) {
      await Promise.all(servers.filter((s) => s.listening).map((s) => new Promise<void>((r) => s.close(() => r()))));
      if (attempt >= 4) throw e;
    }
  }
}

/** What the pipeline costs for one size, measured in a fresh thread (cold, as at the gateway's start). */
export interface PipelineTimes {
  /** Start: reading and parsing the file, filling the store, translate, server slots + render, `haproxy -c`. */
  readMs: number;
  storeMs: number;
  translateMs: number;
  renderMs: number;
  checkMs: number;
  configBytes: number;
  /** One endpoint changed: the file read again, the store, translate, render, plan. */
  changeReadMs: number;
  changeStoreMs: number;
  changeTranslateMs: number;
  changeRenderMs: number;
  changePlanMs: number;
  /** What the plan decided for the change. */
  changeOps: number;
  changeReload: string[];
  /** The thread's heap after the start pipeline, with everything the gateway keeps still referenced. */
  heapMiB: number;
}

/**
 * The gateway's pipeline on the manifests of `original` and then on those of `changedFile` written over
 * them (as the bench does to the gateway's file), in this thread, as src/cli/run.ts and
 * src/gateway/gateway.ts call it (without HAProxy): each step timed.
 */
export async function measurePipeline(original: string, changedFile: string, stateDir: string): Promise<PipelineTimes> {
  const lay = layout(stateDir);
  const file = join(stateDir, 'manifests.yaml');
  copyFileSync(original, file);
  const listen = { address: '127.0.0.1', httpPort: 1, httpsPort: 2 };
  const lap = stopwatch();
  const loaded = await loadManifests([file]);
  const readMs = lap();
  const store = new ObjectStore();
  store.replaceAll(loaded.objects);
  const objects = store.list();
  const storeMs = lap();
  const first = translate({ objects, ingressClass: 'gatehouse', configMap: { name: 'gatehouse' }, now: new Date() });
  const translateMs = lap();
  const slots = nextSlots(undefined, first.model);
  const rendered = render({ model: first.model, slots, layout: lay, listen });
  const renderMs = lap();
  const heapMiB = process.memoryUsage().heapUsed / MiB;
  if (first.model.backends.length === 0) throw new Error(`the pipeline made no backends of ${file}: ${JSON.stringify(first.diagnostics.slice(0, 3))}`);

  await ensureDefaultCertificate(lay.defaultCert);
  for (const [path, text] of rendered.files) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  writeFileSync(lay.config, rendered.config);
  lap();
  const check = await checkConfig('haproxy', lay.config, { timeoutMs: 300_000 });
  const checkMs = lap();
  if (!check.ok) throw new Error(`haproxy -c refused the rendered configuration: ${check.output.slice(0, 2000)}`);

  const prev: DataPlaneState = { model: first.model, slots, rendered };
  copyFileSync(changedFile, file);
  lap();
  const reloaded = await loadManifests([file]);
  const changeReadMs = lap();
  store.replaceAll(reloaded.objects);
  const objects2 = store.list();
  const changeStoreMs = lap();
  const second = translate({ objects: objects2, ingressClass: 'gatehouse', configMap: { name: 'gatehouse' }, now: new Date(), lastAccepted: first.accepted });
  const changeTranslateMs = lap();
  const slots2 = nextSlots(slots, second.model);
  const rendered2 = render({ model: second.model, slots: slots2, layout: lay, listen });
  const changeRenderMs = lap();
  const p = plan(prev, { model: second.model, slots: slots2, rendered: rendered2 }, lay);
  const changePlanMs = lap();
  return {
    readMs, storeMs, translateMs, renderMs, checkMs, configBytes: rendered.config.length,
    changeReadMs, changeStoreMs, changeTranslateMs, changeRenderMs, changePlanMs,
    changeOps: p.ops.length, changeReload: p.reload, heapMiB,
  };
}

/** measurePipeline in a new worker thread: its own heap, and code not yet optimised, like a gateway just started. */
function pipelineInThread(file: string, changedFile: string, stateDir: string): Promise<PipelineTimes> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.module)
      .then((m) => m.measurePipeline(workerData.file, workerData.changedFile, workerData.stateDir))
      .then((r) => parentPort.postMessage({ ok: r }), (e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
  `;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: { module: import.meta.url, file, changedFile, stateDir }, resourceLimits: { maxOldGenerationSizeMb: 8192 } });
    let settled = false;
    worker.once('message', (m: { ok?: PipelineTimes; error?: string }) => {
      settled = true;
      if (m.ok) resolve(m.ok);
      else reject(new Error(`pipeline thread: ${m.error}`));
      void worker.terminate();
    });
    worker.once('error', (e) => {
      if (!settled) reject(e);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`pipeline thread exited with ${code} before answering`));
    });
  });
}

interface Metrics {
  generation: number;
  reloads: number;
}

function parseMetrics(text: string): Metrics {
  const generation = Number(/^gatehouse_config_generation (\S+)$/m.exec(text)?.[1] ?? NaN);
  let reloads = 0;
  for (const m of text.matchAll(/^gatehouse_haproxy_reloads_total\{[^}]*\} (\S+)$/gm)) reloads += Number(m[1]);
  return { generation, reloads };
}

/** The HAProxy master (a child of the gateway) and its current worker(s). */
function haproxyPids(gatewayPid: number): { master: number; workers: number[] } {
  const comm = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const masters = childPids(gatewayPid).filter((p) => comm(p) === 'haproxy');
  if (masters.length !== 1) throw new Error(`expected one HAProxy master under the gateway (pid ${gatewayPid}), found ${masters.length}`);
  const master = masters[0]!;
  return { master, workers: childPids(master).filter((p) => comm(p) === 'haproxy') };
}

interface Memory {
  gatewayRss: number;
  haproxyPss: number;
  haproxyRss: number;
}

function sampleMemory(gatewayPid: number): Memory {
  const { master, workers } = haproxyPids(gatewayPid);
  const hap = [master, ...workers];
  return {
    gatewayRss: rssBytes(gatewayPid),
    haproxyPss: hap.reduce((s, p) => s + pssBytes(p), 0),
    haproxyRss: hap.reduce((s, p) => s + rssBytes(p), 0),
  };
}

/**
 * Memory once it stops moving: sampled every 250 ms until four samples in a row (gateway and HAProxy
 * each) are within 1 % of each other, or `maxMs` passes; the last sample.
 */
async function settledMemory(gatewayPid: number, maxMs: number): Promise<{ memory: Memory; settled: boolean }> {
  const samples: Memory[] = [];
  const deadline = Date.now() + maxMs;
  const steady = (key: keyof Memory) => {
    const last = samples.slice(-4).map((s) => s[key]);
    return last.length === 4 && Math.max(...last) - Math.min(...last) <= 0.01 * Math.max(...last);
  };
  for (;;) {
    samples.push(sampleMemory(gatewayPid));
    if (steady('gatewayRss') && steady('haproxyPss')) return { memory: samples.at(-1)!, settled: true };
    if (Date.now() >= deadline) return { memory: samples.at(-1)!, settled: false };
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * GETs `host` until an answer is 200 from the backend named `from`; the time it took. Each round sends
 * `parallel` requests at once (new connections): HAProxy's round robin gives each of a backend's
 * servers one of any ENDPOINTS requests in a row, so a round of ENDPOINTS finds a new server as soon as
 * it is in service. Rounds are 10 ms apart.
 */
async function untilServedBy(port: number, host: string, from: string, timeoutMs: number, parallel = 1): Promise<number> {
  const started = performance.now();
  let last = '';
  const one = async (): Promise<boolean> => {
    try {
      const r = await request(port, { host, timeoutMs: 5000 });
      last = `${r.status} from ${r.backend ?? 'no backend'}`;
      return r.status === 200 && r.backend === from;
    } catch (e) {
      last = String(e);
      return false;
    }
  };
  await waitFor(async () => (await Promise.all(Array.from({ length: parallel }, one))).some((ok) => ok), timeoutMs, `${host} answered by ${from} (last answer: ${last})`);
  return performance.now() - started;
}

interface LogLine {
  time?: string;
  msg?: string;
  generation?: number;
  reloaded?: string[];
  operations?: number;
  durationMs?: Record<string, number>;
}

function logLines(gw: RunningGateway): LogLine[] {
  const out: LogLine[] = [];
  for (const line of gw.logs().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut by the pipe buffer: not one of ours to read
    }
  }
  return out;
}

/** What one start of the gateway measured. */
interface GatewayRun {
  startS: number;
  readyS: number;
  startCpuS: number;
  memory: Memory;
  memorySettled: boolean;
  /** One per change, in order. */
  changes: ChangeRun[];
  /** The gateway's own account of its first sync, when it logs one. */
  startSync?: Record<string, number>;
}

interface ChangeRun {
  /** File written → a request is answered by the moved endpoint. */
  trafficMs: number;
  /** File written → the gateway logged the change applied (its clock). */
  appliedMs: number;
  reloaded: boolean;
  reloadReasons: string[];
  operations: number;
  /** The gateway's own account of the change, when it logs one. */
  sync?: Record<string, number>;
}

/**
 * One gateway on `yaml`: started, checked, memory once settled, then each of `changes` written in
 * turn (change k moves the middle Ingress's last endpoint to MOVED[k]).
 */
async function runGateway(ctx: BenchContext, n: number, yaml: string, changes: string[], maxSettleMs: number): Promise<GatewayRun> {
  const timeoutMs = 60_000 + n * 20;
  const started = performance.now();
  const gw = await startGateway(yaml, [], { timeoutMs });
  try {
    const readyS = (performance.now() - started) / 1000;
    // Serving: the last Ingress's host answered by a real backend through HAProxy.
    await untilServedBy(gw.httpPort, hostOf(n - 1), 'backend', timeoutMs);
    const startS = (performance.now() - started) / 1000;
    const startCpuS = cpuSeconds(gw.process.pid!);
    for (const i of [0, Math.floor(n / 2)]) {
      const r = await request(gw.httpPort, { host: hostOf(i) });
      if (r.status !== 200 || r.backend !== 'backend') throw new Error(`${hostOf(i)} answered ${r.status} from ${r.backend ?? 'no backend'}`);
    }
    const unknown = await request(gw.httpPort, { host: `nope.scale.test` });
    if (unknown.status !== 404) throw new Error(`an unknown host answered ${unknown.status}, not 404`);

    const { memory, settled } = await settledMemory(gw.process.pid!, maxSettleMs);

    const middle = Math.floor(n / 2);
    for (let i = 0; i < ENDPOINTS * 2; i++) {
      const r = await request(gw.httpPort, { host: hostOf(middle) });
      if (r.backend !== 'backend') throw new Error(`before the change, ${hostOf(middle)} answered ${r.status} from ${r.backend ?? 'no backend'}`);
    }
    const metrics = async () => parseMetrics(await gw.metrics());
    const results: ChangeRun[] = [];
    for (const [k, changed] of changes.entries()) {
      const before = await metrics();
      const workersBefore = haproxyPids(gw.process.pid!).workers;
      const linesBefore = logLines(gw).length;
      // Written whole and renamed into place, as deployment tools and the kubelet's ConfigMap volumes do.
      writeFileSync(`${gw.manifests}.new`, changed);
      const t0 = performance.now();
      renameSync(`${gw.manifests}.new`, gw.manifests);
      await untilServedBy(gw.httpPort, hostOf(middle), movedName(k), timeoutMs, ENDPOINTS);
      const trafficMs = performance.now() - t0;
      const writtenAt = Date.now() - trafficMs;
      let after = before;
      await waitFor(async () => (after = await metrics()).generation > before.generation, timeoutMs, 'the change to show in gatehouse_config_generation');
      const applied = logLines(gw).slice(linesBefore).find((l) => typeof l.generation === 'number' && l.generation > before.generation && l.msg?.startsWith('configuration applied'));
      if (!applied?.time) throw new Error(`no "configuration applied" log line for the change: ${gw.logs().slice(-2000)}`);
      const workersAfter = haproxyPids(gw.process.pid!).workers;
      const reasons = applied.reloaded ?? [];
      const reloaded = after.reloads !== before.reloads || reasons.length > 0 || workersAfter.join() !== workersBefore.join();
      results.push({ trafficMs, appliedMs: Date.parse(applied.time) - writtenAt, reloaded, reloadReasons: reasons, operations: applied.operations ?? 0, ...(applied.durationMs ? { sync: applied.durationMs } : {}) });
    }
    const status = await gw.status();
    const workers = haproxyPids(gw.process.pid!).workers;
    if (status.haproxy.workerPid === undefined || !workers.includes(status.haproxy.workerPid)) {
      throw new Error(`/status names HAProxy worker ${status.haproxy.workerPid}, not one of ${workers.join(', ')}`);
    }
    const startLine = logLines(gw).find((l) => l.generation === 1);
    const anyReload = results.some((c) => c.reloaded);
    ctx.log(`  ${n}: serving in ${formatNumber(startS)} s, gateway ${formatNumber(memory.gatewayRss / MiB)} MiB, HAProxy ${formatNumber(memory.haproxyPss / MiB)} MiB; endpoint changes: traffic in ${results.map((c) => formatNumber(c.trafficMs)).join(', ')} ms${anyReload ? ' WITH A RELOAD' : ', no reload'}`);
    return {
      startS, readyS, startCpuS, memory, memorySettled: settled, changes: results,
      ...(startLine?.durationMs ? { startSync: startLine.durationMs } : {}),
    };
  } finally {
    let pids: number[] = [gw.process.pid!];
    try {
      const hap = haproxyPids(gw.process.pid!);
      pids = [...pids, hap.master, ...hap.workers];
    } catch {
      // HAProxy is not running (the start failed): only the gateway to wait for
    }
    await gw.stop();
    // The gateway stops HAProxy before it exits; a worker may take a moment longer to go.
    await waitFor(() => pids.every((p) => !isRunning(p)), 15_000, `the gateway and HAProxy (${pids.join(', ')}) to exit`).catch((e: unknown) => {
      killAll(pids);
      throw e;
    });
  }
}

interface SizeFigures {
  n: number;
  startS: Stat;
  readyS: Stat;
  startCpuS: Stat;
  gatewayMiB: Stat;
  haproxyMiB: Stat;
  haproxyRssMiB: Stat;
  /** Every change of every run. */
  changeTrafficMs: Stat;
  /** The first change after the start (code not yet optimised by V8), and the others. */
  firstChangeTrafficMs: Stat;
  laterChangeTrafficMs: Stat | undefined;
  changeAppliedMs: Stat;
  reloaded: boolean[];
  memorySettled: boolean[];
  changeOperations: number[];
  pipeline: Record<Exclude<keyof PipelineTimes, 'changeReload'>, Stat>;
  pipelineChangeReload: string[][];
  /** The gateway's own per-step account (from its log), median of the runs, when it logs one. */
  startSync: Record<string, Stat>;
  changeSync: Record<string, Stat>;
}

function statsOf(records: Array<Record<string, number> | undefined>, unit: string): Record<string, Stat> {
  const keys = new Set(records.flatMap((r) => Object.keys(r ?? {})));
  const out: Record<string, Stat> = {};
  for (const k of keys) {
    const values = records.map((r) => r?.[k]).filter((v): v is number => typeof v === 'number');
    if (values.length === records.length) out[k] = stat(values, unit);
  }
  return out;
}

async function measureSize(ctx: BenchContext, n: number, runs: number, changesPerRun: number, backend: Backend, dir: string): Promise<SizeFigures> {
  const middle = Math.floor(n / 2);
  const yaml = scaleManifests(n, backend.port);
  const changes = MOVED.slice(0, changesPerRun).map((address) => scaleManifests(n, backend.port, { index: middle, address }));
  const file = join(dir, `scale-${n}.yaml`);
  const changedFile = join(dir, `scale-${n}-changed.yaml`);
  writeFileSync(file, yaml);
  writeFileSync(changedFile, changes[0]!);
  ctx.log(`${n} Ingresses (${formatNumber(yaml.length / MiB)} MiB of YAML), ${runs} run${runs > 1 ? 's' : ''}`);
  const pipelines: PipelineTimes[] = [];
  const gateways: GatewayRun[] = [];
  for (let run = 0; run < runs; run++) {
    const stateDir = mkdtempSync(join(dir, 'state-'));
    const p = await pipelineInThread(file, changedFile, stateDir);
    rmSync(stateDir, { recursive: true, force: true });
    ctx.log(`  ${n}: pipeline: read ${formatNumber(p.readMs)} ms, translate ${formatNumber(p.translateMs)} ms, render ${formatNumber(p.renderMs)} ms, haproxy -c ${formatNumber(p.checkMs)} ms; change: read ${formatNumber(p.changeReadMs)} ms, translate ${formatNumber(p.changeTranslateMs)} ms, render ${formatNumber(p.changeRenderMs)} ms, plan ${formatNumber(p.changePlanMs)} ms`);
    if (p.changeReload.length > 0 || p.changeOps !== 1) throw new Error(`the plan for one endpoint change is ${p.changeOps} operations and reload [${p.changeReload.join(', ')}], not one server operation`);
    pipelines.push(p);
    gateways.push(await runGateway(ctx, n, yaml, changes, ctx.smoke ? 1000 : 10_000));
  }
  const of = <T>(list: T[], f: (x: T) => number, unit: string) => stat(list.map(f), unit);
  const allChanges = gateways.flatMap((g) => g.changes);
  const pipelineKeys = Object.keys(pipelines[0]!).filter((k) => k !== 'changeReload') as Array<Exclude<keyof PipelineTimes, 'changeReload'>>;
  const pipeline = Object.fromEntries(pipelineKeys.map((k) => [k, of(pipelines, (p) => p[k], k === 'configBytes' ? 'B' : k === 'heapMiB' ? 'MiB' : k === 'changeOps' ? '' : 'ms')])) as SizeFigures['pipeline'];
  return {
    n,
    startS: of(gateways, (g) => g.startS, 's'),
    readyS: of(gateways, (g) => g.readyS, 's'),
    startCpuS: of(gateways, (g) => g.startCpuS, 's'),
    gatewayMiB: of(gateways, (g) => g.memory.gatewayRss / MiB, 'MiB'),
    haproxyMiB: of(gateways, (g) => g.memory.haproxyPss / MiB, 'MiB'),
    haproxyRssMiB: of(gateways, (g) => g.memory.haproxyRss / MiB, 'MiB'),
    changeTrafficMs: of(allChanges, (c) => c.trafficMs, 'ms'),
    firstChangeTrafficMs: of(gateways, (g) => g.changes[0]!.trafficMs, 'ms'),
    laterChangeTrafficMs: changesPerRun > 1 ? of(gateways.flatMap((g) => g.changes.slice(1)), (c) => c.trafficMs, 'ms') : undefined,
    changeAppliedMs: of(allChanges, (c) => c.appliedMs, 'ms'),
    reloaded: allChanges.map((c) => c.reloaded),
    memorySettled: gateways.map((g) => g.memorySettled),
    changeOperations: allChanges.map((c) => c.operations),
    pipeline,
    pipelineChangeReload: pipelines.map((p) => p.changeReload),
    startSync: statsOf(gateways.map((g) => g.startSync), 'ms'),
    changeSync: statsOf(allChanges.map((c) => c.sync), 'ms'),
  };
}

function sizeLabel(n: number): string {
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
}

/** `a / b` of the medians as a growth factor, e.g. `×4.8`. */
function growth(a: Stat, b: Stat): string {
  if (b.median === 0 || !Number.isFinite(a.median / b.median)) return 'n/a';
  const r = a.median / b.median;
  return `×${r >= 10 ? r.toFixed(0) : r.toFixed(1)}`;
}

function mainTable(sizes: SizeFigures[]): Table {
  const figures = (s: SizeFigures): Stat[] => [s.startS, s.pipeline.translateMs, s.pipeline.renderMs, s.gatewayMiB, s.haproxyMiB, s.changeTrafficMs];
  const rows: Cell[][] = sizes.map((s) => [
    `${formatNumber(s.n)} Ingresses`,
    ...figures(s),
    s.reloaded.some((r) => r) ? `yes (${s.reloaded.filter((r) => r).length} of ${s.reloaded.length})` : 'no',
  ]);
  const base = sizes[0]!;
  for (const s of sizes.slice(1)) {
    rows.push([`${sizeLabel(s.n)} / ${sizeLabel(base.n)} (linear: ×${formatNumber(s.n / base.n)})`, ...figures(s).map((f, i) => growth(f, figures(base)[i]!)), '']);
  }
  return {
    title: 'Start, render, memory and one endpoint change, by number of Ingresses',
    columns: ['', 'start to serving', 'translate', 'render', 'gateway memory', 'HAProxy memory', 'endpoint change to traffic', 'reloaded'],
    rows,
    notes: [
      'Start to serving: from spawning `gatehouse run` until the last Ingress\'s host is answered 200 by a backend through HAProxy.',
      'Translate and render: the pure steps for the whole model in a fresh thread, as at the gateway\'s start (render includes the server slots).',
      'Gateway memory: RSS of the gateway\'s Node process; HAProxy memory: PSS of the master and worker together (pages they share counted once); both once settled after the start.',
      'Endpoint change: one endpoint of one EndpointSlice changed in the manifest file (renamed into place), until a request to that host is answered by the new endpoint. The last rows are the growth from the smallest size: ×10 for ten times the Ingresses is linear.',
    ],
  };
}

const PIPELINE_ROWS: Array<[string, keyof SizeFigures['pipeline']]> = [
  ['start: read and parse the YAML', 'readMs'],
  ['start: fill the store', 'storeMs'],
  ['start: translate', 'translateMs'],
  ['start: server slots + render', 'renderMs'],
  ['start: haproxy -c', 'checkMs'],
  ['change: read and parse the YAML again', 'changeReadMs'],
  ['change: update the store', 'changeStoreMs'],
  ['change: translate', 'changeTranslateMs'],
  ['change: server slots + render', 'changeRenderMs'],
  ['change: plan', 'changePlanMs'],
];

function pipelineTable(sizes: SizeFigures[]): Table {
  const base = sizes[0]!;
  const last = sizes[sizes.length - 1]!;
  return {
    title: 'Where the time goes: the pipeline step by step',
    columns: ['step', ...sizes.map((s) => `${sizeLabel(s.n)} Ingresses`), `${sizeLabel(last.n)} / ${sizeLabel(base.n)}`],
    rows: [
      ...PIPELINE_ROWS.map(([label, key]): Cell[] => [label, ...sizes.map((s) => s.pipeline[key]), growth(last.pipeline[key], base.pipeline[key])]),
      ['rendered haproxy.cfg', ...sizes.map((s) => `${formatNumber(s.pipeline.configBytes.median / MiB)} MiB`), growth(last.pipeline.configBytes, base.pipeline.configBytes)],
    ],
    notes: [
      'Measured in a fresh worker thread per run with the gateway\'s own modules (loadManifests, ObjectStore, translate, nextSlots, render, plan; `haproxy -c` on the rendered files), so the start figures are cold as in a gateway just started and the change figures warm.',
    ],
  };
}

function gatewayTable(sizes: SizeFigures[]): Table | undefined {
  const keys = [...new Set(sizes.flatMap((s) => [...Object.keys(s.startSync), ...Object.keys(s.changeSync)]))];
  if (keys.length === 0) return undefined;
  const rows: Cell[][] = [];
  for (const [phase, pick] of [['first sync', (s: SizeFigures) => s.startSync], ['endpoint change', (s: SizeFigures) => s.changeSync]] as const) {
    for (const k of keys) {
      // Steps that take no measurable time at any size (the offload decision, a plan with nothing to compare) are left out.
      if (!sizes.some((s) => (pick(s)[k]?.median ?? 0) >= 1)) continue;
      rows.push([`${phase}: ${k}`, ...sizes.map((s) => pick(s)[k] ?? '–')]);
    }
  }
  rows.push(['endpoint change: file written → applied (gateway log)', ...sizes.map((s) => s.changeAppliedMs)]);
  rows.push(['endpoint change to traffic: the first after the start', ...sizes.map((s) => s.firstChangeTrafficMs)]);
  if (sizes.every((s) => s.laterChangeTrafficMs)) rows.push(['endpoint change to traffic: the next ones', ...sizes.map((s) => s.laterChangeTrafficMs!)]);
  return {
    title: 'The same, as the running gateway logs it',
    columns: ['step', ...sizes.map((s) => `${sizeLabel(s.n)} Ingresses`)],
    rows,
    notes: [
      'From the `durationMs` of the gateway\'s "configuration applied" log lines (its translate includes listing the store and locating diagnostics); file written → applied compares the gateway\'s log clock with the time the bench wrote the file.',
      'The first change after the start runs code V8 has not optimised yet; the next ones are what a gateway that has been running sees.',
    ],
  };
}

export interface ScaleData {
  sizes: Array<{
    ingresses: number;
    runs: number;
    /** Endpoint changes per run: the change figures have runs × changesPerRun values, run by run. */
    changesPerRun: number;
    startSeconds: number[];
    /** Spawned → /readyz 200. */
    readySeconds: number[];
    /** CPU seconds the gateway's Node process used until serving. */
    startCpuSeconds: number[];
    gatewayRssMiB: number[];
    haproxyPssMiB: number[];
    /** Whether memory had settled (four samples within 1 %) before the time allowed ran out. */
    memorySettled: boolean[];
    changeTrafficMs: number[];
    changeAppliedMs: number[];
    changeReloaded: boolean[];
    changeOperations: number[];
    pipelineMs: Record<string, number[]>;
  }>;
}

export const scaleBench: Bench = {
  name: 'scale',
  title: 'Scale: 1k, 5k and 10k Ingresses',
  async run(ctx): Promise<Measured & { data: ScaleData }> {
    const sizes = ctx.smoke ? SMOKE_SIZES : FULL_SIZES;
    const runs = ctx.smoke ? 1 : 3;
    const changesPerRun = ctx.smoke ? 2 : MOVED.length;
    const dir = mkdtempSync(join(tmpdir(), 'gh-bench-scale-'));
    const backend = await startBackend();
    const figures: SizeFigures[] = [];
    try {
      for (const n of sizes) figures.push(await measureSize(ctx, n, runs, changesPerRun, backend, dir));
    } finally {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const tables = [mainTable(figures), pipelineTable(figures)];
    const gw = gatewayTable(figures);
    if (gw) tables.push(gw);
    return {
      method: [
        `Sizes ${sizes.map(sizeLabel).join(', ')} Ingresses, ${runs} run${runs > 1 ? 's' : ''} each (a new gateway per run); the median is shown with ± half the range.`,
        `Each Ingress has its own host (app-NNNNN.scale.test, path / Prefix), its own Service and one EndpointSlice with ${ENDPOINTS} ready endpoints (127.0.0.1 to 127.0.0.10, one port), all in one manifest file of block-style YAML, as \`gatehouse run --manifests FILE\` reads it.`,
        'Every endpoint is a real HTTP listener of the bench (Node), so each request through HAProxy is answered whichever server it picks; the unknown host answers 404.',
        'Start to serving: `gatehouse run` spawned, /readyz 200, then the last Ingress\'s host answered 200 by a backend (the first and middle ones checked too).',
        'Memory: sampled every 250 ms after serving until four samples in a row are within 1 % (at most 10 s); RSS of the gateway\'s Node process, PSS (smaps_rollup) of the HAProxy master and worker summed.',
        `Endpoint change: the middle Ingress's Service has its last endpoint moved to another address (${MOVED.slice(0, changesPerRun).join(', then ')}: each a listener of the bench answering with its own name) by writing the manifests to a new file renamed over the old one, ${changesPerRun} changes per run; timed from the rename until a request to that host is answered by the new listener (rounds of ${ENDPOINTS} requests at once, 10 ms apart, each on a new connection: round robin gives every server one of them). The figure is the median of every change of every run. Reloads are counted from gatehouse_haproxy_reloads_total, the HAProxy worker pids and the gateway's log.`,
        'The pipeline steps are timed in a fresh worker thread with the gateway\'s own modules on the same files.',
      ],
      tables,
      data: {
        sizes: figures.map((s) => ({
          ingresses: s.n,
          runs,
          changesPerRun,
          startSeconds: s.startS.runs,
          readySeconds: s.readyS.runs,
          startCpuSeconds: s.startCpuS.runs,
          gatewayRssMiB: s.gatewayMiB.runs,
          haproxyPssMiB: s.haproxyMiB.runs,
          memorySettled: s.memorySettled,
          changeTrafficMs: s.changeTrafficMs.runs,
          changeAppliedMs: s.changeAppliedMs.runs,
          changeReloaded: s.reloaded,
          changeOperations: s.changeOperations,
          pipelineMs: Object.fromEntries(PIPELINE_ROWS.map(([, k]) => [k, s.pipeline[k].runs])),
        })),
      },
    };
  },
};
