/**
 * Reads the lines HAProxy writes with render.ts's FLOW_LOG_FORMAT and FLOW_ERROR_FORMAT. Pure.
 * Strings come quoted with `"`, `\` and `]` escaped by a backslash; numbers and booleans bare.
 */

/** One request, as HAProxy logged it. Absent values are undefined, timings -1 when a step did not happen. */
export interface RequestLog {
  type: 'request';
  timeMs: number;
  id: string;
  clientIp: string;
  clientPort: number;
  backend: string;
  server: string | undefined;
  serverIp: string | undefined;
  serverPort: number;
  method: string;
  status: number;
  bytesOut: number;
  bytesIn: number;
  timings: { Th: number; Ti: number; TR: number; Tw: number; Tc: number; Tr: number; Ta: number };
  termination: string;
  tls: boolean;
  tlsVersion: string | undefined;
  tlsCipher: string | undefined;
  resumed: boolean;
  firstOfConnection: boolean;
  deny: string | undefined;
  route: string | undefined;
  host: string | undefined;
  sni: string | undefined;
  path: string;
}

/** A connection that ended before any request (a failed TLS handshake). */
export interface ConnectionErrorLog {
  type: 'connection-error';
  timeMs: number;
  clientIp: string;
  clientPort: number;
  error: string;
  tlsError: string | undefined;
  tlsVersion: string | undefined;
  sni: string | undefined;
}

export type FlowLog = RequestLog | ConnectionErrorLog;

const REQUEST_FIELDS = 32;
const ERROR_FIELDS = 9;

/** Splits a line into its fields; a quoted field cut off by the line's end is kept as far as it goes. */
export function splitFields(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === ' ') {
      i++;
      continue;
    }
    if (line[i] === '"') {
      let text = '';
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < line.length) i++;
        text += line[i];
        i++;
      }
      fields.push(text);
      i++; // the closing quote
      continue;
    }
    const end = line.indexOf(' ', i);
    fields.push(line.slice(i, end === -1 ? line.length : end));
    i = end === -1 ? line.length : end;
  }
  return fields;
}

/** Parses one log line; undefined for a line that is not a flow (HAProxy's own messages, damage). */
export function parseFlowLog(line: string): FlowLog | undefined {
  const f = splitFields(line);
  if (f[0] === 'H' && f.length >= REQUEST_FIELDS - 1) return requestLog(f);
  if (f[0] === 'E' && f.length >= ERROR_FIELDS - 1) return errorLog(f);
  return undefined;
}

function requestLog(f: string[]): RequestLog | undefined {
  const timeMs = time(f[1], f[2]);
  const status = int(f[11]);
  if (timeMs === undefined || status === undefined) return undefined;
  const t = (i: number): number => int(f[i]) ?? -1;
  return {
    type: 'request',
    timeMs,
    id: f[3] ?? '',
    clientIp: f[4] ?? '',
    clientPort: int(f[5]) ?? 0,
    backend: f[6] ?? '',
    server: text(f[7]) === '<NOSRV>' ? undefined : text(f[7]),
    serverIp: text(f[8]),
    serverPort: int(f[9]) ?? 0,
    method: f[10] ?? '',
    status,
    bytesOut: int(f[12]) ?? 0,
    bytesIn: int(f[13]) ?? 0,
    timings: { Th: t(14), Ti: t(15), TR: t(16), Tw: t(17), Tc: t(18), Tr: t(19), Ta: t(20) },
    termination: f[21] ?? '',
    tls: f[22] === '1',
    tlsVersion: text(f[23]),
    tlsCipher: text(f[24]),
    resumed: f[25] === '1',
    firstOfConnection: f[26] === '1',
    deny: text(f[27]),
    route: text(f[28]),
    host: text(f[29]),
    sni: text(f[30]),
    path: f[31] ?? '',
  };
}

function errorLog(f: string[]): ConnectionErrorLog | undefined {
  const timeMs = time(f[1], f[2]);
  if (timeMs === undefined) return undefined;
  return {
    type: 'connection-error',
    timeMs,
    clientIp: f[3] ?? '',
    clientPort: int(f[4]) ?? 0,
    error: f[5] ?? '',
    tlsError: text(f[6]),
    tlsVersion: text(f[7]),
    sni: text(f[8]),
  };
}

function time(seconds: string | undefined, ms: string | undefined): number | undefined {
  const s = int(seconds);
  const m = int(ms);
  return s === undefined || m === undefined ? undefined : s * 1000 + m;
}

function int(s: string | undefined): number | undefined {
  return s !== undefined && /^-?\d+$/.test(s) ? Number(s) : undefined;
}

/** HAProxy writes an absent string as `-` or as nothing. */
function text(s: string | undefined): string | undefined {
  return s === undefined || s === '' || s === '-' ? undefined : s;
}
