/**
 * Flows as text for `gatehouse observe`: one readable line each (compact, like hubble's), one JSON
 * object per line (json), or aligned columns (table). Pure; no colors.
 */
import { hostPort } from '../haproxy/render.js';
import { displayName } from '../store/objects.js';
import type { Flow } from './flow.js';

export type FlowOutput = 'compact' | 'json' | 'table';

export interface FormatOptions {
  /** Show times in UTC rather than the local time zone (default: local, as `date` does). */
  utc?: boolean;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** `Dec  2 20:01:02.123` (as syslog and hubble write it); the text itself when it is not a time. */
export function formatTime(iso: string, options: FormatOptions = {}): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const u = options.utc === true;
  const month = MONTHS[u ? d.getUTCMonth() : d.getMonth()]!;
  const day = String(u ? d.getUTCDate() : d.getDate()).padStart(2, ' ');
  const h = u ? d.getUTCHours() : d.getHours();
  const m = u ? d.getUTCMinutes() : d.getMinutes();
  const s = u ? d.getUTCSeconds() : d.getSeconds();
  const ms = String(u ? d.getUTCMilliseconds() : d.getMilliseconds()).padStart(3, '0');
  return `${month} ${day} ${two(h)}:${two(m)}:${two(s)}.${ms}`;
}

/** `3ms`, `250ms`, `1.25s`, `2m5s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(2))}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms - minutes * 60_000) / 1000)}s`;
}

function source(flow: Flow): string {
  return hostPort({ address: flow.source.ip, port: flow.source.port });
}

function sourcePod(flow: Flow): string | undefined {
  const { namespace, pod } = flow.source;
  return pod !== undefined ? (namespace !== undefined ? `${namespace}/${pod}` : pod) : undefined;
}

function reasonText(flow: Flow): string | undefined {
  if (flow.reason === undefined) return flow.detail;
  return flow.detail ? `${flow.reason}: ${flow.detail}` : flow.reason;
}

/**
 * One line:
 *
 *     Dec  2 20:01:02.123 10.0.0.5:51234 (default/client-pod) -> default/web (Service default/web:80, 10.0.1.7:8080) GET web.example.com/api 200 FORWARDED 3ms
 *     Dec  2 20:01:03.000 10.0.0.9:40000 -> (no Ingress) TLS web.example.com ERROR (tls-handshake: no shared cipher)
 */
export function formatCompact(flow: Flow, options: FormatOptions = {}): string {
  const parts: string[] = [formatTime(flow.time, options), source(flow)];
  const pod = sourcePod(flow);
  if (pod !== undefined) parts.push(`(${pod})`);
  parts.push('->', flow.ingress ? displayName(flow.ingress) : '(no Ingress)');
  if (flow.service) {
    const svc = `Service ${displayName(flow.service)}:${flow.service.port}`;
    parts.push(`(${flow.endpoint ? `${svc}, ${hostPort(flow.endpoint)}` : svc})`);
  } else if (flow.endpoint) parts.push(`(${hostPort(flow.endpoint)})`);
  if (flow.http) {
    parts.push(flow.http.method, `${flow.host ?? ''}${flow.http.path}`, String(flow.http.status));
  } else if (flow.tls) {
    parts.push('TLS', flow.tls.sni || flow.host || '(no SNI)');
  } else if (flow.host) parts.push(flow.host);
  parts.push(flow.verdict);
  const reason = reasonText(flow);
  if (reason !== undefined) parts.push(`(${reason})`);
  if (flow.timings.totalMs !== null) parts.push(formatDuration(flow.timings.totalMs));
  return parts.join(' ');
}

/** One flow in the chosen output (a table row, for table; formatTable gives a whole table). */
export function formatFlow(flow: Flow, output: FlowOutput, options: FormatOptions = {}): string {
  switch (output) {
    case 'json':
      return JSON.stringify(flow);
    case 'table':
      return formatRow(tableCells(flow, options), FOLLOW_WIDTHS);
    case 'compact':
      return formatCompact(flow, options);
  }
}

export const TABLE_COLUMNS = ['TIME', 'SOURCE', 'INGRESS', 'HOST', 'METHOD', 'PATH', 'STATUS', 'VERDICT', 'REASON', 'SERVICE', 'ENDPOINT', 'DURATION'] as const;

/** The table's cells of one flow, `-` where the flow has nothing. */
export function tableCells(flow: Flow, options: FormatOptions = {}): string[] {
  const pod = sourcePod(flow);
  return [
    formatTime(flow.time, options),
    pod !== undefined ? `${source(flow)} (${pod})` : source(flow),
    flow.ingress ? displayName(flow.ingress) : '-',
    flow.host ?? (flow.tls?.sni || '-'),
    flow.http?.method ?? (flow.tls ? 'TLS' : '-'),
    flow.http?.path ?? '-',
    flow.http ? String(flow.http.status) : '-',
    flow.verdict,
    reasonText(flow) ?? '-',
    flow.service ? `${displayName(flow.service)}:${flow.service.port}` : '-',
    flow.endpoint ? hostPort(flow.endpoint) : '-',
    flow.timings.totalMs !== null ? formatDuration(flow.timings.totalMs) : '-',
  ];
}

function formatRow(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
    .join('  ')
    .trimEnd();
}

/**
 * Widths for a table whose rows are printed as they come (`observe --follow -o table`): wide
 * enough for most flows; a longer cell pushes the rest of its row along.
 */
export const FOLLOW_WIDTHS: readonly number[] = [19, 21, 20, 24, 6, 24, 6, 10, 16, 24, 21, 8];

/** The header line of the table, with the follow widths (formatTable aligns to its rows instead). */
export function formatTableHeader(): string {
  return formatRow(TABLE_COLUMNS, FOLLOW_WIDTHS);
}

/** A header and one row per flow, each column as wide as its widest cell. */
export function formatTable(flows: readonly Flow[], options: FormatOptions = {}): string {
  const rows: string[][] = [[...TABLE_COLUMNS], ...flows.map((f) => tableCells(f, options))];
  const widths = TABLE_COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => formatRow(r, widths)).join('\n');
}
