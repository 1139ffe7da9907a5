/**
 * The edge-hub request handler. Online, every request goes to the API server unchanged (the
 * client's own credentials), and successful reads are cached under the client's identity; watch
 * streams update the cache as they pass. Offline (or the moment a forward fails on the link), reads
 * are answered from the cache, watches are held open and end cleanly, and writes are refused with a
 * 503 `Status`: nothing is ever acknowledged that the API server did not apply.
 */
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { gunzipSync } from 'node:zlib';
import { LineSplitter, sendJson, sendStatus, statusBody } from './answers.js';
import type { ApiCache, Representation } from './api-cache.js';
import type { LinkHealth } from './health.js';
import type { EdgeHubMetrics } from './metrics.js';
import { identityOf, parseApiRequest, representationOf, type ApiRequest, type ResourceRequest } from './request.js';
import { forwardHeaders, isLinkFailure, LinkError, type Upstream } from './upstream.js';

export interface ProxyOptions {
  upstream: Upstream;
  cache: ApiCache;
  health: Pick<LinkHealth, 'online' | 'since' | 'reportFailure'>;
  metrics: EdgeHubMetrics;
  /** The longest an offline watch is held when the client set no shorter timeoutSeconds. */
  offlineWatchTimeoutMs: number;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

/** Bodies larger than this are forwarded but not cached. */
const MAX_CACHED_BODY = 64 * 1024 * 1024;

/** A watch held open while offline. */
interface HeldWatch {
  res: ServerResponse;
  timer: NodeJS.Timeout;
}

/** One request in the proxy: what it asks, who asks, and in which representation it may be cached. */
interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  api: ApiRequest;
  id: string;
  repr: Representation | 'raw' | undefined;
}

export class EdgeHubProxy {
  private readonly held = new Set<HeldWatch>();
  private readonly inflight = new Set<ClientRequest>();
  /** For /status: offline reads answered and not, writes refused. */
  readonly counts = { hits: 0, misses: 0, refusedWrites: 0 };

  constructor(private readonly opts: ProxyOptions) {}

  get heldWatches(): number {
    return this.held.size;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const api = parseApiRequest(req.method ?? 'GET', req.url ?? '/');
    const call: Call = { req, res, api, id: identityOf(req.headers), repr: cacheRepresentation(api, req.headers) };
    if (this.opts.health.online) this.forward(call);
    else this.answerOffline(call);
  }

  /** The link went down: requests waiting on the API server are cut, so they are answered offline. */
  linkDown(): void {
    for (const up of [...this.inflight]) up.destroy(new LinkError('the link to the API server went down'));
  }

  /** The link is back: held watches end, so their clients watch (and relist) from the real server. */
  linkUp(): void {
    for (const w of [...this.held]) this.release(w);
  }

  close(): void {
    this.linkUp();
    this.linkDown();
  }

  // ---------------------------------------------------------------- online

  private forward(call: Call): void {
    const { req, res, api } = call;
    const headers = forwardHeaders(req.headers);
    if (call.repr === 'json' && api.type === 'resource') headers.accept = 'application/json';
    const up = this.opts.upstream.request(req.method ?? 'GET', req.url ?? '/', headers);
    this.inflight.add(up);
    let answered = false;
    up.on('response', (upRes) => {
      answered = true;
      this.relay(call, upRes);
    });
    up.on('close', () => this.inflight.delete(up));
    up.on('error', (err) => {
      this.inflight.delete(up);
      if (answered) return; // the response side ends the client's answer
      if (!isLinkFailure(err)) {
        this.count(api.verb, 'refused');
        sendStatus(res, 502, 'InternalError', `edge-hub could not talk to the API server at ${this.opts.upstream.url.host}: ${err.message}`);
        return;
      }
      this.opts.health.reportFailure(`${req.method} ${pathOf(req)} could not be forwarded: ${err.message}`);
      if (api.verb !== 'write') return this.answerOffline(call);
      const sent = (err as { code?: string }).code === 'ECONNREFUSED' || err instanceof LinkError && /^no connection/.test(err.message);
      this.refuseWrite(call, sent
        ? 'the API server could not be reached, so the request was not sent and nothing was applied'
        : `the connection to the API server broke before it answered (${err.message}), so whether it was applied is unknown: read the object before retrying`);
    });
    req.on('aborted', () => up.destroy());
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }

