/**
 * Live updates: how long from a change in the manifests to traffic following it, how many reloads each
 * kind of change costs, and what a reload costs the traffic flowing through it (failed requests under
 * continuous load, long-lived connections held across it).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { startEchoBackend, type EchoBackend } from '../test/helpers/backends.js';
import { makeCert, type TestCert } from '../test/helpers/certs.js';
import { request } from '../test/helpers/client.js';
import { startGateway, type GatewayStatusDoc, type RunningGateway } from '../test/helpers/gateway.js';
import { ingress, service, serviceMultiPort, tlsSecret, yamlOf, type Obj, type PathSpec } from '../test/helpers/manifests.js';
import { freePort } from '../test/helpers/ports.js';
import { isRunning } from '../test/helpers/processes.js';
import { waitFor } from '../test/helpers/wait.js';
import { startH2Load, type H2LoadResult } from './lib/h2client.js';
import type { Bench, BenchContext, Cell, Measured, Table } from './lib/result.js';
import { startBackend, type Server as BenchServer } from './lib/servers.js';
import { certFiles, HOST } from './lib/site.js';
import { percentile } from './lib/stats.js';
import { startWrk, type WrkResult } from './lib/wrk.js';

/** How each part of the benchmark is sized; `--smoke` keeps the whole run under ~25 s. */
interface Sizes {
  /** Repetitions of each kind of change. */
  repetitions: number;
  /** Reloads forced under continuous load. */
  reloadsUnderLoad: number;
  /** The slow streamed response: chunks, one every `chunkIntervalMs`. */
  streamChunks: number;
  /** Reloads forced while the long-lived connections are open. */
  reloadsDuringStream: number;
}

const FULL: Sizes = { repetitions: 40, reloadsUnderLoad: 100, streamChunks: 120, reloadsDuringStream: 3 };
const SMOKE: Sizes = { repetitions: 3, reloadsUnderLoad: 10, streamChunks: 60, reloadsDuringStream: 1 };

const CHUNK_INTERVAL_MS = 50;
const CHUNK_BYTES = 1024;
/** A change not followed within this long fails the benchmark. */
const FOLLOW_DEADLINE_MS = 10_000;
/** Gap between two probes of a poll: the resolution of the figures, and what keeps a probe loop from taking a core. */
const PROBE_GAP_MS = 1;
/** Removal is seen once this many requests in a row did not reach the removed endpoint. */
const REMOVED_STREAK = 20;

// ------------------------------------------------------------------------------------------------
// What the gateway is given

interface SiteState {
  /** Endpoints of the Service `web`. */
  web: EchoBackend[];
  /** Index of the certificate in the Secret. */
  cert: number;
  /** Extra paths routed to `web` (`/r<i>x`), added by the route changes. */
  routes: number[];
  /** The Service `svc-<n>` and its path `/svc-<n>`, a backend of its own; replaced by each new-backend change. */
  svc: number | null;
  /** The path `/flip` to the Service `flip`: toggled to force a reload. */
  flip: boolean;
}

interface Fixture {
  one: EchoBackend;
  two: EchoBackend;
  fresh: EchoBackend;
  stream: StreamBackend;
  loadPort: number;
  certs: TestCert[];
}

function manifests(f: Fixture, s: SiteState): string {
  const paths: PathSpec[] = [
    { path: '/web', service: 'web' },
    { path: '/load', service: 'load' },
    { path: '/stream', service: 'stream' },
    { path: '/ws', service: 'stream' },
    ...s.routes.map((i) => ({ path: `/r${i}x`, service: 'web' })),
    ...(s.svc !== null ? [{ path: `/svc-${s.svc}`, service: `svc-${s.svc}` }] : []),
    ...(s.flip ? [{ path: '/flip', service: 'flip' }] : []),
  ];
  const objects: Obj[] = [
    tlsSecret('bench-tls', f.certs[s.cert]!.cert, f.certs[s.cert]!.key),
    ...serviceMultiPort('web', s.web.map((b) => ({ port: b.port }))),
    ...service('load', [{ port: f.loadPort }]),
    ...service('stream', [{ port: f.stream.port }]),
    ...(s.svc !== null ? service(`svc-${s.svc}`, [{ port: f.fresh.port }]) : []),
    ...(s.flip ? service('flip', [{ port: f.fresh.port }]) : []),
    ingress('site', {
      annotations: { 'gatehouse.io/ssl-redirect': 'false' },
      tls: [{ hosts: [HOST], secretName: 'bench-tls' }],
      rules: [{ host: HOST, paths }],
    }),
  ];
  return yamlOf(...objects);
}

