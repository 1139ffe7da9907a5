/**
 * `gatehouse observe`: the flows the gateway saw (requests, and TLS handshakes that failed before
 * one), from its admin API, filtered like `hubble observe`. GETs /flows, whose answer is NDJSON
 * (one Flow a line; kept open and streamed with follow=1), and prints each flow as it arrives.
 */
import { request, type IncomingMessage } from 'node:http';
import { hostPort } from '../haproxy/render.js';
import type { Flow } from '../observe/flow.js';
import { compileFilters, FILTER_FIELDS, FilterError, filtersFromArgs, parseTime, type FilterField, type FlowFilter } from '../observe/filter.js';
import { formatCompact, formatFlow, formatTable, formatTableHeader } from '../observe/format.js';
import { defineCommand, formatHelp, parseCommandLine, UsageError, type StringsFlag } from './args.js';

const DEFAULT_SERVER = '127.0.0.1:9180';
const DEFAULT_LAST = 20;

const FILTER_DESCRIPTIONS: Record<FilterField, [string, string]> = {
  namespace: ['NS', 'Flows whose Ingress, Service or source pod is in this namespace'],
  ingress: ['[NS/]NAME', 'Flows matched by this Ingress'],
  service: ['[NS/]NAME', 'Flows sent to this Service'],
  host: ['HOST', 'Flows for this host (case-insensitive; *.example.com for the names one label below)'],
  verdict: ['VERDICT', 'FORWARDED, DENIED, ERROR or REDIRECTED'],
  'http-status': ['CODE', 'An HTTP status (404) or class (5+ for 500-599)'],
  'http-method': ['METHOD', 'An HTTP method (GET, POST, …)'],
  'http-path': ['REGEX', 'A JavaScript regular expression the request path must match (never split at commas)'],
  'from-ip': ['CIDR', 'Flows from this client address or block (10.0.0.0/8, fd00::/8, 10.0.0.5)'],
  sni: ['NAME', 'Flows whose TLS server name (SNI) is this'],
};

const filterFlags = Object.fromEntries(
  FILTER_FIELDS.map((f): [FilterField, StringsFlag] => [f, { type: 'strings', valueName: FILTER_DESCRIPTIONS[f][0], description: FILTER_DESCRIPTIONS[f][1] }]),
) as Record<FilterField, StringsFlag>;

export const observeCommand = defineCommand({
  name: 'observe',
  usage: 'gatehouse observe [flags]',
  summary: [
    'Shows the flows the gateway saw: requests, and TLS handshakes that failed before one, with their',
    'verdict (FORWARDED, DENIED, ERROR, REDIRECTED), reason, route and timings. Reads them from the',
    "gateway's admin API. Filters work like hubble observe's: the values of one flag are OR'd",
    "(--verdict DENIED,ERROR or --verdict DENIED --verdict ERROR), different flags AND'd, and --not",
    'negates the filter flag right after it (--not --http-status 2+).',
  ].join('\n'),
  flags: {
    server: { type: 'string', default: DEFAULT_SERVER, valueName: 'HOST:PORT', description: "The gateway's admin API" },
    last: { type: 'integer', min: 1, valueName: 'N', description: `Show the last N flows that match (default: ${DEFAULT_LAST}, or none before the new ones with --follow)` },
    follow: { type: 'boolean', short: 'f', description: 'Keep printing new flows as they come, until interrupted' },
    since: { type: 'string', valueName: 'TIME', description: 'Only flows from this time on: RFC 3339 (2024-12-02T20:01:02Z) or how long ago (30s, 5m, 2h)' },
    until: { type: 'string', valueName: 'TIME', description: 'Only flows up to this time (as --since)' },
    ...filterFlags,
    not: { type: 'boolean', description: 'Negate the filter flag that comes right after it' },
    output: { type: 'string', short: 'o', choices: ['compact', 'json', 'table'], default: 'compact', description: 'Output format' },
  },
});

