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

const SPACE = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Reads a line's fields one after the other, without splitting it into an array of strings first
 * (a line is read once per request): numbers are read from the characters, text is one slice unless it
 * holds an escape. A quoted field cut off by the line's end is kept as far as it goes.
 */
class FieldReader {
  private i = 0;
  /** Where the next backslash is (-1: none left): quoted fields before it need no unescaping. */
  private slash: number;
  /** Fields read so far. */
  count = 0;

  constructor(private readonly line: string) {
    this.slash = line.indexOf('\\');
  }

  /** Moves to the next field's first character; false at the line's end. */
  private skipSpaces(): boolean {
    const { line } = this;
    while (this.i < line.length && line.charCodeAt(this.i) === SPACE) this.i++;
    return this.i < line.length;
  }

  /** The next field's text (quotes and escapes removed), undefined past the last field. */
  text(): string | undefined {
    if (!this.skipSpaces()) return undefined;
    this.count++;
    const { line } = this;
    if (line.charCodeAt(this.i) !== QUOTE) {
      const start = this.i;
      const end = line.indexOf(' ', start);
      this.i = end === -1 ? line.length : end;
      return line.slice(start, this.i);
    }
    const start = this.i + 1;
    let end = line.indexOf('"', start);
    if (end === -1) end = line.length;
    if (this.slash !== -1 && this.slash < start) this.slash = line.indexOf('\\', start);
    if (this.slash === -1 || this.slash > end) {
      this.i = end + 1;
      return line.slice(start, end);
    }
    return this.unescape(start);
  }

  /** A quoted field with a backslash in it: `\x` is `x`, up to the first unescaped quote. */
  private unescape(start: number): string {
    const { line } = this;
    let text = '';
    let from = start;
    let i = start;
    while (i < line.length) {
      const c = line.charCodeAt(i);
      if (c === QUOTE) break;
      if (c === BACKSLASH && i + 1 < line.length) {
        text += line.slice(from, i);
        from = i + 1; // the escaped character is kept, whatever it is
        i += 2;
        continue;
      }
      i++;
    }
    text += line.slice(from, i);
    this.i = i + 1; // the closing quote
    this.slash = line.indexOf('\\', this.i);
    return text;
  }

  /** The next field as a whole number (`-?[0-9]+`), undefined when it is something else or missing. */
  int(): number | undefined {
    if (!this.skipSpaces()) return undefined;
    const { line } = this;
    const start = this.i;
    let i = start;
    const negative = line.charCodeAt(i) === MINUS;
    if (negative) i++;
    let n = 0;
    let digits = 0;
    for (; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (c < ZERO || c > NINE) break;
      n = n * 10 + (c - ZERO);
      digits++;
    }
    if (digits > 0 && (i === line.length || line.charCodeAt(i) === SPACE)) {
      this.count++;
      this.i = i;
      return negative ? -n : n;
    }
    // not a bare number: read it as text (a quoted number is still one)
    this.i = start;
    const t = this.text();
    return t !== undefined && /^-?\d+$/.test(t) ? Number(t) : undefined;
  }

  /** The next field is `1` (HAProxy's true). */
  flag(): boolean {
    return this.text() === '1';
  }
}

/** Splits a line into its fields; a quoted field cut off by the line's end is kept as far as it goes. */
export function splitFields(line: string): string[] {
  const reader = new FieldReader(line);
  const fields: string[] = [];
  for (let f = reader.text(); f !== undefined; f = reader.text()) fields.push(f);
  return fields;
}

/** Parses one log line; undefined for a line that is not a flow (HAProxy's own messages, damage). */
export function parseFlowLog(line: string): FlowLog | undefined {
  const type = line.charCodeAt(0);
  if (line.charCodeAt(1) !== SPACE) return undefined;
  if (type === 0x48 /* H */) return requestLog(new FieldReader(line));
  if (type === 0x45 /* E */) return errorLog(new FieldReader(line));
  return undefined;
}

// The fields in the order of render.ts's FLOW_LOG_FORMAT.
function requestLog(f: FieldReader): RequestLog | undefined {
  f.text(); // H
  const timeMs = time(f.int(), f.int());
  const id = f.text() ?? '';
  const clientIp = f.text() ?? '';
  const clientPort = f.int() ?? 0;
  const backend = f.text() ?? '';
  const server = text(f.text());
  const serverIp = text(f.text());
  const serverPort = f.int() ?? 0;
  const method = f.text() ?? '';
  const status = f.int();
  const bytesOut = f.int() ?? 0;
  const bytesIn = f.int() ?? 0;
  const timings = { Th: f.int() ?? -1, Ti: f.int() ?? -1, TR: f.int() ?? -1, Tw: f.int() ?? -1, Tc: f.int() ?? -1, Tr: f.int() ?? -1, Ta: f.int() ?? -1 };
  const termination = f.text() ?? '';
  const tls = f.flag();
  const tlsVersion = text(f.text());
  const tlsCipher = text(f.text());
  const resumed = f.flag();
  const firstOfConnection = f.flag();
  const deny = text(f.text());
  const route = text(f.text());
  const host = text(f.text());
  const sni = text(f.text());
  const path = f.text() ?? '';
  if (f.count < REQUEST_FIELDS - 1 || timeMs === undefined || status === undefined) return undefined;
  return {
    type: 'request',
    timeMs,
    id,
    clientIp,
    clientPort,
    backend,
    server: server === '<NOSRV>' ? undefined : server,
    serverIp,
    serverPort,
    method,
    status,
    bytesOut,
    bytesIn,
    timings,
    termination,
    tls,
    tlsVersion,
    tlsCipher,
    resumed,
    firstOfConnection,
    deny,
    route,
    host,
    sni,
    path,
  };
}

// The fields in the order of render.ts's FLOW_ERROR_FORMAT.
function errorLog(f: FieldReader): ConnectionErrorLog | undefined {
  f.text(); // E
  const timeMs = time(f.int(), f.int());
  const clientIp = f.text() ?? '';
  const clientPort = f.int() ?? 0;
  const error = f.text() ?? '';
  const tlsError = text(f.text());
  const tlsVersion = text(f.text());
  const sni = text(f.text());
  if (f.count < ERROR_FIELDS - 1 || timeMs === undefined) return undefined;
  return { type: 'connection-error', timeMs, clientIp, clientPort, error, tlsError, tlsVersion, sni };
}

/** The largest time a Date holds (in ms from the epoch, either way): a damaged line's time can be anything. */
const MAX_TIME_MS = 8.64e15;

function time(seconds: number | undefined, ms: number | undefined): number | undefined {
  if (seconds === undefined || ms === undefined) return undefined;
  const t = seconds * 1000 + ms;
  return Math.abs(t) <= MAX_TIME_MS ? t : undefined;
}

/** HAProxy writes an absent string as `-` or as nothing. */
function text(s: string | undefined): string | undefined {
  return s === undefined || s === '' || s === '-' ? undefined : s;
}