/**
 * Writes the manifests as a user, an editor or the kubelet (ConfigMap volume) does: a temp file renamed
 * over the old one, so the gateway never sees half a file. Returns the time of the rename (performance.now()).
 */
function writeAtomically(path: string, text: string): number {
  const tmp = join(dirname(path), `.${basename(path)}.tmp`);
  writeFileSync(tmp, text);
  const t0 = performance.now();
  renameSync(tmp, path);
  return t0;
}

/** Writes the manifests in place (truncate, then write), as `echo … > file` does. */
function writeInPlace(path: string, text: string): number {
  const t0 = performance.now();
  writeFileSync(path, text);
  return t0;
}

// ------------------------------------------------------------------------------------------------
// Backends of our own: a slow stream and an upgraded (WebSocket-style) echo tunnel

interface StreamBackend {
  port: number;
  close(): Promise<void>;
}

/**
 * `GET /stream?chunks=N` answers N chunks of CHUNK_BYTES, one every CHUNK_INTERVAL_MS; a request with
 * `Upgrade: websocket` is switched (101) and every byte sent on it is echoed back.
 */
async function startStreamBackend(): Promise<StreamBackend> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('chunks') ?? '10');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(chunks * CHUNK_BYTES) });
    let sent = 0;
    const timer = setInterval(() => {
      res.write(chunkText(sent));
      if (++sent >= chunks) {
        clearInterval(timer);
        res.end();
      }
    }, CHUNK_INTERVAL_MS);
    res.on('close', () => clearInterval(timer));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key'] ?? ''}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`, '', ''].join('\r\n'));
    socket.pipe(socket);
    socket.on('error', () => socket.destroy());
    req.resume();
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Chunk `i` of the stream: its number, then padding, CHUNK_BYTES in all, so a lost or reordered chunk shows. */
function chunkText(i: number): string {
  const head = `chunk ${i}\n`;
  return head + '.'.repeat(CHUNK_BYTES - head.length - 1) + '\n';
}

// ------------------------------------------------------------------------------------------------
// Probes: each polls until the client sees the new behaviour, and returns when (performance.now())

const gap = (): Promise<void> => new Promise((r) => setTimeout(r, PROBE_GAP_MS));

/** One request with a new connection, as a new client makes it; errors count as "not yet". */
async function get(port: number, path: string): Promise<{ status: number; backend: string | undefined } | undefined> {
  try {
    const r = await request(port, { host: HOST, path, timeoutMs: 2000 });
    return { status: r.status, backend: r.backend };
  } catch {
    return undefined;
  }
}

async function poll(what: string, t0: number, probe: () => Promise<boolean>): Promise<number> {
  for (;;) {
    if (await probe()) return performance.now();
    if (performance.now() - t0 > FOLLOW_DEADLINE_MS) throw new Error(`updates: ${what} not seen within ${FOLLOW_DEADLINE_MS} ms`);
    await gap();
  }
}

/** The first answer from `backend` on `path` (a 200 from it). */
function answeredBy(port: number, path: string, backend: string, what: string, t0: number): Promise<number> {
  return poll(what, t0, async () => {
    const r = await get(port, path);
    return r?.status === 200 && r.backend === backend;
  });
}

/**
 * The end of the first request after the last one `removed` answered: from then on no request reaches it
 * (checked over the next REMOVED_STREAK requests, which round-robin would otherwise share with it).
 */
async function noLongerReaches(port: number, path: string, removed: string, t0: number): Promise<number> {
  let streakStart: number | undefined;
  let streak = 0;
  for (;;) {
    const r = await get(port, path);
    const now = performance.now();
    if (r?.status === 200 && r.backend !== removed) {
      streakStart ??= now;
      if (++streak >= REMOVED_STREAK) return streakStart;
    } else {
      streakStart = undefined;
      streak = 0;
    }
    if (now - t0 > FOLLOW_DEADLINE_MS) throw new Error(`updates: endpoint ${removed} still answering ${FOLLOW_DEADLINE_MS} ms after its removal`);
    await gap();
  }
}

