import { Counter, Histogram, type Registry } from 'prom-client';
import type { Flow } from './flow.js';

const ROUTE = ['namespace', 'ingress', 'service'] as const;

type RouteLabel = (typeof ROUTE)[number];

/**
 * One route and status: what its requests added since the last scrape, which the counters take when they
 * are collected (prom-client checks and hashes the labels of every inc(), three times a request otherwise).
 */
interface RouteCounts {
  requestLabels: Record<RouteLabel | 'code_class' | 'verdict', string>;
  routeLabels: Record<RouteLabel, string>;
  requests: number;
  bytesIn: number;
  bytesOut: number;
  duration: { observe(seconds: number): void };
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
    const flush = () => this.flush();
    this.requests = new Counter({ name: 'gatehouse_http_requests_total', help: 'Requests, by the Ingress and Service they were routed to (empty when none), status class and verdict.', labelNames: [...ROUTE, 'code_class', 'verdict'], registers, collect: flush });
    this.duration = new Histogram({
      name: 'gatehouse_http_request_duration_seconds',
      help: 'Time from the whole request received to the whole response sent (HAProxy\'s Ta), by Ingress and Service.',
      labelNames: ROUTE,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.bytesIn = new Counter({ name: 'gatehouse_http_request_bytes_total', help: 'Bytes received from clients (headers and body), by Ingress and Service.', labelNames: ROUTE, registers, collect: flush });
    this.bytesOut = new Counter({ name: 'gatehouse_http_response_bytes_total', help: 'Bytes sent to clients, by Ingress and Service.', labelNames: ROUTE, registers, collect: flush });
    this.handshakes = new Counter({ name: 'gatehouse_tls_handshakes_total', help: 'TLS handshakes, by version and outcome (success, resumed, failure).', labelNames: ['version', 'outcome'], registers });
    this.offloaded = new Counter({ name: 'gatehouse_tls_offloaded_handshakes_total', help: 'Full TLS handshakes whose private-key work was done by an accelerator.', registers });
    this.denied = new Counter({ name: 'gatehouse_denied_requests_total', help: 'Requests denied, by the rule that denied them (source-range, rate-limit, body-size).', labelNames: ['reason'], registers });
  }

  /** Each route and status, made once. */
  private readonly children = new Map<string, RouteCounts>();

  private child(flow: Flow, status: number): RouteCounts {
    const namespace = flow.ingress?.namespace ?? '';
    const ingress = flow.ingress?.name ?? '';
    const service = flow.service?.name ?? '';
    const codeClass = `${Math.floor(status / 100)}xx`;
    const key = `${namespace}\0${ingress}\0${service}\0${codeClass}\0${flow.verdict}`;
    let c = this.children.get(key);
    if (!c) {
      c = {
        requestLabels: { namespace, ingress, service, code_class: codeClass, verdict: flow.verdict },
        routeLabels: { namespace, ingress, service },
        requests: 0,
        bytesIn: 0,
        bytesOut: 0,
        duration: this.duration.labels(namespace, ingress, service),
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
    c.requests++;
    if (flow.timings.totalMs !== null) c.duration.observe(flow.timings.totalMs / 1000);
    c.bytesIn += flow.http.bytesIn;
    c.bytesOut += flow.http.bytesOut;
    if (flow.verdict === 'DENIED' && flow.reason) this.denied.inc({ reason: flow.reason });
  }

  /** Adds what the requests counted since the last time to the counters: called when any of them is collected. */
  private flush(): void {
    for (const c of this.children.values()) {
      if (c.requests > 0) this.requests.inc(c.requestLabels, c.requests);
      if (c.bytesIn > 0) this.bytesIn.inc(c.routeLabels, c.bytesIn);
      if (c.bytesOut > 0) this.bytesOut.inc(c.routeLabels, c.bytesOut);
      c.requests = c.bytesIn = c.bytesOut = 0;
    }
  }
}
