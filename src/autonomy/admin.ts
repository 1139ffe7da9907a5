import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface AutonomyAdminSource {
  /** Nodes and pods have been listed. */
  ready(): boolean;
  status(): unknown;
  registry: Registry;
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

/**
 * The autonomy controller's admin API: `/healthz` (the process answers), `/readyz` (nodes and pods
 * listed), `/metrics` (Prometheus text) and `/status` (JSON). GET and HEAD only.
 */
export async function startAutonomyAdmin(host: string, port: number, source: AutonomyAdminSource): Promise<AdminServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
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
        else send(503, 'text/plain', 'not ready: nodes and pods have not been listed from the API server yet\n');
        return;
      case '/metrics':
        source.registry.metrics().then(
          (text) => send(200, source.registry.contentType, text),
          (err: unknown) => send(500, 'text/plain', `metrics failed: ${String(err)}\n`),
        );
        return;
      case '/status':
        send(200, 'application/json', JSON.stringify(source.status(), null, 2) + '\n');
        return;
      default:
        send(404, 'text/plain', 'not found: try /healthz, /readyz, /metrics or /status\n');
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
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