/** SHA-256 fingerprint of the certificate presented for SNI HOST, from a full handshake (no resumption). */
function presentedFingerprint(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: HOST, rejectUnauthorized: false, timeout: 2000 }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fp);
    });
    socket.on('error', () => resolve(undefined));
    socket.on('timeout', () => (socket.destroy(), resolve(undefined)));
  });
}

// ------------------------------------------------------------------------------------------------
// The gateway's own account: status, metrics and the time it logged the change as applied

const reloadsOf = (s: GatewayStatusDoc): number => Object.values(s.reloads).reduce((a, b) => a + b, 0);

function runtimeOps(metrics: string): number {
  let sum = 0;
  for (const m of metrics.matchAll(/^gatehouse_runtime_updates_total\{[^}]*\} (\d+(?:\.\d+)?)$/gm)) sum += Number(m[1]);
  return sum;
}

/** When (epoch ms) the gateway logged generation `generation` applied, from its JSON log lines after `from`. */
function appliedAt(logs: string, from: number, generation: number): number | undefined {
  for (const line of logs.slice(from).split('\n')) {
    if (!line.includes('"configuration applied')) continue;
    try {
      const entry = JSON.parse(line) as { time?: string; generation?: number };
      if (entry.generation === generation && entry.time) return Date.parse(entry.time);
    } catch {
      // a line cut by the output buffer; the next one will do
    }
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------------
// Part 1: change → traffic follows

interface ChangeKind {
  key: string;
  label: string;
  /** What the client checks, for the table. */
  seen: string;
  write: 'rename' | 'in place';
  /** The state the change goes to, from the current one (repetition i). */
  next(s: SiteState, i: number, f: Fixture): SiteState;
  /** Resolves with the time the client first saw the new behaviour. */
  follows(gw: RunningGateway, f: Fixture, s: SiteState, i: number, t0: number): Promise<number>;
  /** Where to go back to afterwards (written atomically, not measured), so the next repetition starts alike. */
  undo?(s: SiteState, f: Fixture): SiteState;
}

interface ChangeRun {
  followMs: number;
  appliedMs: number;
  reloads: number;
  reasons: string[];
  ops: number;
}

function changeKinds(): ChangeKind[] {
  return [
    {
      key: 'endpoint-added',
      label: 'endpoint added',
      seen: 'a request (new connection) answered by the new endpoint',
      write: 'rename',
      next: (s, _i, f) => ({ ...s, web: [f.one, f.two] }),
      follows: (gw, f, _s, _i, t0) => answeredBy(gw.httpPort, '/web', f.two.name, 'the added endpoint', t0),
    },
    {
      key: 'endpoint-removed',
      label: 'endpoint removed',
      seen: `the first request after the last one the removed endpoint answered (none in the ${REMOVED_STREAK} after it)`,
      write: 'rename',
      next: (s, _i, f) => ({ ...s, web: [f.one] }),
      follows: (gw, f, _s, _i, t0) => noLongerReaches(gw.httpPort, '/web', f.two.name, t0),
    },
    {
      key: 'endpoint-added-in-place',
      label: 'endpoint added, file written in place',
      seen: 'as for "endpoint added"',
      write: 'in place',
      next: (s, _i, f) => ({ ...s, web: [f.one, f.two] }),
      follows: (gw, f, _s, _i, t0) => answeredBy(gw.httpPort, '/web', f.two.name, 'the added endpoint', t0),
      undo: (s, f) => ({ ...s, web: [f.one] }),
    },
    {
      key: 'route-added',
      label: 'route added to an existing backend',
      seen: 'the new path answered by the backend instead of 404',
      write: 'rename',
      next: (s, i) => ({ ...s, routes: [...s.routes, i] }),
      follows: (gw, f, _s, i, t0) => answeredBy(gw.httpPort, `/r${i}x`, f.one.name, 'the new route', t0),
    },
    {
      key: 'certificate-rotated',
      label: 'certificate rotated',
      seen: 'a TLS handshake (SNI) presenting the new certificate',
      write: 'rename',
      next: (s) => ({ ...s, cert: s.cert + 1 }),
      follows: async (gw, f, s, _i, t0) => {
        const want = new X509Certificate(f.certs[s.cert]!.cert).fingerprint256;
        return poll('the rotated certificate', t0, async () => (await presentedFingerprint(gw.httpsPort)) === want);
      },
    },
    {
      key: 'backend-added',
      label: 'new backend (Service and its route)',
      seen: 'the new path answered by the new Service instead of 404',
      write: 'rename',
      next: (s, i) => ({ ...s, svc: i }),
      follows: (gw, f, _s, i, t0) => answeredBy(gw.httpPort, `/svc-${i}`, f.fresh.name, 'the new backend', t0),
    },
  ];
}

/** Writes `state`, waits for the gateway to apply it; for the unmeasured steps. */
async function applyQuietly(gw: RunningGateway, f: Fixture, state: SiteState): Promise<void> {
  const before = (await gw.status()).generation;
  writeAtomically(gw.manifests, manifests(f, state));
  await waitFor(async () => (await gw.status()).generation > before, FOLLOW_DEADLINE_MS, 'an unmeasured change to be applied');
}

async function measureChange(gw: RunningGateway, f: Fixture, kind: ChangeKind, state: SiteState, i: number): Promise<{ run: ChangeRun; state: SiteState }> {
  const statusBefore = await gw.status();
  const opsBefore = runtimeOps(await gw.metrics());
  const next = kind.next(state, i, f);
  const text = manifests(f, next);
  const logFrom = gw.logs().length;
  const wallAtT0 = performance.timeOrigin;
  const t0 = kind.write === 'rename' ? writeAtomically(gw.manifests, text) : writeInPlace(gw.manifests, text);
  const t1 = await kind.follows(gw, f, next, i, t0);
  // the change is complete once the gateway counts it applied (a generation); only then the next one
  let statusAfter = statusBefore;
  await waitFor(async () => (statusAfter = await gw.status()).generation > statusBefore.generation, FOLLOW_DEADLINE_MS, `${kind.label} to be applied`);
  const generation = statusAfter.generation;
  let logged: number | undefined;
  await waitFor(() => (logged = appliedAt(gw.logs(), logFrom, generation)) !== undefined, 2000, `the log line of generation ${generation}`);
  const reasons = Object.entries(statusAfter.reloads).flatMap(([r, n]) => (n > (statusBefore.reloads[r] ?? 0) ? [r] : []));
  const run: ChangeRun = {
    followMs: t1 - t0,
    appliedMs: logged! - (wallAtT0 + t0),
    reloads: reloadsOf(statusAfter) - reloadsOf(statusBefore),
    reasons,
    ops: runtimeOps(await gw.metrics()) - opsBefore,
  };
  let state2 = next;
  if (kind.undo) {
    state2 = kind.undo(next, f);
    await applyQuietly(gw, f, state2);
  }
  return { run, state: state2 };
}

// ------------------------------------------------------------------------------------------------
// Part 2: reloads under continuous load

interface LoadFigures {
  keepAlive: WrkResult;
  newConnections: WrkResult;
  h2: H2LoadResult;
  reloads: number;
  reloadsCounted: number;
  haproxyReloadsCounted: number;
  reloadMs: number[];
}

async function reloadsUnderLoad(ctx: BenchContext, gw: RunningGateway, f: Fixture, state: SiteState, n: number): Promise<{ figures: LoadFigures; state: SiteState }> {
  const http = `http://127.0.0.1:${gw.httpPort}/load`;
  const maxSeconds = Math.ceil(n * 5 + 60);
  const keepAlive = startWrk({ url: http, connections: 4, headers: { Host: HOST }, maxSeconds });
  const newConnections = startWrk({ url: http, connections: 2, headers: { Host: HOST, Connection: 'close' }, maxSeconds });
  const h2 = startH2Load({ port: gw.httpsPort, host: HOST, path: '/load', connections: 2, streams: 8 });
  const before = await gw.status();
  const reloadMs: number[] = [];
  let s = state;
  {
    for (let k = 0; k < n; k++) {
      const st = await gw.status();
      s = { ...s, flip: !s.flip };
      const t0 = writeAtomically(gw.manifests, manifests(f, s));
      await waitFor(async () => {
        const now = await gw.status();
        return now.haproxy.reloads > st.haproxy.reloads && now.generation > st.generation;
      }, 30_000, `reload ${k + 1} of ${n} under load`);
      reloadMs.push(performance.now() - t0);
      if ((k + 1) % 20 === 0) ctx.log(`${k + 1} reloads under load`);
    }
  }
  const after = await gw.status();
  const [ka, nc, h2r] = [await keepAlive.stop(), await newConnections.stop(), await h2.stop()];
  return {
    state: s,
    figures: {
      keepAlive: ka,
      newConnections: nc,
      h2: h2r,
      reloads: n,
      reloadsCounted: reloadsOf(after) - reloadsOf(before),
      haproxyReloadsCounted: after.haproxy.reloads - before.haproxy.reloads,
      reloadMs,
    },
  };
}

// ------------------------------------------------------------------------------------------------
// Part 3: long-lived connections across reloads

interface LongLived {
  label: string;
  survived: boolean;
  bytes: number;
  expected: number;
  reloadsDuring: number;
  /** The worker that served it was still running (soft-stopping) after the reload. */
  oldWorkerKept: boolean;
  detail: string;
}

/** Opens the slow stream through the gateway; resolves with what arrived once it ends (or fails). */
function openStream(port: number, chunks: number): { firstChunk: Promise<void>; done: Promise<{ bytes: number; ok: boolean; detail: string }> } {
  let first!: () => void;
  const firstChunk = new Promise<void>((r) => (first = r));
  const done = new Promise<{ bytes: number; ok: boolean; detail: string }>((resolve) => {
    const expected = chunks * CHUNK_BYTES;
    const req = httpRequest({ host: '127.0.0.1', port, path: `/stream?chunks=${chunks}`, headers: { host: HOST }, agent: false, timeout: 15_000 });
    req.on('timeout', () => req.destroy(new Error('stream stalled for 15 s')));
    req.on('error', (e) => (first(), resolve({ bytes: 0, ok: false, detail: String(e) })));
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      let bytes = 0;
      res.on('data', (d: Buffer) => {
        parts.push(d);
        bytes += d.length;
        first();
      });
      res.on('error', (e) => resolve({ bytes, ok: false, detail: String(e) }));
      res.on('aborted', () => resolve({ bytes, ok: false, detail: 'aborted' }));
      res.on('end', () => {
        const body = Buffer.concat(parts).toString();
        const whole = Array.from({ length: chunks }, (_, i) => chunkText(i)).join('');
        const ok = res.statusCode === 200 && bytes === expected && body === whole;
        resolve({ bytes, ok, detail: ok ? 'every chunk, in order' : `status ${res.statusCode}, ${bytes} of ${expected} bytes${body === whole ? '' : ', content differs'}` });
      });
    });
    req.end();
  });
  return { firstChunk, done };
}