  /** The API server's answer, passed on as it comes; cacheable answers are kept on the way. */
  private relay(call: Call, upRes: IncomingMessage): void {
    const { res, api } = call;
    const status = upRes.statusCode ?? 502;
    this.count(api.verb, 'upstream');
    res.writeHead(status, upRes.statusMessage ?? '', forwardHeaders(upRes.headers));
    const isWatch = api.type === 'resource' && api.verb === 'watch';
    if (isWatch) res.flushHeaders(); // a watch's client waits for the headers before any event
    // A body cut short: a watch ends cleanly (its client watches again), anything else is cut too.
    upRes.on('close', () => {
      if (upRes.complete) return;
      if (isWatch) res.end();
      else res.destroy();
    });
    upRes.on('error', () => undefined);
    if (isWatch && status === 200 && call.repr === 'json') return this.relayWatch(call, upRes);
    const keep = status === 200 && call.repr !== undefined && api.verb !== 'watch' && api.verb !== 'write';
    const forget = status === 404 && api.type === 'resource' && api.verb === 'get' && call.repr === 'json';
    if (forget) this.opts.cache.forgetObject(call.id, api as ResourceRequest);
    if (!keep) {
      upRes.pipe(res);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    upRes.on('data', (chunk: Buffer) => {
      res.write(chunk);
      size += chunk.length;
      if (size <= MAX_CACHED_BODY) chunks.push(chunk);
    });
    upRes.on('end', () => {
      res.end();
      if (size > MAX_CACHED_BODY) return;
      try {
        this.keep(call, upRes.headers, Buffer.concat(chunks));
      } catch (e) {
        this.opts.log('warn', 'an answer could not be cached', { path: pathOf(call.req), error: (e as Error).message });
      }
    });
  }

  private relayWatch(call: Call, upRes: IncomingMessage): void {
    const api = call.api as ResourceRequest;
    const decoder = new StringDecoder('utf8');
    const lines = new LineSplitter();
    // Events reach the client first; the cache follows on the next turn, so it never holds an event back.
    let queued: string[] = [];
    const apply = () => {
      const batch = queued;
      queued = [];
      for (const line of batch) {
        try {
          this.opts.cache.applyEvent(call.id, api, JSON.parse(line) as { type: string; object: unknown });
        } catch {
          // Not JSON (a protocol we do not read): passed on, not cached.
        }
      }
    };
    upRes.on('data', (chunk: Buffer) => {
      call.res.write(chunk);
      lines.push(decoder.write(chunk), (line) => {
        if (queued.push(line) === 1) setImmediate(apply);
      });
    });
    upRes.on('end', () => call.res.end());
  }

  private keep(call: Call, headers: IncomingHttpHeaders, raw: Buffer): void {
    const { api, id } = call;
    const body = headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
    const contentType = String(headers['content-type'] ?? 'application/json');
    if (api.type === 'other') {
      if (/json|yaml|text/.test(contentType)) this.opts.cache.putRaw(id, api.target, acceptOf(call.req.headers), contentType, body.toString('utf8'));
      return;
    }
    if (!/json/.test(contentType)) return;
    const repr = call.repr as Representation;
    // The answer's own resourceVersion comes first in its metadata: unchanged answers are not parsed and written again.
    const rv = /"resourceVersion":"([^"]*)"/.exec(body.subarray(0, 2048).toString('utf8'))?.[1] ?? '';
    if (this.opts.cache.holds(id, api, repr, rv)) return;
    const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    if (api.verb === 'get') this.opts.cache.putObject(id, api, repr, contentType, parsed);
    else if (api.verb === 'list') this.opts.cache.putListPage(id, api, repr, contentType, parsed);
  }

  // ---------------------------------------------------------------- offline

  private answerOffline(call: Call): void {
    const { req, res, api, id, repr } = call;
    const head = req.method === 'HEAD';
    if (api.verb === 'write') return this.refuseWrite(call, 'writes need the API server, so the request was refused and nothing was applied');
    const miss = (what: string) => {
      this.miss(api.verb);
      this.count(api.verb, 'refused');
      sendStatus(res, 503, 'ServiceUnavailable', `${this.offlineSince()}, and ${what}`);
    };
    const hit = (code: number, contentType: string, body: unknown) => {
      this.hit(api.verb);
      this.count(api.verb, 'cache');
      if (typeof body === 'string') {
        res.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'x-gatehouse-edge-hub': 'cache' });
        res.end(head ? undefined : body);
      } else sendJson(res, code, body, contentType, head);
    };
    if (api.type === 'other') {
      const raw = api.verb === 'get' ? this.opts.cache.getRaw(id, api.target, acceptOf(req.headers)) : undefined;
      return raw ? hit(200, raw.contentType, raw.body) : miss(`${api.target} is not in its cache`);
    }
    const what = describe(api);
    if (api.subresource !== undefined || repr === undefined || repr === 'raw') {
      return miss(`${what} cannot be answered from the cache (only get, list and watch of JSON or Table answers are cached)`);
    }
    if (api.verb === 'watch') return this.holdWatch(call);
    if (api.verb === 'list') {
      const list = this.opts.cache.getList(id, api, repr);
      return list ? hit(200, list.contentType, list.body) : miss(`${what} is not in its cache for these credentials and selectors`);
    }
    const obj = this.opts.cache.getObject(id, api, repr);
    if (obj === 'not-found') {
      this.count(api.verb, 'cache');
      this.hit(api.verb);
      return sendJson(res, 404, statusBody(404, 'NotFound', `${api.resource} "${api.name}" not found (edge-hub is offline; its cached list of ${api.resource} does not hold it)`,
        { name: api.name, kind: api.resource }), 'application/json', head);
    }
    return obj ? hit(200, obj.contentType, obj.body) : miss(`${what} is not in its cache for these credentials`);
  }

  /**
   * An offline watch: held open with no events, and ended cleanly at the client's timeoutSeconds
   * (at most --offline-watch-timeout) or when the link is back, so the client watches again. A
   * `sendInitialEvents` watch waits for a bookmark the cache cannot honestly send, so it gets a 503
   * at once: client-go then falls back to list (answered from the cache) and watch.
   */
  private holdWatch(call: Call): void {
    const api = call.api as ResourceRequest;
    if (api.sendInitialEvents) {
      this.miss('watch');
      this.count('watch', 'refused');
      return sendStatus(call.res, 503, 'ServiceUnavailable', `${this.offlineSince()}: a watch with sendInitialEvents cannot be served from the cache; list, then watch`);
    }
    this.hit('watch');
    this.count('watch', 'cache');
    call.res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'x-gatehouse-edge-hub': 'cache' });
    call.res.flushHeaders();
    const ms = Math.min(api.timeoutSeconds !== undefined ? api.timeoutSeconds * 1000 : Infinity, this.opts.offlineWatchTimeoutMs);
    const w: HeldWatch = { res: call.res, timer: setTimeout(() => this.release(w), ms) };
    this.held.add(w);
    this.opts.metrics.heldWatches.set(this.held.size);
    call.res.on('close', () => this.release(w));
  }

  private release(w: HeldWatch): void {
    if (!this.held.delete(w)) return;
    clearTimeout(w.timer);
    this.opts.metrics.heldWatches.set(this.held.size);
    w.res.end();
  }

  private refuseWrite(call: Call, why: string): void {
    this.opts.metrics.refusedWrites.inc();
    this.counts.refusedWrites++;
    this.count('write', 'refused');
    this.opts.log('warn', 'write refused: the API server is unreachable', { method: call.req.method, path: pathOf(call.req) });
    sendStatus(call.res, 503, 'ServiceUnavailable', `${this.offlineSince()}: ${call.req.method} ${pathOf(call.req)}: ${why}`);
  }

  private offlineSince(): string {
    return `edge-hub: this node is offline from the API server ${this.opts.upstream.url.host} (since ${this.opts.health.since.toISOString()})`;
  }

  private hit(verb: string): void {
    this.opts.metrics.hits.inc({ verb });
    this.counts.hits++;
  }

  private miss(verb: string): void {
    this.opts.metrics.misses.inc({ verb });
    this.counts.misses++;
  }

  private count(verb: string, answer: 'upstream' | 'cache' | 'refused'): void {
    this.opts.metrics.requests.inc({ verb, answer });
  }

  // ---------------------------------------------------------------- upgrades (exec, attach, port-forward)

  /** Connection upgrades are tunnelled while online; offline they get a 503 `Status`. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (!this.opts.health.online) {
      const body = JSON.stringify(statusBody(503, 'ServiceUnavailable', `${this.offlineSince()}: ${pathOf(req)} needs the API server`));
      socket.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    const headers = { ...forwardHeaders(req.headers), connection: 'Upgrade', upgrade: String(req.headers.upgrade ?? '') };
    const up = this.opts.upstream.request(req.method ?? 'GET', req.url ?? '/', headers);
    const statusLine = (res: IncomingMessage) => {
      const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}`];
      for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
      return lines.join('\r\n') + '\r\n\r\n';
    };
    up.on('upgrade', (upRes, upSocket, upHead) => {
      socket.write(statusLine(upRes));
      if (upHead.length) socket.write(upHead);
      if (head.length) upSocket.write(head);
      upSocket.on('error', () => socket.destroy());
      socket.on('close', () => upSocket.destroy());
      upSocket.on('close', () => socket.destroy());
      upSocket.pipe(socket);
      socket.pipe(upSocket);
    });
    up.on('response', (upRes) => {
      socket.write(statusLine(upRes));
      upRes.pipe(socket);
    });
    up.on('error', () => socket.destroy());
    up.end();
  }
}

/** Which representation an answer is cached in (undefined: not cached). */
function cacheRepresentation(api: ApiRequest, headers: IncomingHttpHeaders): Call['repr'] {
  if (api.verb === 'write') return undefined;
  if (api.type === 'other') return 'raw';
  if (api.subresource !== undefined) return undefined;
  return representationOf(headers.accept);
}

const acceptOf = (headers: IncomingHttpHeaders): string => String(headers.accept ?? '');
const pathOf = (req: IncomingMessage): string => (req.url ?? '/').split('?')[0]!;

function describe(r: ResourceRequest): string {
  const where = r.namespace !== undefined ? ` in namespace ${r.namespace}` : '';
  const sel = [r.labelSelector && `labels ${r.labelSelector}`, r.fieldSelector && `fields ${r.fieldSelector}`].filter(Boolean).join(', ');
  if (r.verb === 'get') return `${r.resource} "${r.name}"${where}${r.subresource ? ` (${r.subresource})` : ''}`;
  return `the list of ${r.resource}${where}${sel ? ` (${sel})` : ''}`;
}
