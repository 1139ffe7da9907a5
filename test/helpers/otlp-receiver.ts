/**
 * An OTLP/HTTP logs receiver, as a collector implements it (OTLP specification, "OTLP/HTTP"):
 * `POST /v1/logs` with an `application/json` ExportLogsServiceRequest (protobuf's JSON mapping) is
 * answered 200 with an ExportLogsServiceResponse. It can be told to refuse exports (with
 * `Retry-After: 0`, as an overloaded collector asking to be retried: the exporter retries at once
 * instead of backing off for seconds), or be closed and opened again on the same port, as a collector
 * that is down.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
type KeyValue = { key: string; value: AnyValue };

export interface ReceivedRecord {
  resource: Record<string, unknown>;
  scope: string;
  timeUnixNano: string;
  severityNumber: number;
  severityText: string;
  eventName?: string;
  body: unknown;
  attributes: Record<string, unknown>;
}

export interface OtlpReceiver {
  url: string;
  port: number;
  records: ReceivedRecord[];
  /** Requests answered, by status. */
  answered: Map<number, number>;
  /** The status to answer exports with from now on (200 accepts and records them). */
  answerWith(status: number): void;
  close(): Promise<void>;
  /** Listens again on the same port. */
  reopen(): Promise<void>;
}

function value(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return v;
}

const attributes = (list: KeyValue[] | undefined): Record<string, unknown> =>
  Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));

interface ExportLogsServiceRequest {
  resourceLogs?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeLogs?: Array<{
      scope?: { name?: string };
      logRecords?: Array<{ timeUnixNano?: string; severityNumber?: number; severityText?: string; eventName?: string; body?: AnyValue; attributes?: KeyValue[] }>;
    }>;
  }>;
}

function decode(req: ExportLogsServiceRequest): ReceivedRecord[] {
  return (req.resourceLogs ?? []).flatMap((rl) =>
    (rl.scopeLogs ?? []).flatMap((sl) =>
      (sl.logRecords ?? []).map((r) => ({
        resource: attributes(rl.resource?.attributes),
        scope: sl.scope?.name ?? '',
        timeUnixNano: String(r.timeUnixNano ?? ''),
        severityNumber: r.severityNumber ?? 0,
        severityText: r.severityText ?? '',
        eventName: r.eventName,
        body: r.body ? value(r.body) : undefined,
        attributes: attributes(r.attributes),
      })),
    ),
  );
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  let status = 200;
  let server: Server;
  const records: ReceivedRecord[] = [];
  const answered = new Map<number, number>();
  const listen = (port: number): Promise<number> => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const reply = (code: number, body: string): void => {
          answered.set(code, (answered.get(code) ?? 0) + 1);
          res.writeHead(code, { 'content-type': 'application/json', ...(code === 200 ? {} : { 'retry-after': '0' }) }).end(body);
        };
        if (req.method !== 'POST' || req.url !== '/v1/logs') return reply(404, '{}');
        if (!String(req.headers['content-type']).startsWith('application/json')) return reply(415, '{"message":"only JSON here"}');
        if (status !== 200) return reply(status, '{"message":"unavailable"}');
        try {
          records.push(...decode(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportLogsServiceRequest));
        } catch (e) {
          return reply(400, JSON.stringify({ message: String(e) }));
        }
        reply(200, '{}');
      });
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  };
  const port = await listen(0);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    records,
    answered,
    answerWith: (s) => { status = s; },
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
    reopen: async () => { await listen(port); },
  };
}