/** An upgraded connection (WebSocket handshake, then a tunnel): a message every CHUNK_INTERVAL_MS, each echoed. */
function openTunnel(port: number): Promise<{ closed(): boolean; stop(): Promise<{ sent: number; echoed: number; ok: boolean; detail: string }> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/ws',
      agent: false,
      headers: { host: HOST, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    req.on('error', reject);
    req.on('response', (res) => reject(new Error(`no upgrade: status ${res.statusCode}`)));
    req.on('upgrade', (_res, socket: Socket) => {
      let sent = '';
      let echoed = '';
      let error: string | undefined;
      let closed = false;
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (echoed += d));
      socket.on('error', (e) => (error = String(e)));
      socket.on('close', () => (closed = true));
      let n = 0;
      const timer = setInterval(() => {
        if (closed) return;
        const msg = `message ${n++}\n`;
        sent += msg;
        socket.write(msg);
      }, CHUNK_INTERVAL_MS);
      resolve({
        closed: () => closed,
        async stop() {
          clearInterval(timer);
          // the last message's echo: wait for it, bounded
          await waitFor(() => closed || echoed.length >= sent.length, 2000, 'the last echo').catch(() => undefined);
          const ok = !closed && error === undefined && echoed === sent;
          socket.destroy();
          return { sent: n, echoed: echoed.split('\n').length - 1, ok, detail: ok ? 'every message echoed' : (error ?? (closed ? 'closed early' : 'echo differs')) };
        },
      });
    });
    req.end();
  });
}

