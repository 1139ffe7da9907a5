import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createH2cServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo, Server } from 'node:net';

/** What an echo backend saw, as it answers it in JSON. */
export interface Echo {
  backend: string;
  method: string;
  url: string;
  host: string | undefined;
  forwardedFor: string | undefined;
  forwardedProto: string | undefined;
}

export interface EchoBackend {
  name: string;
  port: number;
  requests: number;
  close(): Promise<void>;
}

export type BackendProtocol = { kind: 'http' } | { kind: 'h2c' } | { kind: 'https'; cert: string; key: string };

/**
 * A backend on 127.0.0.1 that answers every request with its name and what it saw: HTTP/1.1 (default),
 * cleartext HTTP/2 (h2c, as gRPC uses) or HTTPS with the given certificate.
 */
export async function startEchoBackend(name: string, protocol: BackendProtocol = { kind: 'http' }): Promise<EchoBackend> {
  const backend = { name, port: 0, requests: 0, close: async () => {} };
  const handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
    backend.requests++;
    req.resume();
    req.on('end', () => {
      const echo: Echo = {
        backend: name,
        method: req.method ?? '',
        url: req.url ?? '',
        host: req.headers.host,
        forwardedFor: req.headers['x-forwarded-for'] as string | undefined,
        forwardedProto: req.headers['x-forwarded-proto'] as string | undefined,
      };
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name, 'x-backend-http-version': req.httpVersion });
      res.end(JSON.stringify(echo));
    });
  };
  const server: Server =
    protocol.kind === 'h2c'
      ? createH2cServer(handler)
      : protocol.kind === 'https'
        ? createHttpsServer({ cert: protocol.cert, key: protocol.key }, handler)
        : createServer(handler);
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s: import('node:net').Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.port = (server.address() as AddressInfo).port;
  backend.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return backend;
}
