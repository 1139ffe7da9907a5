import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { TLS12_CIPHERS, TLS13_CIPHERSUITES } from '../src/haproxy/tls-defaults.js';
import { startGateway } from '../test/helpers/gateway.js';
import { freePort } from '../test/helpers/ports.js';
import { handshakes, buildHandshakeTool } from './lib/handshakes.js';
import { opensslSpeed } from './lib/openssl-speed.js';
import { totalCpuSeconds } from './lib/procs.js';
import type { Bench, BenchContext, Cell, Measured } from './lib/result.js';
import { startBackend, startMinimalHaproxy, startReferenceNginx, type Server } from './lib/servers.js';
import { certFiles, HOST, siteManifests, type KeyType } from './lib/site.js';
import { formatNumber, ratio, repeat, type Stat } from './lib/stats.js';

type ServerKind = 'gateway' | 'minimal HAProxy' | 'nginx' | typeof REUSE_ALWAYS;
const SERVERS: ServerKind[] = ['gateway', 'minimal HAProxy', 'nginx'];
/**
 * The minimal HAProxy sending a client connection's first request over an idle backend connection, as
 * nginx's upstream keep-alive does (HAProxy's default, `safe`, and the gateway open a new one): what
 * that costs per handshake. ECDSA only, full handshakes only.
 */
const REUSE_ALWAYS = 'minimal HAProxy, http-reuse always';
const KEYS: Array<{ type: KeyType; label: string; speed: 'rsa2048' | 'ecdsap256' }> = [
  { type: 'rsa', label: 'RSA-2048', speed: 'rsa2048' },
  { type: 'ec', label: 'ECDSA P-256', speed: 'ecdsap256' },
];
const VERSIONS = ['1.3', '1.2'] as const;

interface Figures {
  rate: Stat;
  cpuPer1000: Stat;
}

/** Starts one of the three TLS servers in front of the backend with a certificate of `key`. */
async function startServer(kind: ServerKind, key: KeyType, backendPort: number): Promise<{ port: number; pids: () => number[]; server: Server }> {
  const started = await startWithCert(kind, key, backendPort);
  return { ...started, server: { ...started.server, stop: () => started.server.stop().finally(() => rmSync(dirname(started.cert), { recursive: true, force: true })) } };
}

async function startWithCert(kind: ServerKind, key: KeyType, backendPort: number): Promise<{ port: number; pids: () => number[]; server: Server; cert: string }> {
  const cert = certFiles(key);
  const port = await freePort();
  if (kind === 'nginx') {
    const server = await startReferenceNginx(port, backendPort, cert);
    return { port, pids: () => server.workerPids(), server, cert: cert.cert };
  }
  if (kind === 'minimal HAProxy' || kind === REUSE_ALWAYS) {
    const httpReuse = kind === REUSE_ALWAYS ? 'always' : 'safe';
    const server = await startMinimalHaproxy(port, backendPort, cert, { tls12Ciphers: TLS12_CIPHERS, tls13Suites: TLS13_CIPHERSUITES, httpReuse });
    return { port, pids: () => server.workerPids(), server, cert: cert.cert };
  }
  const gw = await startGateway(siteManifests(backendPort, cert), ['--https-port', String(port)]);
  const worker = (await gw.status()).haproxy.workerPid;
  if (worker === undefined) throw new Error('the gateway reports no HAProxy worker');
  return { port, pids: () => [worker], server: { workerPids: () => [worker], stop: () => gw.stop() }, cert: cert.cert };
}

async function measure(ctx: BenchContext, port: number, pids: () => number[], version: '1.2' | '1.3', mode: 'new' | 'reuse', seconds: number, runs: number): Promise<Figures> {
  // One unmeasured run first: session caches, connection pools and CPU frequency settle.
  await handshakes({ port, sni: HOST, version, mode, seconds: Math.min(1, seconds / 2), processes: 2 });
  const figures = await repeat(runs, async () => {
    const cpuBefore = totalCpuSeconds(pids());
    const r = await handshakes({ port, sni: HOST, version, mode, seconds, processes: 2 });
    const cpu = totalCpuSeconds(pids()) - cpuBefore;
    if (r.errors > 0 || r.handshakes === 0) throw new Error(`${r.errors} of ${r.handshakes + r.errors} TLS ${version} connections failed on port ${port}`);
    // Each client process's first connection is a full handshake; every later one must resume.
    const expectedResumed = mode === 'reuse' ? r.handshakes - 2 : 0;
    if (mode === 'reuse' ? r.resumed < expectedResumed : r.resumed > 0) throw new Error(`TLS ${version} ${mode}: ${r.resumed} of ${r.handshakes} handshakes resumed`);
    return { rate: r.handshakes / r.seconds, cpuPer1000: (cpu / r.handshakes) * 1000 };
  }, { rate: 'hs/s', cpuPer1000: 's' });
  ctx.log(`  TLS ${version} ${mode}: ${formatNumber(figures.rate.median)} handshakes/s, ${formatNumber(figures.cpuPer1000.median)} CPU s per 1,000`);
  return figures;
}