async function longLived(gw: RunningGateway, f: Fixture, state: SiteState, sizes: Sizes): Promise<{ rows: LongLived[]; state: SiteState }> {
  const oldWorker = (await gw.status()).haproxy.workerPid;
  const stream = openStream(gw.httpPort, sizes.streamChunks);
  const tunnel = await openTunnel(gw.httpPort);
  let streamEnded = false;
  void stream.done.then(() => (streamEnded = true));
  await stream.firstChunk;
  let s = state;
  for (let k = 0; k < sizes.reloadsDuringStream; k++) {
    const st = await gw.status();
    s = { ...s, flip: !s.flip };
    writeAtomically(gw.manifests, manifests(f, s));
    await waitFor(async () => (await gw.status()).haproxy.reloads > st.haproxy.reloads, 30_000, 'a reload during the stream');
  }
  const afterReloads = await gw.status();
  // the reloads must have happened while both were open, or they prove nothing
  const openThrough = !streamEnded && !tunnel.closed();
  const oldWorkerKept = oldWorker !== undefined && afterReloads.haproxy.workerPid !== oldWorker && isRunning(oldWorker);
  const streamed = await stream.done;
  const tunnelled = await tunnel.stop();
  const expected = sizes.streamChunks * CHUNK_BYTES;
  return {
    state: s,
    rows: [
      {
        label: `streamed response (${sizes.streamChunks} chunks of ${CHUNK_BYTES} B, one every ${CHUNK_INTERVAL_MS} ms)`,
        survived: streamed.ok && openThrough,
        bytes: streamed.bytes,
        expected,
        reloadsDuring: sizes.reloadsDuringStream,
        oldWorkerKept,
        detail: openThrough ? streamed.detail : `it ended before the reloads were done (${streamed.detail})`,
      },
      {
        label: `upgraded connection (WebSocket handshake, echo every ${CHUNK_INTERVAL_MS} ms)`,
        survived: tunnelled.ok && openThrough,
        bytes: tunnelled.echoed,
        expected: tunnelled.sent,
        reloadsDuring: sizes.reloadsDuringStream,
        oldWorkerKept,
        detail: openThrough ? tunnelled.detail : `it ended before the reloads were done (${tunnelled.detail})`,
      },
    ],
  };
}

