import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { commands } from '../../src/cli/main.js';
import { runObserve } from '../../src/cli/observe.js';
import { compileFilters, FilterError, parseFilterJson, timeFilter, type FlowFilter } from '../../src/observe/filter.js';
import type { Flow } from '../../src/observe/flow.js';
import { waitFor } from '../helpers/wait.js';

const timings = { tlsHandshakeMs: null, queueMs: 0, connectMs: 1, responseMs: 2, totalMs: 3 };
const flow = (id: string, minute: number, verdict: Flow['verdict'], status: number, extra: Partial<Flow> = {}): Flow => ({
  time: `2024-12-02T20:${String(minute).padStart(2, '0')}:00.000Z`,
  id,
  verdict,
  source: { ip: '10.0.0.5', port: 50000 + minute },
  ingress: { namespace: 'default', name: 'web' },
  host: 'web.example.com',
  http: { method: 'GET', path: `/${id}`, status, bytesIn: 1, bytesOut: 2 },
  timings,
  ...extra,
});
const stored: Flow[] = [
  flow('a', 1, 'FORWARDED', 200),
  flow('b', 2, 'DENIED', 403, { reason: 'rate-limit' }),
  flow('c', 3, 'ERROR', 502, { reason: 'bad-response' }),
  flow('d', 4, 'FORWARDED', 201),
  flow('e', 5, 'ERROR', 503, { reason: 'no-endpoint', ingress: { namespace: 'shop', name: 'cart' } }),
];

/**
 * The /flows contract of the gateway's admin API, over a fixed list of flows: last, since, until,
 * filters (JSON, checked with parseFilterJson), follow=1 (keeps the stream open; `push` writes to
 * it). Bad parameters get a 400 with a plain-text reason.
 */
class FlowsServer {
  readonly urls: string[] = [];
  readonly followers = new Set<{ res: ServerResponse; match: (f: Flow) => boolean }>();
  private server: Server;
  port = 0;
  /** When set, every request gets this status and text. */
  refuse: { status: number; body: string } | undefined;

