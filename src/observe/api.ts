import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminHandler } from '../admin/server.js';
import { compileFilters, FilterError, parseFilterJson, timeFilter } from './filter.js';
import type { Flow } from './flow.js';
import type { FlowRing } from './ring.js';

/** A follower whose reader falls this far behind loses flows rather than the gateway's memory. */
const MAX_UNSENT_BYTES = 4 * 1024 * 1024;

export interface FlowQuery {
  last: number;
  follow: boolean;
  since?: Date;
  until?: Date;
  match: (flow: Flow) => boolean;
}

/** Reads `/flows?last=N&follow=1&since=ISO&until=ISO&filters=JSON`; throws FilterError naming the parameter. */
export function parseFlowQuery(params: URLSearchParams): FlowQuery {
  const follow = ['1', 'true'].includes(params.get('follow') ?? '');
  const lastText = params.get('last');
  if (lastText !== null && !/^\d{1,9}$/.test(lastText)) throw new FilterError(`last=${lastText}: not a number of flows: write last=100`);
  const date = (name: string): Date | undefined => {
    const v = params.get(name);
    if (v === null) return undefined;
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) throw new FilterError(`${name}=${v}: not a time: write an RFC 3339 time such as 2026-12-02T10:00:00Z`);
    return d;
  };
  const since = date('since');
  const until = date('until');
  const filters = compileFilters(parseFilterJson(params.get('filters') ?? '[]'));
  const inWindow = timeFilter(since, until);
  return {
    last: lastText === null ? (follow ? 0 : 20) : Number(lastText),
    follow,
    since,
    until,
    match: (f) => inWindow(f) && filters(f),
  };
}

/** `GET /flows`: the matching flows as JSON lines, oldest first; with follow=1 the stream stays open. */
export function flowsHandler(ring: FlowRing): AdminHandler {
  return (req: IncomingMessage, res: ServerResponse, url: URL) => {
    let q: FlowQuery;
    try {
      q = parseFlowQuery(url.searchParams);
    } catch (err) {
      if (!(err instanceof FilterError)) throw err;
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`${err.message}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    for (const f of ring.last(q.last, q.match)) res.write(JSON.stringify(f) + '\n');
    const ended = q.until !== undefined && q.until.getTime() <= Date.now();
    if (!q.follow || ended) {
      res.end();
      return;
    }
    res.flushHeaders();
    const stop = ring.follow((f) => {
      if (q.until && Date.parse(f.time) > q.until.getTime()) {
        stop();
        res.end();
        return;
      }
      if (q.match(f) && res.writableLength < MAX_UNSENT_BYTES) res.write(JSON.stringify(f) + '\n');
    });
    req.on('close', stop);
  };
}