// ------------------------------------------------------------------------------------------------

async function run(ctx: BenchContext): Promise<Measured> {
  const sizes = ctx.smoke ? SMOKE : FULL;
  const kinds = changeKinds();
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const one = await startEchoBackend('one');
    cleanups.push(() => one.close());
    const two = await startEchoBackend('two');
    cleanups.push(() => two.close());
    const fresh = await startEchoBackend('fresh');
    cleanups.push(() => fresh.close());
    const stream = await startStreamBackend();
    cleanups.push(() => stream.close());
    const [loadPort, loadTlsPort] = [await freePort(), await freePort()];
    const loadBackend: BenchServer = await startBackend(loadPort, loadTlsPort, certFiles('ec'));
    cleanups.push(() => loadBackend.stop());
    const rotations = kinds.filter((k) => k.key === 'certificate-rotated').length * sizes.repetitions;
    const certs = Array.from({ length: rotations + 1 }, () => makeCert([HOST], { type: 'ec', days: 30 }));
    const f: Fixture = { one, two, fresh, stream, loadPort, certs };

    let state: SiteState = { web: [one], cert: 0, routes: [], svc: null, flip: false };
    const gw = await startGateway(manifests(f, state), [], { timeoutMs: 20_000 });
    cleanups.push(() => gw.stop());
    ctx.log(`gateway up (http ${gw.httpPort}, https ${gw.httpsPort})`);

    // Part 1, the kinds interleaved so that what else runs on the machine weighs on each alike
    const runs = new Map<string, ChangeRun[]>(kinds.map((k) => [k.key, []]));
    for (let i = 1; i <= sizes.repetitions; i++) {
      for (const kind of kinds) {
        const r = await measureChange(gw, f, kind, state, i);
        state = r.state;
        runs.get(kind.key)!.push(r.run);
      }
      if (i % 10 === 0 || i === sizes.repetitions) ctx.log(`changes: ${i} of ${sizes.repetitions} rounds`);
    }

    // Part 2 and 3
    const load = await reloadsUnderLoad(ctx, gw, f, state, sizes.reloadsUnderLoad);
    state = load.state;
    ctx.log(`reloads under load: ${load.figures.reloadsCounted} counted, failed ${load.figures.keepAlive.failed}+${load.figures.newConnections.failed}+${load.figures.h2.failed}`);
    const ll = await longLived(gw, f, state, sizes);
    state = ll.state;

    return report(sizes, kinds, runs, load.figures, ll.rows);
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
}

