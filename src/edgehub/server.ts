/**
 * edge-hub put together: the durable cache, the link health, the proxy on its loopback listeners
 * (HTTP and HTTPS), and the admin API (`/healthz`, `/readyz`, `/metrics`, `/status`).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { startAdminServer } from '../admin/server.js';
import { ApiCache } from './api-cache.js';
import { DiskCache, type CacheEvent } from './disk-cache.js';
import { LinkHealth } from './health.js';
import { EdgeHubMetrics } from './metrics.js';
import { EdgeHubProxy } from './proxy.js';
import { Upstream, type UpstreamOptions } from './upstream.js';

export interface Listener {
  protocol: 'http' | 'https';
  host: string;
  port: number;
}

export interface EdgeHubOptions {
  upstream: UpstreamOptions;
  listeners: Listener[];
  /** PEM pair for the HTTPS listeners. */
  tls?: { cert: string; key: string };
  cacheDir: string;
  cacheMaxBytes: number;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  onlineAfter: number;
  offlineWatchTimeoutMs: number;
  admin: { host: string; port: number };
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export interface RunningEdgeHub {
  /** The bound listeners (ports resolved when 0 was asked). */
  listeners: Listener[];
  adminPort: number;
  status(): Record<string, unknown>;
  close(): Promise<void>;
}

/** How often lists kept current by watch events are written back to the cache (a large list costs a serialization each time). */
const PERSIST_INTERVAL_MS = 1000;

export async function startEdgeHub(opts: EdgeHubOptions): Promise<RunningEdgeHub> {
  const { log } = opts;
  const onCacheEvent = (e: CacheEvent) => {
    if (e.type === 'corrupt') log('warn', 'cache: a corrupt entry was dropped', { file: e.file, reason: e.reason });
    else if (e.type === 'leftover') log('info', 'cache: a temporary file from an interrupted write was removed', { file: e.file });
    else if (e.type === 'too-large') log('warn', 'cache: an answer larger than --cache-size was not cached', { bytes: e.bytes });
    else if (e.type === 'write-failed') log('error', 'cache: a write to disk failed (kept in memory, retried)', { error: e.error });
  };
  const disk = await DiskCache.open({ dir: opts.cacheDir, maxBytes: opts.cacheMaxBytes, onEvent: onCacheEvent });
  const r = disk.recovery;
  log('info', 'cache opened', { dir: opts.cacheDir, entries: r.entries, bytes: r.bytes, leftoversRemoved: r.leftoversRemoved, corrupt: r.corrupt.length });
  const cache = new ApiCache(disk);
  const metrics = new EdgeHubMetrics(() => {
    const s = disk.stats();
    return { ...s, maxBytes: opts.cacheMaxBytes, corrupt: s.corrupt + r.corrupt.length };
  });
  const upstream = new Upstream(opts.upstream);

  let proxy: EdgeHubProxy | undefined;
  const health = new LinkHealth({
    probe: () => upstream.probe(opts.probeTimeoutMs),
    intervalMs: opts.probeIntervalMs,
    onlineAfter: opts.onlineAfter,
    onProbeFailure: () => metrics.probeFailures.inc(),
    onChange: (state, reason) => {
      log(state === 'online' ? 'info' : 'warn', state === 'online' ? 'online: forwarding to the API server' : 'offline: answering from the cache', { server: upstream.url.host, reason });
      metrics.online.set(state === 'online' ? 1 : 0);
      metrics.transitions.inc({ state });
      if (state === 'online') proxy?.linkUp();
      else proxy?.linkDown();
    },
  });
  proxy = new EdgeHubProxy({ upstream, cache, health, metrics, offlineWatchTimeoutMs: opts.offlineWatchTimeoutMs, log });
  await health.start();

  const persist = setInterval(() => cache.persist(), PERSIST_INTERVAL_MS);
  const handler = (req: IncomingMessage, res: ServerResponse) => proxy.handle(req, res);
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => proxy.handleUpgrade(req, socket, head);
  const servers: Server[] = [];
  const bound: Listener[] = [];
  try {
    for (const l of opts.listeners) {
      if (l.protocol === 'https' && !opts.tls) throw new Error('an https listener needs a certificate and key');
      const server = l.protocol === 'https' ? createHttpsServer({ cert: opts.tls!.cert, key: opts.tls!.key, minVersion: 'TLSv1.2' }, handler) : createHttpServer(handler);
      server.on('upgrade', upgrade);
      server.keepAliveTimeout = 65_000;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(l.port, l.host, () => resolve());
      });
      servers.push(server);
      bound.push({ ...l, port: (server.address() as AddressInfo).port });
    }
  } catch (e) {
    for (const s of servers) s.close();
    clearInterval(persist);
    health.stop();
    upstream.close();
    await disk.close();
    throw e;
  }

  const status = (): Record<string, unknown> => ({
    state: health.state,
    since: health.since.toISOString(),
    server: upstream.url.origin,
    lastProbe: health.lastProbe,
    transitions: health.transitions,
    listeners: bound.map((l) => `${l.protocol}://${l.host}:${l.port}`),
    heldWatches: proxy.heldWatches,
    ...proxy.counts,
    cache: { dir: opts.cacheDir, maxBytes: opts.cacheMaxBytes, ...disk.stats(), recovered: { entries: r.entries, leftoversRemoved: r.leftoversRemoved, corrupt: r.corrupt } },
  });
  const admin = await startAdminServer(opts.admin.port, { ready: () => true, status }, metrics, opts.admin.host);

  return {
    listeners: bound,
    adminPort: admin.port,
    status,
    async close() {
      health.stop();
      clearInterval(persist);
      proxy.close();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      })));
      await admin.close();
      upstream.close();
      cache.persist();
      await disk.close();
    },
  };
}
