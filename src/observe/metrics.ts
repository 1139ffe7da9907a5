import { Counter, Histogram, type Registry } from 'prom-client';
import type { Flow } from './flow.js';

const ROUTE = ['namespace', 'ingress', 'service'] as const;

interface RouteChildren {
  requests: { inc(): void };
  duration: { observe(seconds: number): void };
  bytesIn: { inc(n: number): void };
  bytesOut: { inc(n: number): void };
}

/** Metrics made from flows: requests, latency and bytes per Ingress and Service, TLS handshakes, denials. */
export class FlowMetrics {
  private readonly requests: Counter<'namespace' | 'ingress' | 'service' | 'code_class' | 'verdict'>;
  private readonly duration: Histogram<(typeof ROUTE)[number]>;
  private readonly bytesIn: Counter<(typeof ROUTE)[number]>;
  private readonly bytesOut: Counter<(typeof ROUTE)[number]>;
  private readonly handshakes: Counter<'version' | 'outcome'>;
  private readonly offloaded: Counter;
  private readonly denied: Counter<'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({ name: 'gatehouse_http_requests_total', help: 'Requests, by the Ingress and Service they were routed to (empty when none), status class and verdict.', labelNames: [...ROUTE, 'code_class', 'verdict'], registers });
    this.duration = new Histogram({
      name: 'gatehouse_http_request_duration_seconds',
      help: 'Time from the whole request received to the whole response sent (HAProxy\'s Ta), by Ingress and Service.',
      labelNames: ROUTE,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.bytesIn = new Counter({ name: 'gatehouse_http_request_bytes_total', help: 'Bytes received from clients (headers and body), by Ingress and Service.', labelNames: ROUTE, registers });
    this.bytesOut = new Counter({ name: 'gatehouse_http_response_bytes_total', help: 'Bytes sent to clients, by Ingress and Service.', labelNames: ROUTE, registers });
    this.handshakes = new Counter({ name: 'gatehouse_tls_handshakes_total', help: 'TLS handshakes, by version and outcome (success, resumed, failure).', labelNames: ['version', 'outcome'], registers });
    this.offloaded = new Counter({ name: 'gatehouse_tls_offloaded_handshakes_total', help: 'Full TLS handshakes whose private-key work was done by an accelerator.', registers });
    this.denied = new Counter({ name: 'gatehouse_denied_requests_total', help: 'Requests denied, by the rule that denied them (source-range, rate-limit, body-size).', labelNames: ['reason'], registers });
  }

  /** The metric children of each route and status, made once: prom-client checks and hashes labels on every call otherwise. */
  private readonly children = new Map<string, RouteChildren>();

  private child(flow: Flow, status: number): RouteChildren {
    const namespace = flow.ingress?.namespace ?? '';
    const ingress = flow.ingress?.name ?? '';
    const service = flow.service?.name ?? '';
    const codeClass = `${Math.floor(status / 100)}xx`;
    const key = `${namespace}\0${ingress}\0${service}\0${codeClass}\0${flow.verdict}`;
    let c = this.children.get(key);
    if (!c) {
      c = {
        requests: this.requests.labels(namespace, ingress, service, codeClass, flow.verdict),
        duration: this.duration.labels(namespace, ingress, service),
        bytesIn: this.bytesIn.labels(namespace, ingress, service),
        bytesOut: this.bytesOut.labels(namespace, ingress, service),
      };
      this.children.set(key, c);
    }
    return c;
  }

  record(flow: Flow, firstOfConnection: boolean): void {
    if (flow.tls && (firstOfConnection || !flow.http)) {
      const outcome = !flow.http ? 'failure' : flow.tls.resumed ? 'resumed' : 'success';
      this.handshakes.inc({ version: flow.tls.version || 'unknown', outcome });
      if (flow.tls.offloaded) this.offloaded.inc();
    }
    if (!flow.http) return;
    const c = this.child(flow, flow.http.status);
    c.requests.inc();
    if (flow.timings.totalMs !== null) c.duration.observe(flow.timings.totalMs / 1000);
    c.bytesIn.inc(flow.http.bytesIn);
    c.bytesOut.inc(flow.http.bytesOut);
    if (flow.verdict === 'DENIED' && flow.reason) this.denied.inc({ reason: flow.reason });
  }
}