/** `127.0.0.1:9180`, `[::1]:9180`, `localhost` (port 9180), `http://host:port`. */
export function parseServer(value: string): { host: string; port: number } {
  const help = 'write HOST:PORT, e.g. 127.0.0.1:9180';
  let u: URL;
  try {
    u = new URL(/^[a-z]+:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    throw new UsageError(`--server ${value}: not an address: ${help}`);
  }
  if (u.protocol !== 'http:') throw new UsageError(`--server ${value}: the admin API speaks plain http: ${help}`);
  if ((u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.username !== '' || u.hostname === '') throw new UsageError(`--server ${value}: ${help}`);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port === '' ? 9180 : Number(u.port) };
}

interface ObserveSettings {
  server: { host: string; port: number };
  path: string;
  follow: boolean;
  output: 'compact' | 'json' | 'table';
}

/** The request to make, from the command line; throws UsageError (filter mistakes included). */
export function observeSettings(argv: readonly string[], now: Date = new Date()): ObserveSettings | 'help' {
  let filters: FlowFilter[];
  let rest: string[];
  try {
    ({ filters, rest } = filtersFromArgs(argv));
  } catch (e) {
    if (argv.includes('--help') || argv.includes('-h')) return 'help';
    throw e instanceof FilterError ? new UsageError(e.message) : e;
  }
  const { values } = parseCommandLine(observeCommand, rest);
  if (values.help) return 'help';
  try {
    compileFilters(filters);
    const since = values.since !== undefined ? parseTime('--since', values.since, now) : undefined;
    const until = values.until !== undefined ? parseTime('--until', values.until, now) : undefined;
    if (since && until && since.getTime() > until.getTime()) {
      throw new UsageError(`--since ${values.since} is after --until ${values.until}: no flow can match; swap them`);
    }
    const query = new URLSearchParams();
    const last = values.last ?? (values.follow ? undefined : DEFAULT_LAST);
    if (last !== undefined) query.set('last', String(last));
    if (values.follow) query.set('follow', '1');
    if (since) query.set('since', since.toISOString());
    if (until) query.set('until', until.toISOString());
    if (filters.length > 0) query.set('filters', JSON.stringify(filters));
    const qs = query.toString();
    return { server: parseServer(values.server), path: `/flows${qs ? `?${qs}` : ''}`, follow: values.follow, output: values.output };
  } catch (e) {
    throw e instanceof FilterError ? new UsageError(e.message) : e;
  }
}

function describeConnectError(e: NodeJS.ErrnoException, address: string): string {
  const hint = `is the gateway running there? Its admin API listens on port 9180 by default; give another address with --server HOST:PORT`;
  switch (e.code) {
    case 'ECONNREFUSED':
      return `cannot connect to the gateway's admin API at ${address}: connection refused: ${hint}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot connect to the gateway's admin API at ${address}: no such host: check --server`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot connect to the gateway's admin API at ${address}: ${e.code}: ${hint}`;
    default:
      return `the gateway's admin API at ${address} failed: ${e.message}`;
  }
}

/**
 * `gatehouse observe`. `out` gets one call per line printed (a whole table at once for `-o table`
 * without --follow), `err` the errors (default: stderr). Returns the exit code: 0 at the end of the
 * stream (or when interrupted while following), 1 when the gateway cannot be reached or refuses,
 * 2 for a usage mistake.
 */
export async function runObserve(
  argv: string[],
  out: (s: string) => void = (s) => void process.stdout.write(`${s}\n`),
  err: (s: string) => void = (s) => void process.stderr.write(`${s}\n`),
): Promise<number> {
  let settings: ObserveSettings | 'help';
  try {
    settings = observeSettings(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`gatehouse observe: ${e.message}\nRun "gatehouse observe --help" for the flags.`);
      return e.exitCode;
    }
    throw e;
  }
  if (settings === 'help') {
    out(formatHelp(observeCommand));
    return 0;
  }
  const { server, path, follow, output } = settings;
  const address = hostPort({ address: server.host, port: server.port });

  return new Promise<number>((resolve) => {
    const collected: Flow[] = [];
    let headerPrinted = false;
    let finished = false;
    const onSignal = (): void => finish(0);
    const finish = (code: number, message?: string): void => {
      if (finished) return;
      finished = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      req.destroy();
      if (message !== undefined) err(`gatehouse observe: ${message}`);
      if (output === 'table' && !follow && code === 0) out(formatTable(collected));
      resolve(code);
    };
    const show = (flow: Flow): void => {
      if (output !== 'table') out(output === 'json' ? formatFlow(flow, 'json') : formatCompact(flow));
      else if (!follow) collected.push(flow);
      else {
        if (!headerPrinted) {
          out(formatTableHeader());
          headerPrinted = true;
        }
        out(formatFlow(flow, 'table'));
      }
    };
    const onLine = (line: string): boolean => {
      if (line.trim() === '') return true;
      let flow: unknown;
      try {
        flow = JSON.parse(line);
      } catch {
        finish(1, `the gateway sent a line that is not JSON: ${line.length > 200 ? `${line.slice(0, 200)}…` : line}`);
        return false;
      }
      if (typeof flow !== 'object' || flow === null || typeof (flow as Flow).time !== 'string' || typeof (flow as Flow).verdict !== 'string') {
        finish(1, `the gateway sent a line that is not a flow: ${line.length > 200 ? `${line.slice(0, 200)}…` : line}`);
        return false;
      }
      show(flow as Flow);
      return true;
    };
    const onResponse = (res: IncomingMessage): void => {
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        let body = '';
        res.on('data', (chunk: string) => {
          if (body.length < 64 * 1024) body += chunk;
        });
        res.on('end', () => finish(1, body.trim() || `the admin API answered ${res.statusCode} ${res.statusMessage ?? ''}`.trim()));
        res.on('error', (e) => finish(1, `the admin API at ${address} failed: ${e.message}`));
        return;
      }
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while (!finished && (nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (!onLine(line)) return;
        }
      });
      res.on('end', () => {
        if (!finished && buffer !== '' && !onLine(buffer)) return;
        finish(0);
      });
      res.on('aborted', () => finish(1, `the gateway's admin API at ${address} closed the stream before its end`));
      res.on('error', (e) => {
        if (!finished) finish(1, `the gateway's admin API at ${address} failed mid-stream: ${e.message}`);
      });
    };
    const req = request({ host: server.host, port: server.port, path, method: 'GET', headers: { accept: 'application/x-ndjson' } }, onResponse);
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (!finished) finish(1, describeConnectError(e, address));
    });
    if (follow) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    req.end();
  });
}
