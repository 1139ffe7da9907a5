import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface AdminSource {
  /** Ready to serve (the gateway: HAProxy serves the current configuration). */
  ready(): boolean;
  status(): unknown;
  /** What /readyz says while not ready (default: the gateway's reason). */
  notReady?: string;
  /** More GET paths of this command (the gateway's /flows), by path. */
  handlers?: Readonly<Record<string, AdminHandler>>;
}

export type AdminHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

/**
 * The admin API of a command, on loopback only: `/healthz` (the process answers), `/readyz` (ready
 * to serve), `/metrics` (Prometheus text) and `/status` (JSON).
 */
export async function startAdminServer(port: number, source: AdminSource, metrics: { registry: Registry }, host = '127.0.0.1'): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
    };
    switch (path) {
      case '/healthz':
        send(200, 'text/plain', 'ok\n');
        return;
      case '/readyz':
        if (source.ready()) send(200, 'text/plain', 'ready\n');
        else send(503, 'text/plain', `not ready: ${source.notReady ?? 'HAProxy does not serve the current configuration yet'}\n`);
        return;
      case '/metrics':
        metrics.registry.metrics().then(
          (text) => send(200, metrics.registry.contentType, text),
          (err: unknown) => send(500, 'text/plain', `metrics failed: ${String(err)}\n`),
        );
        return;
      case '/status':
        send(200, 'application/json', JSON.stringify(source.status(), null, 2) + '\n');
        return;
      default: {
        const handler = source.handlers?.[path];
        if (handler) handler(req, res, url);
        else send(404, 'text/plain', `not found: try ${['/healthz', '/readyz', '/metrics', '/status', ...Object.keys(source.handlers ?? {})].join(', ')}\n`);
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
