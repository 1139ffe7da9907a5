import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The backend that answered (from the echo backend's `x-backend` header). */
  backend: string | undefined;
  /** The client socket's own port, as the gateway sees it as the source port. */
  localPort: number | undefined;
  /** Common name of the certificate the server presented (TLS only). */
  certCN?: string | string[] | undefined;
  alpn?: string | false | null;
  tlsVersion?: string | null;
}

export interface RequestOptions {
  host?: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** TLS with this SNI (no SNI when ''); certificates are not verified. */
  tls?: { servername: string };
  timeoutMs?: number;
  /** The client's address (any of 127.0.0.0/8), as a pod at that address would connect. */
  localAddress?: string;
}

/** One request to 127.0.0.1:`port` with a fresh connection, a real Node HTTP(S) client. */
export function request(port: number, opts: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { connection: 'close', ...(opts.headers ?? {}) };
    if (opts.host !== undefined) headers.host = opts.host;
    const common = { host: '127.0.0.1', port, path: opts.path ?? '/', method: opts.method ?? 'GET', headers, agent: false as const, timeout: opts.timeoutMs ?? 5000, localAddress: opts.localAddress };
    const req = opts.tls
      ? https.request({ ...common, servername: opts.tls.servername || undefined, rejectUnauthorized: false })
      : http.request(common);
    req.on('timeout', () => req.destroy(new Error(`request to :${port}${common.path} timed out`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const socket = res.socket as TLSSocket;
      const localPort = socket.localPort;
      const tls = opts.tls ? { certCN: socket.getPeerCertificate().subject?.CN, alpn: socket.alpnProtocol, tlsVersion: socket.getProtocol() } : {};
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, backend: res.headers['x-backend'] as string | undefined, localPort, ...tls });
      });
    });
    req.end(opts.body);
  });
}