function report(sizes: Sizes, kinds: ChangeKind[], runs: Map<string, ChangeRun[]>, load: LoadFigures, long: LongLived[]): Measured {
  const ms = (v: number): number => Math.round(v * 10) / 10;
  const changes: Table = {
    title: `From a change in the manifests to traffic following it (${sizes.repetitions} repetitions of each)`,
    columns: ['change', 'traffic follows p50', 'p99', 'gateway applied p50', 'reloads per change', 'Runtime API ops per change', 'what the client checks'],
    rows: kinds.map((k): Cell[] => {
      const r = runs.get(k.key)!;
      const reloads = r.reduce((a, x) => a + x.reloads, 0) / r.length;
      const reasons = [...new Set(r.flatMap((x) => x.reasons))];
      return [
        k.label,
        `${ms(percentile(r.map((x) => x.followMs), 50))} ms`,
        `${ms(percentile(r.map((x) => x.followMs), 99))} ms`,
        `${ms(percentile(r.map((x) => x.appliedMs), 50))} ms`,
        reasons.length ? `${reloads} (${reasons.join(', ')})` : reloads,
        r.reduce((a, x) => a + x.ops, 0) / r.length,
        k.seen,
      ];
    }),
    notes: [
      'Time from the rename of the manifests file (a new file written and renamed over the old one, as editors and the kubelet do; "in place": truncated and written again) to the first answer showing the change.',
      '"gateway applied": to the gateway\'s log line saying the change is applied (after every Runtime API command, or once the new worker answers).',
      'Probes are new connections from one client, one every millisecond or so; the p99 of this many runs is close to their maximum.',
    ],
  };
  const totalFailed = load.keepAlive.failed + load.newConnections.failed + load.h2.failed;
  const wrkRow = (label: string, w: WrkResult): Cell[] => [label, w.requests, w.failed, `connect ${w.connectErrors}, read ${w.readErrors}, write ${w.writeErrors}, timeout ${w.timeouts}, non-2xx ${w.non2xx3xx}`];
  const loadTable: Table = {
    title: `${load.reloads} reloads under continuous load`,
    columns: ['load', 'requests', 'failed', 'of which'],
    rows: [
      wrkRow('HTTP/1.1 keep-alive (wrk, 4 connections)', load.keepAlive),
      wrkRow('HTTP/1.1, a new connection per request (wrk, Connection: close, 2 connections)', load.newConnections),
      ['HTTP/2 over TLS (Node client, 2 connections × 8 streams)', load.h2.ok + load.h2.failed, load.h2.failed, `${load.h2.goaways} GOAWAYs; ${load.h2.refusedRetried} requests refused unprocessed (REFUSED_STREAM) and retried on a new connection`],
      ['all', load.keepAlive.requests + load.newConnections.requests + load.h2.ok + load.h2.failed, totalFailed, `${load.reloadsCounted} reloads counted by /status, ${load.haproxyReloadsCounted} by HAProxy`],
    ],
    notes: [
      `Each reload is a backend added or removed; the next is written once the previous one's new worker answers: per reload ${Math.round(percentile(load.reloadMs, 50))} ms p50, ${Math.round(percentile(load.reloadMs, 99))} ms p99 from the rename to the new worker answering.`,
    ],
  };
  const longTable: Table = {
    title: 'Long-lived connections across reloads',
    columns: ['connection', 'reloads while open', 'survived', 'received', 'old worker kept serving it'],
    rows: long.map((l) => [l.label, l.reloadsDuring, l.survived ? 'yes' : `no: ${l.detail}`, l.label.startsWith('streamed') ? `${l.bytes} of ${l.expected} bytes` : `${l.bytes} of ${l.expected} messages`, l.oldWorkerKept ? 'yes' : 'no']),
  };
  return {
    method: [
      'One `gatehouse run` with a file of manifests: an Ingress for one host over TLS, a Service `web` with one or two Node echo backends on 127.0.0.1 that answer with their name, a Service on nginx for the load, and a backend that streams slowly.',
      `Each change is written to the file atomically (temp file renamed over it) and then polled from the client side, one new connection every ~${PROBE_GAP_MS} ms, until the client sees it; ${sizes.repetitions} repetitions of each kind, the kinds taking turns.`,
      'Reloads per change from `/status` (`reloads` by reason), Runtime API operations from `gatehouse_runtime_updates_total`, each as a delta over the change.',
      `Under load: wrk (HTTP/1.1 keep-alive, 4 connections; and Connection: close, 2 connections) and a Node HTTP/2 client (over TLS, 2 connections × 8 streams; after a GOAWAY it reconnects and sends again what the server refused unprocessed, as HTTP/2 clients do: h2load does neither, so each of its connections ends at the first reload) against the gateway while ${sizes.reloadsUnderLoad} reloads are forced one after the other (a backend added or removed).`,
      `Long-lived: a response streamed in ${sizes.streamChunks} chunks of ${CHUNK_BYTES} B every ${CHUNK_INTERVAL_MS} ms and an upgraded (WebSocket) connection echoing a message every ${CHUNK_INTERVAL_MS} ms, both open through ${sizes.reloadsDuringStream} reload(s).`,
    ],
    tables: [changes, loadTable, longTable],
    data: updatesData(kinds, runs, load, long),
  };
}

