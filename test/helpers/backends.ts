import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

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

/** An HTTP/1.1 backend on 127.0.0.1 that answers every request with its name and what it saw. */
export async function startEchoBackend(name: string): Promise<EchoBackend> {
  const backend = { name, port: 0, requests: 0, close: async () => {} };
  const server: Server = createServer((req: IncomingMessage, res) => {
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
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name }).end(JSON.stringify(echo));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.port = (server.address() as AddressInfo).port;
  backend.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return backend;
}
