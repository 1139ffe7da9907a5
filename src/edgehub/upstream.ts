/**
 * The connection to the kube-apiserver: its URL, how its certificate is checked, and a request
 * function for forwards and probes. Forwards carry the client's own headers; the probe carries
 * edge-hub's own credentials when it has any (`/readyz` is open to anyone by default RBAC).
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface UpstreamOptions {
  url: URL;
  /** PEM of the CA that signed the API server's certificate (default: the system's). */
  ca?: string;
  /** The name to check the certificate against (kubeconfig `tls-server-name`). */
  serverName?: string;
  /** Do not check the certificate at all (kubeconfig `insecure-skip-tls-verify`). */
  insecure?: boolean;
  /** Headers edge-hub's own requests (the probe) carry, e.g. its Authorization; read at each probe (tokens rotate). */
  ownHeaders?: () => Promise<OutgoingHttpHeaders>;
  /** A connection that takes longer to open counts as a failed link. */
  connectTimeoutMs: number;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) a proxy must not forward. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

/** A client's headers as they go on: hop-by-hop ones (and those `Connection` names) dropped. */
export function forwardHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(String(headers.connection ?? '').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s));
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k) && !named.has(k)) out[k] = v;
  return out;
}

export class Upstream {
  readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly tls: boolean;

  constructor(private readonly opts: UpstreamOptions) {
    this.url = opts.url;
    this.tls = opts.url.protocol === 'https:';
    const common = { keepAlive: true, maxSockets: 256 };
    this.agent = this.tls
      ? new HttpsAgent({ ...common, ...(opts.ca ? { ca: opts.ca } : {}), ...(opts.serverName ? { servername: opts.serverName } : {}), rejectUnauthorized: !opts.insecure })
      : new HttpAgent(common);
  }

  /** A request to the API server; the caller writes the body and handles the answer. */
  request(method: string, path: string, headers: OutgoingHttpHeaders): ClientRequest {
    const base = this.url.pathname.replace(/\/+$/, '');
    const req = (this.tls ? httpsRequest : httpRequest)({
      host: this.url.hostname.replace(/^\[|\]$/g, ''),
      port: this.url.port || (this.tls ? 443 : 80),
      method,
      path: base + path,
      headers: { ...headers, host: this.url.host },
      agent: this.agent,
      ...(this.tls && this.opts.serverName ? { servername: this.opts.serverName } : {}),
    });
    // A connection that does not open in time is a dead link; once open, requests may take long (watches).
    const connectTimer = setTimeout(() => req.destroy(new LinkError(`no connection to ${this.url.host} within ${this.opts.connectTimeoutMs} ms`)), this.opts.connectTimeoutMs);
    req.on('socket', (socket) => {
      const opened = () => clearTimeout(connectTimer);
      if (!socket.connecting && !(socket as { pending?: boolean }).pending) opened();
      else socket.once(this.tls ? 'secureConnect' : 'connect', opened);
    });
    req.on('close', () => clearTimeout(connectTimer));
    return req;
  }

  /**
   * GET /readyz with edge-hub's own headers. Resolves on 200, and on 401/403 (the server answers, it
   * only does not let edge-hub's credentials see /readyz); rejects with the reason otherwise.
   */
  async probe(timeoutMs: number): Promise<void> {
    const own = (await this.opts.ownHeaders?.()) ?? {};
    return new Promise((resolve, reject) => {
      const req = this.request('GET', '/readyz', { ...own, accept: 'text/plain' });
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body = (body + c).slice(0, 300)));
        res.on('end', () => {
          clearTimeout(timer);
          if (res.statusCode === 200 || res.statusCode === 401 || res.statusCode === 403) resolve();
          else reject(new Error(`/readyz answered ${res.statusCode}: ${body.trim().split('\n').slice(-1)[0] ?? ''}`));
        });
        res.on('error', (e) => reject(e));
      });
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The link failed (as opposed to the API server answering with an error). */
export class LinkError extends Error {}

/** Errors that mean the API server could not be reached, not that it refused the request. */
export function isLinkFailure(err: unknown): boolean {
  if (err instanceof LinkError) return true;
  const code = (err as { code?: string }).code ?? '';
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'ERR_SOCKET_CLOSED'].includes(code)
    || /socket hang up/.test((err as Error)?.message ?? '');
}