/** What bench/results/updates.json holds besides the tables (`data`), for test/bench/updates.test.ts. */
export interface UpdatesData {
  changes: Record<string, { repetitions: number; followMs: number[]; appliedMs: number[]; followP50Ms: number; followP99Ms: number; appliedP50Ms: number; reloadsPerChange: number; reloadReasons: string[]; runtimeOpsPerChange: number }>;
  underLoad: {
    reloadsForced: number;
    reloadsCounted: number;
    haproxyReloadsCounted: number;
    requests: number;
    failed: number;
    /** Per load generator: requests, failed, and how they failed (wrk's error counts; the HTTP/2 client's retries and errors). */
    byLoad: Record<'keepAlive' | 'newConnections' | 'h2', { requests: number; failed: number; [detail: string]: unknown }>;
    reloadP50Ms: number;
    reloadP99Ms: number;
  };
  longLived: Array<{ label: string; survived: boolean; received: number; expected: number; reloadsDuring: number; oldWorkerKept: boolean; detail: string }>;
}

function updatesData(kinds: ChangeKind[], runs: Map<string, ChangeRun[]>, load: LoadFigures, long: LongLived[]): UpdatesData & Record<string, unknown> {
  const changes: UpdatesData['changes'] = {};
  for (const k of kinds) {
    const r = runs.get(k.key)!;
    changes[k.key] = {
      repetitions: r.length,
      followMs: r.map((x) => Math.round(x.followMs * 10) / 10),
      appliedMs: r.map((x) => Math.round(x.appliedMs * 10) / 10),
      followP50Ms: percentile(r.map((x) => x.followMs), 50),
      followP99Ms: percentile(r.map((x) => x.followMs), 99),
      appliedP50Ms: percentile(r.map((x) => x.appliedMs), 50),
      reloadsPerChange: r.reduce((a, x) => a + x.reloads, 0) / r.length,
      reloadReasons: [...new Set(r.flatMap((x) => x.reasons))],
      runtimeOpsPerChange: r.reduce((a, x) => a + x.ops, 0) / r.length,
    };
  }
  const byLoad = {
    keepAlive: { ...load.keepAlive },
    newConnections: { ...load.newConnections },
    h2: { requests: load.h2.ok + load.h2.failed, failed: load.h2.failed, refusedRetried: load.h2.refusedRetried, errors: load.h2.errors },
  };
  return {
    changes,
    underLoad: {
      reloadsForced: load.reloads,
      reloadsCounted: load.reloadsCounted,
      haproxyReloadsCounted: load.haproxyReloadsCounted,
      requests: byLoad.keepAlive.requests + byLoad.newConnections.requests + byLoad.h2.requests,
      failed: byLoad.keepAlive.failed + byLoad.newConnections.failed + byLoad.h2.failed,
      byLoad,
      reloadP50Ms: percentile(load.reloadMs, 50),
      reloadP99Ms: percentile(load.reloadMs, 99),
    },
    longLived: long.map((l) => ({ label: l.label, survived: l.survived, received: l.bytes, expected: l.expected, reloadsDuring: l.reloadsDuring, oldWorkerKept: l.oldWorkerKept, detail: l.detail })),
  };
}

export const updatesBench: Bench = {
  name: 'updates',
  title: 'Live updates: from a change in the manifests to traffic following it, and reloads under load',
  run,
};
