/**
 * OTLP export of flows as OpenTelemetry log records, with the OpenTelemetry SDK: a batching processor
 * with a bounded queue (a full queue drops records, it never blocks the flow log or grows) and the
 * OTLP/HTTP JSON exporter. Export failures are logged once when they start and once when they end.
 */
import { hostname } from 'node:os';
import { SeverityNumber, type Attributes, type LogRecord } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { Counter, type Registry } from 'prom-client';
import type { Log } from '../haproxy/dataplane.js';
import type { Flow } from './flow.js';
import { formatCompact } from './format.js';

/** The batching: at most this many records wait (about 1 KiB each), sent in batches of up to 512 every second. */
export const OTLP_QUEUE = { maxQueueSize: 4096, maxExportBatchSize: 512, scheduledDelayMillis: 1000, exportTimeoutMillis: 10_000 };

/**
 * The URL logs are posted to: `--otlp-endpoint` as given when its path ends in `/v1/logs`, else with
 * `/v1/logs` appended (a collector's base URL, `http://collector:4318`). Throws for anything but an
 * http(s) URL with a host.
 */
export function otlpLogsUrl(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`--otlp-endpoint ${endpoint} is not a URL: give the collector's OTLP/HTTP address, such as http://otel-collector:4318`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new Error(`--otlp-endpoint ${endpoint} must be an http:// or https:// URL with a host, such as http://otel-collector:4318 (OTLP over gRPC is not supported)`);
  }
  if (url.username || url.password) throw new Error(`--otlp-endpoint ${url.host}: credentials in the URL would be logged; give them as a header in OTEL_EXPORTER_OTLP_HEADERS instead`);
  if (!url.pathname.endsWith('/v1/logs')) url.pathname = url.pathname.replace(/\/$/, '') + '/v1/logs';
  return url.toString();
}

const SEVERITY = {
  FORWARDED: [SeverityNumber.INFO, 'INFO'],
  REDIRECTED: [SeverityNumber.INFO, 'INFO'],
  DENIED: [SeverityNumber.WARN, 'WARN'],
  ERROR: [SeverityNumber.ERROR, 'ERROR'],
} as const;

/** `TLSv1.3` → `1.3`, as OpenTelemetry's `tls.protocol.version` has it. */
const tlsVersion = (v: string): string => v.replace(/^TLSv/, '');

/** A flow as an OpenTelemetry log record: the compact line as its body, its fields as attributes (only those the flow has). */
export function flowLogRecord(flow: Flow): LogRecord {
  const a: Attributes = {
    'gatehouse.flow.id': flow.id,
    'gatehouse.flow.verdict': flow.verdict,
    'gatehouse.flow.reason': flow.reason,
    'gatehouse.flow.detail': flow.detail,
    'client.address': flow.source.ip,
    'client.port': flow.source.port,
    'gatehouse.source.namespace': flow.source.namespace,
    'gatehouse.source.pod': flow.source.pod,
    'gatehouse.ingress.namespace': flow.ingress?.namespace,
    'gatehouse.ingress.name': flow.ingress?.name,
    'server.address': flow.host,
    'gatehouse.rule.path_type': flow.rule?.pathType,
    'http.route': flow.rule?.path,
    'gatehouse.service.namespace': flow.service?.namespace,
    'gatehouse.service.name': flow.service?.name,
    'gatehouse.service.port': flow.service?.port,
    'gatehouse.endpoint.address': flow.endpoint?.address,
    'gatehouse.endpoint.port': flow.endpoint?.port,
    'http.request.method': flow.http?.method,
    'url.path': flow.http?.path,
    'http.response.status_code': flow.http?.status,
    'http.request.size': flow.http?.bytesIn,
    'http.response.size': flow.http?.bytesOut,
    'gatehouse.timings.tls_handshake_ms': flow.timings.tlsHandshakeMs ?? undefined,
    'gatehouse.timings.queue_ms': flow.timings.queueMs ?? undefined,
    'gatehouse.timings.connect_ms': flow.timings.connectMs ?? undefined,
    'gatehouse.timings.response_ms': flow.timings.responseMs ?? undefined,
    'gatehouse.timings.total_ms': flow.timings.totalMs ?? undefined,
    'tls.protocol.version': flow.tls ? tlsVersion(flow.tls.version) : undefined,
    'tls.cipher': flow.tls?.cipher,
    'tls.client.server_name': flow.tls?.sni || undefined,
    'tls.resumed': flow.tls?.resumed,
    'gatehouse.tls.offloaded': flow.tls?.offloaded,
    'gatehouse.termination': flow.termination,
  };
  for (const key of Object.keys(a)) if (a[key] === undefined || a[key] === '') delete a[key];
  const [severityNumber, severityText] = SEVERITY[flow.verdict];
  return { eventName: 'gatehouse.flow', timestamp: new Date(flow.time), severityNumber, severityText, body: formatCompact(flow, { utc: true }), attributes: a };
}

/** An exporter that tells `onResult` how each export ended, and otherwise is `inner`. */
class ObservedExporter implements LogRecordExporter {
  constructor(private readonly inner: LogRecordExporter, private readonly onResult: (result: ExportResult, records: number) => void) {}

  export(logs: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(logs, (result) => {
      this.onResult(result, logs.length);
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }
}

/** Flows to an OTLP/HTTP collector. `export()` only queues; sending happens in the background. */
export class OtlpFlowExporter {
  private readonly provider: LoggerProvider;
  private readonly logger;
  private readonly sent: Counter<'result'>;
  private failing = false;

  constructor(endpoint: string, version: string, registry: Registry, private readonly log: Log) {
    const url = otlpLogsUrl(endpoint);
    this.sent = new Counter({ name: 'gatehouse_otlp_flows_total', help: 'Flows exported to the OTLP collector, by result (sent, failed: the collector refused them or could not be reached, after retries).', labelNames: ['result'], registers: [registry] });
    const exporter = new ObservedExporter(new OTLPLogExporter({ url, timeoutMillis: OTLP_QUEUE.exportTimeoutMillis }), (result, records) => this.exported(result, records, url));
    this.provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'gatehouse', 'service.version': version, 'host.name': hostname() }),
      processors: [new BatchLogRecordProcessor({ exporter, ...OTLP_QUEUE })],
    });
    this.logger = this.provider.getLogger('gatehouse.flows', version);
    log('info', `OTLP export of flows to ${url}`, { queue: OTLP_QUEUE.maxQueueSize });
  }

  export(flow: Flow): void {
    this.logger.emit(flowLogRecord(flow));
  }

  private exported(result: ExportResult, records: number, url: string): void {
    const failed = result.code !== ExportResultCode.SUCCESS;
    this.sent.inc({ result: failed ? 'failed' : 'sent' }, records);
    if (failed === this.failing) return;
    this.failing = failed;
    if (failed) {
      this.log('warn', `OTLP export to ${url} failed: flows that cannot be sent are dropped (the flow log keeps them); reported once until an export works again`, { error: result.error?.message ?? 'unknown', records });
    } else {
      this.log('info', `OTLP export to ${url} works again`);
    }
  }

  /** Sends what is queued, waiting at most `timeoutMs`, and stops. */
  async stop(timeoutMs = 2000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); });
    await Promise.race([this.provider.shutdown().catch(() => undefined), deadline]);
    clearTimeout(timer);
  }
}