export const tlsBench: Bench = {
  name: 'tls',
  title: 'TLS handshakes',
  async run(ctx): Promise<Measured> {
    const seconds = ctx.smoke ? 0.4 : 3;
    const runs = ctx.smoke ? 1 : 5;
    await buildHandshakeTool();
    const cores = cpus().length;
    ctx.log('openssl speed');
    const speed = await opensslSpeed(ctx.smoke ? 1 : 5);
    const backendCert = certFiles('ec');
    const [backendHttp, backendHttps] = [await freePort(), await freePort()];
    const backend = await startBackend(backendHttp, backendHttps, backendCert);

    const full = new Map<string, Figures>();
    const resumed = new Map<string, Figures>();
    try {
      for (const kind of SERVERS) {
        for (const key of KEYS) {
          ctx.log(`${kind}, ${key.label}`);
          const s = await startServer(kind, key.type, backendHttp);
          try {
            for (const version of VERSIONS) full.set(`${kind}|${key.type}|${version}`, await measure(ctx, s.port, s.pids, version, 'new', seconds, runs));
            if (key.type === 'ec') {
              for (const version of VERSIONS) resumed.set(`${kind}|${version}`, await measure(ctx, s.port, s.pids, version, 'reuse', seconds, runs));
            }
          } finally {
            await s.server.stop();
          }
        }
      }
      ctx.log(`${REUSE_ALWAYS}, ECDSA P-256`);
      const s = await startServer(REUSE_ALWAYS, 'ec', backendHttp);
      try {
        for (const version of VERSIONS) full.set(`${REUSE_ALWAYS}|ec|${version}`, await measure(ctx, s.port, s.pids, version, 'new', seconds, runs));
      } finally {
        await s.server.stop();
      }
    } finally {
      await backend.stop();
      rmSync(dirname(backendCert.cert), { recursive: true, force: true });
    }

    const speedRows: Cell[][] = KEYS.map((k) => [k.label, speed[k.speed], (1000 / speed[k.speed]).toFixed(3), speed[k.speed] * cores]);
    const fullRows: Cell[][] = [];
    for (const key of KEYS) {
      for (const version of VERSIONS) {
        const gateway = full.get(`gateway|${key.type}|${version}`)!;
        for (const kind of key.type === 'ec' ? [...SERVERS, REUSE_ALWAYS] : SERVERS) {
          const f = full.get(`${kind}|${key.type}|${version}`)!;
          const signCpu = 1000 / speed[key.speed];
          fullRows.push([key.label, `TLS ${version}`, kind, f.rate, ratio(f.rate, speed[key.speed] * cores), ratio(f.rate, gateway.rate), f.cpuPer1000, ratio(signCpu, f.cpuPer1000.median)]);
        }
      }
    }
    const resumedRows: Cell[][] = [];
    for (const version of VERSIONS) {
      for (const kind of SERVERS) {
        const r = resumed.get(`${kind}|${version}`)!;
        resumedRows.push([`TLS ${version}`, kind, r.rate, ratio(r.rate, resumed.get(`gateway|${version}`)!.rate), r.cpuPer1000, ratio(r.rate, full.get(`${kind}|ec|${version}`)!.rate)]);
      }
    }
    return {
      method: [
        'Load generator: bench/tools/tls-handshakes.c (OpenSSL 3 client, compiled on first use), two client processes, each connecting over and over: TCP connect, TLS handshake with SNI bench.local, one `GET /` with `Connection: close` answered by the backend, close. The client pins the TLS version. `openssl s_time` does the same but sends no SNI; Node and Python clients spend several times the server\'s CPU per handshake.',
        `Per figure: one unmeasured warm-up second, then ${runs} run(s) of ${seconds} s; the median and the spread of those runs. A run in which any connection fails, or a resumption was not resumed, stops the benchmark.`,
        'Server CPU: user + system seconds of the serving processes (HAProxy\'s worker, nginx\'s workers) read from /proc before and after each run, divided by the handshakes done.',
        `Servers, each in front of the same backend (nginx, one worker, 2-byte answer): the gateway (\`gatehouse run\`, one Ingress with a TLS Secret, HAProxy with its default threads); HAProxy with a hand-written minimal configuration (one bind with the gateway's ciphers, one backend: what the gateway's routing rules cost), and the same with \`http-reuse always\` (ECDSA, full handshakes); nginx with ingress-nginx's TLS defaults (session cache, no session tickets, its cipher list, upstream keep-alive). All use every core.`,
        `Bound: \`openssl speed\` signatures per second on one core for the certificate's key, times the ${cores} cores: what a machine that did nothing but the server's private-key operation would reach. The load generator shares these cores, so no server reaches it here.`,
        'Resumed handshakes use the ECDSA certificate (a resumption does no private-key operation): TLS 1.2 and 1.3 session tickets for HAProxy, the session cache for nginx (tickets off, as in ingress-nginx).',
      ],
      tables: [
        {
          title: 'openssl speed on this machine',
          columns: ['Key', 'Signatures/s (1 core)', 'CPU s per 1,000 signatures', `Bound for ${cores} cores (signatures/s)`],
          rows: speedRows,
        },
        {
          title: 'Full handshakes',
          columns: ['Certificate', 'TLS', 'Server', 'Handshakes/s', '% of bound', 'vs gateway', 'Server CPU s per 1,000', 'Share of CPU in the signature'],
          rows: fullRows,
          notes: ['*Share of CPU in the signature*: `openssl speed`\'s CPU seconds per 1,000 signatures divided by the server\'s CPU seconds per 1,000 handshakes: the part of each handshake a crypto accelerator can take over.'],
        },
        {
          title: 'Resumed handshakes (ECDSA P-256 certificate)',
          columns: ['TLS', 'Server', 'Handshakes/s', 'vs gateway', 'Server CPU s per 1,000', 'vs full handshakes'],
          rows: resumedRows,
        },
      ],
    };
  },
};
