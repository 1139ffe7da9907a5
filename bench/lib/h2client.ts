import http2, { constants, type ClientHttp2Session } from 'node:http2';

export interface H2LoadOptions {
  /** The TLS port on 127.0.0.1. */
  port: number;
  /** SNI and :authority. */
  host: string;
  path: string;
  connections: number;
  /** Requests in flight on each connection. */
  streams: number;
  /** A request not answered within this long fails. Default 5 s. */
  timeoutMs?: number;
}

export interface H2LoadResult {
  /** Requests answered 200 with their whole body (each counted once, retried or not). */
  ok: number;
  /** Requests that did not end in a 200: reset, timed out, another status, a connection that failed. */
  failed: number;
  /**
   * Attempts the server refused before processing them (RST_STREAM REFUSED_STREAM, or above the
   * last stream id of its GOAWAY): HTTP/2 says such a request may be retried, and it was, on a new
   * connection, as browsers and HTTP/2 libraries do.
   */
  refusedRetried: number;
  goaways: number;
  connections: number;
  /** The first few failures, for a person to read. */
  errors: string[];
}

export interface RunningH2Load {
  stop(): Promise<H2LoadResult>;
}

const MAX_ATTEMPTS = 3;

/**
 * Open-ended HTTP/2 load over TLS with Node's client, for as long as it runs: `connections` ×
 * `streams` requests in flight. Unlike h2load, it behaves as HTTP/2 clients do when a server shuts a
 * connection down gracefully (a reload): after a GOAWAY it opens a new connection, and a request
 * the server refused unprocessed is sent again there. Everything else that goes wrong is a failure.
 */
export function startH2Load(o: H2LoadOptions): RunningH2Load {
  const r: H2LoadResult = { ok: 0, failed: 0, refusedRetried: 0, goaways: 0, connections: 0, errors: [] };
  let stopped = false;
  const fail = (why: string): void => {
    r.failed++;
    if (r.errors.length < 10) r.errors.push(why);
  };

  interface Slot {
    session: ClientHttp2Session | undefined;
    /** The last stream id of the GOAWAY it received; undefined until one came. */
    goawayLast: number | undefined;
  }
  const open = (slot: Slot): ClientHttp2Session => {
    const s = http2.connect(`https://127.0.0.1:${o.port}`, { servername: o.host, rejectUnauthorized: false });
    r.connections++;
    s.on('error', () => undefined); // reported through its streams
    s.on('goaway', (_code: number, lastStreamId: number) => {
      r.goaways++;
      if (slot.session === s) slot.goawayLast = lastStreamId;
      s.close(); // the streams it still processes finish; no new ones
    });
    slot.session = s;
    slot.goawayLast = undefined;
    return s;
  };
  const usable = (slot: Slot): ClientHttp2Session => {
    const s = slot.session;
    if (!s || s.closed || s.destroyed || slot.goawayLast !== undefined) return open(slot);
    return s;
  };

  /** One attempt: 'ok', 'refused' (not processed: retry it) or a failure's description. */
  const attempt = (slot: Slot): Promise<string> =>
    new Promise((resolve) => {
      const s = usable(slot);
      let req: http2.ClientHttp2Stream;
      try {
        req = s.request({ ':path': o.path, ':authority': o.host });
      } catch {
        resolve('refused'); // the session ended before the request went out
        return;
      }
      let status = 0;
      let ended = false;
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', () => undefined);
      req.on('end', () => (ended = true));
      req.on('error', () => undefined); // judged on close
      req.setTimeout(o.timeoutMs ?? 5000, () => req.close(constants.NGHTTP2_CANCEL));
      req.on('close', () => {
        const code = req.rstCode ?? constants.NGHTTP2_NO_ERROR;
        const above = req.id !== undefined && slot.session === s && slot.goawayLast !== undefined && req.id > slot.goawayLast;
        if (status === 200 && ended && code === constants.NGHTTP2_NO_ERROR) resolve('ok');
        else if (status === 0 && (code === constants.NGHTTP2_REFUSED_STREAM || above || req.id === undefined)) resolve('refused');
        else resolve(`stream ${req.id ?? '?'}: status ${status}, ${ended ? 'ended' : 'not ended'}, RST_STREAM code ${code}`);
      });
      req.end();
    });

  const lane = async (slot: Slot): Promise<void> => {
    while (!stopped) {
      let outcome = 'refused';
      for (let n = 0; n < MAX_ATTEMPTS && outcome === 'refused'; n++) {
        outcome = await attempt(slot);
        if (outcome === 'refused') r.refusedRetried++;
      }
      if (outcome === 'ok') r.ok++;
      else fail(outcome === 'refused' ? `refused ${MAX_ATTEMPTS} times in a row` : outcome);
    }
  };

  const slots: Slot[] = Array.from({ length: o.connections }, () => ({ session: undefined, goawayLast: undefined }));
  const lanes = slots.flatMap((slot) => Array.from({ length: o.streams }, () => lane(slot)));
  return {
    async stop() {
      stopped = true;
      await Promise.all(lanes);
      for (const slot of slots) slot.session?.close();
      return r;
    },
  };
}