  constructor() {
    this.server = createServer((req, res) => {
      this.urls.push(req.url ?? '');
      const url = new URL(req.url ?? '/', 'http://x');
      const fail = (status: number, body: string) => res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
      if (this.refuse) return fail(this.refuse.status, this.refuse.body);
      if (url.pathname !== '/flows') return fail(404, 'not found');
      let match: (f: Flow) => boolean;
      let last = Infinity;
      try {
        const filters: FlowFilter[] = url.searchParams.has('filters') ? parseFilterJson(url.searchParams.get('filters')!) : [];
        const since = url.searchParams.get('since');
        const until = url.searchParams.get('until');
        const inWindow = timeFilter(since ? new Date(since) : undefined, until ? new Date(until) : undefined);
        const matches = compileFilters(filters);
        match = (f) => inWindow(f) && matches(f);
        if (url.searchParams.has('last')) last = Number(url.searchParams.get('last'));
      } catch (e) {
        if (e instanceof FilterError) return fail(400, e.message);
        throw e;
      }
      const follow = url.searchParams.get('follow') === '1';
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const past = url.searchParams.has('last') || !follow ? stored.filter(match).slice(-last) : [];
      for (const f of past) res.write(`${JSON.stringify(f)}\n`);
      if (!follow) return res.end();
      const follower = { res, match };
      this.followers.add(follower);
      res.on('close', () => this.followers.delete(follower));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** A new flow, written to every follower it matches (split across two writes, to test reassembly). */
  push(f: Flow): void {
    const text = `${JSON.stringify(f)}\n`;
    for (const { res, match } of this.followers) {
      if (!match(f)) continue;
      res.write(text.slice(0, 10));
      res.write(text.slice(10));
    }
  }

  endFollowers(): void {
    for (const { res } of this.followers) res.end();
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** Runs observe against the server, capturing what it prints. */
function observe(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const done = runObserve(argv, (s) => out.push(s), (s) => err.push(s));
  return { out, err, done };
}

const ids = (lines: string[]): string[] => lines.map((l) => (JSON.parse(l) as Flow).id);

describe('gatehouse observe', () => {
  let server: FlowsServer;
  let addr: string;
  before(async () => {
    server = await new FlowsServer().start();
    addr = `127.0.0.1:${server.port}`;
  });
  after(() => server.close());

  it('is in the command table', () => {
    assert.equal(commands['observe']?.summary, 'Show the flows the gateway saw: requests and TLS handshakes, filtered like hubble observe');
  });

  it('prints the last flows, compact by default, and exits 0 at the end of the stream', async () => {
    const { out, err, done } = observe(['--server', addr]);
    assert.equal(await done, 0);
    assert.deepEqual(err, []);
    assert.equal(out.length, 5);
    assert.match(out[1]!, /^\w{3} [ \d]\d \d\d:\d\d:00\.000 10\.0\.0\.5:50002 -> default\/web GET web\.example\.com\/b 403 DENIED \(rate-limit\) 3ms$/);
    assert.equal(server.urls.at(-1), '/flows?last=20');
  });

  it('sends --last, --since, --until and the filters, in order with --not', async () => {
    const { out, err, done } = observe([
      '--server', `http://${addr}`, '-o', 'json', '--last', '2', '--since', '2024-12-02T20:00:30Z', '--until=2024-12-02T20:10:00Z',
      '--not', '--verdict', 'FORWARDED', '--http-status', '4+,5+',
    ]);
    assert.equal(await done, 0, err.join('\n'));
    assert.deepEqual(ids(out), ['c', 'e']);
    const sent = new URL(server.urls.at(-1)!, 'http://x');
    assert.equal(sent.pathname, '/flows');
    assert.deepEqual(Object.fromEntries(sent.searchParams), {
      last: '2',
      since: '2024-12-02T20:00:30.000Z',
      until: '2024-12-02T20:10:00.000Z',
      filters: JSON.stringify([
        { field: 'verdict', values: ['FORWARDED'], negate: true },
        { field: 'http-status', values: ['4+', '5+'], negate: false },
      ]),
    });
  });

  it('filters by namespace and repeated values', async () => {
    const { out, done } = observe(['--server', addr, '-o', 'json', '--verdict', 'ERROR', '--verdict', 'DENIED', '--not', '--namespace', 'shop']);
    assert.equal(await done, 0);
    assert.deepEqual(ids(out), ['b', 'c']);
  });

  it('prints a table at the end', async () => {
    const { out, done } = observe(['--server', addr, '-o', 'table', '--http-status', '5+']);
    assert.equal(await done, 0);
    assert.equal(out.length, 1);
    const lines = out[0]!.split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^TIME\s+SOURCE\s+INGRESS\s+HOST\s+METHOD\s+PATH\s+STATUS\s+VERDICT\s+REASON\s+SERVICE\s+ENDPOINT\s+DURATION$/);
    assert.match(lines[1]!, /10\.0\.0\.5:50003\s+default\/web\s+web\.example\.com\s+GET\s+\/c\s+502\s+ERROR\s+bad-response\s+-\s+-\s+3ms$/);
    assert.match(lines[2]!, /shop\/cart .* 503\s+ERROR\s+no-endpoint /);
  });

  it('follows: prints flows written after the start, until SIGINT, then exits 0', async () => {
    const { out, err, done } = observe(['--server', addr, '-f', '-o', 'json', '--last', '1', '--verdict', 'DENIED']);
    await waitFor(() => out.length === 1 && server.followers.size === 1, 5000, 'the last flow and a follower');
    assert.deepEqual(ids(out), ['b']);
    assert.match(server.urls.at(-1)!, /^\/flows\?last=1&follow=1&filters=/);
    server.push(flow('later-forwarded', 20, 'FORWARDED', 200));
    server.push(flow('later-denied', 21, 'DENIED', 403, { reason: 'source-range' }));
    await waitFor(() => out.length === 2, 5000, 'the flow written after the start');
    assert.deepEqual(ids(out), ['b', 'later-denied']);
    process.kill(process.pid, 'SIGINT');
    assert.equal(await done, 0);
    assert.deepEqual(err, []);
    await waitFor(() => server.followers.size === 0, 5000, 'the stream to be closed');
    assert.equal(process.listenerCount('SIGINT'), 0);
  });

  it('follows with a table: the header once, then rows as they come; exits 0 when the stream ends', async () => {
    const { out, done } = observe(['--server', addr, '--follow', '-o', 'table']);
    await waitFor(() => server.followers.size === 1, 5000, 'a follower');
    assert.equal(server.urls.at(-1), '/flows?follow=1'); // no --last: only new flows
    server.push(flow('n1', 30, 'FORWARDED', 200));
    await waitFor(() => out.length === 2, 5000, 'the header and a row');
    server.push(flow('n2', 31, 'REDIRECTED', 308));
    await waitFor(() => out.length === 3, 5000, 'a second row');
    assert.match(out[0]!, /^TIME\s+SOURCE\s+INGRESS/);
    assert.match(out[1]!, / \/n1\s+200\s+FORWARDED /);
    assert.match(out[2]!, / \/n2\s+308\s+REDIRECTED /);
    server.endFollowers();
    assert.equal(await done, 0);
    assert.equal(out.length, 3);
  });

  it('a non-200 answer: prints its text, exits 1', async () => {
    server.refuse = { status: 503, body: 'flows are off: start the gateway with flow logging on\n' };
    try {
      const { out, err, done } = observe(['--server', addr]);
      assert.equal(await done, 1);
      assert.deepEqual(out, []);
      assert.deepEqual(err, ['gatehouse observe: flows are off: start the gateway with flow logging on']);
    } finally {
      server.refuse = undefined;
    }
  });

  it('connection refused: names the address and --server, exits 1', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const { out, err, done } = observe(['--server', `127.0.0.1:${port}`]);
    assert.equal(await done, 1);
    assert.deepEqual(out, []);
    assert.equal(err.length, 1);
    assert.match(err[0]!, new RegExp(`^gatehouse observe: cannot connect to the gateway's admin API at 127\\.0\\.0\\.1:${port}: connection refused: .*port 9180 by default.*--server HOST:PORT`));
  });

  it('usage mistakes exit 2 before connecting', async () => {
    const before = server.urls.length;
    const cases: [string[], RegExp][] = [
      [['--http-status', '6x'], /^gatehouse observe: --http-status 6x: not a status: write 404 or a class such as 5\+\nRun "gatehouse observe --help"/],
      [['--http-path', '('], /^gatehouse observe: --http-path \(: not a regular expression/],
      [['--from-ip', '10.0.0.0/40'], /^gatehouse observe: --from-ip 10\.0\.0\.0\/40: not a CIDR block/],
      [['--verdict', 'DROPPED'], /^gatehouse observe: --verdict DROPPED: not a verdict: write one of FORWARDED, DENIED, ERROR, REDIRECTED/],
      [['--verdict', 'DENIED', '--not'], /^gatehouse observe: --not at the end/],
      [['--since', 'yesterday'], /^gatehouse observe: --since yesterday: not a time/],
      [['--since', '1m', '--until', '2h'], /^gatehouse observe: --since 1m is after --until 2h/],
      [['-o', 'yaml'], /^gatehouse observe: flag --output must be one of compact, json, table/],
      [['--last', '0'], /^gatehouse observe: flag --last must be an integer of at least 1/],
      [['--verdcit', 'DENIED'], /^gatehouse observe: unknown flag --verdcit \(did you mean --verdict\?\)/],
      [['--server', 'https://127.0.0.1:9180'], /^gatehouse observe: --server https:\/\/127\.0\.0\.1:9180: the admin API speaks plain http/],
      [['stray'], /^gatehouse observe: unexpected argument "stray"/],
    ];
    for (const [argv, message] of cases) {
      const { out, err, done } = observe(['--server', addr, ...argv]);
      assert.equal(await done, 2, argv.join(' '));
      assert.deepEqual(out, []);
      assert.match(err.join('\n'), message);
    }
    assert.equal(server.urls.length, before);
  });

  it('--help lists the filter flags', async () => {
    const { out, done } = observe(['--help', '--verdict']);
    assert.equal(await done, 0);
    const help = out.join('\n');
    assert.match(help, /^Usage: gatehouse observe \[flags\]/);
    for (const flag of ['--server HOST:PORT', '-f, --follow', '--last N', '--since TIME', '--until TIME', '--namespace NS', '--http-status CODE', '--from-ip CIDR', '--sni NAME', '--not', '-o, --output compact|json|table']) {
      assert.ok(help.includes(flag), `help mentions ${flag}`);
    }
    assert.match(help, /default: 127\.0\.0\.1:9180/);
  });
});
