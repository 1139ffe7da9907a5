import { Counter, Histogram, type Registry } from 'prom-client';
import type { Added, Served } from './enrich.js';
import type { Verdict } from './flow.js';
import type { FlowLog } from './log-format.js';

const ROUTE = ['namespace', 'ingress', 'service'] as const;
type RouteLabel = (typeof ROUTE)[number];
const VERDICTS: readonly Verdict[] = ['FORWARDED', 'REDIRECTED', 'DENIED', 'ERROR'];
/** Stands for "no Ingress and Service" where a Served object is the key. */
const NO_ROUTE: Served = Object.freeze({ ingress: Object.freeze({ namespace: '', name: '' }), service: Object.freeze({ namespace: '', name: '', port: '' }) });

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

/** Metrics made from the flow log's lines: requests, latency and bytes per Ingress and Service, TLS handshakes, denials. */
export class FlowMetrics {
  private readonly requests: Counter<RouteLabel | 'code_class' | 'verdict'>;
  private readonly duration: Histogram<RouteLabel>;
  private readonly bytesIn: Counter<RouteLabel>;
  private readonly bytesOut: Counter<RouteLabel>;
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

  /** Each route and status, made once: what the counters take when collected. */
  private readonly children = new Map<string, RouteCounts>();
  /**
   * The same by the Served object a flow was enriched with (one per backend and apply; NO_ROUTE for none),
   * then by status class and verdict: no text is made per request to find them.
   */
  private readonly byServed = new WeakMap<Served, Map<number, RouteCounts>>();

  private child(served: Served | undefined, status: number, verdict: Verdict): RouteCounts {
    let mine = this.byServed.get(served ?? NO_ROUTE);
    if (!mine) this.byServed.set(served ?? NO_ROUTE, (mine = new Map()));
    const index = Math.floor(status / 100) * VERDICTS.length + VERDICTS.indexOf(verdict);
    let c = mine.get(index);
    if (!c) mine.set(index, (c = this.childByLabels(served, status, verdict)));
    return c;
  }

  private childByLabels(served: Served | undefined, status: number, verdict: Verdict): RouteCounts {
    const namespace = served?.ingress.namespace ?? '';
    const ingress = served?.ingress.name ?? '';
    const service = served?.service.name ?? '';
    const codeClass = `${Math.floor(status / 100)}xx`;
    const key = `${namespace}\0${ingress}\0${service}\0${codeClass}\0${verdict}`;
    let c = this.children.get(key);
    if (!c) {
      c = {
        requestLabels: { namespace, ingress, service, code_class: codeClass, verdict },
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

  /** One log line and what the gateway added to it (the same figures its Flow has). */
  record(log: FlowLog, added: Added): void {
    if (log.type === 'connection-error') {
      if (log.tlsVersion || log.sni) this.handshakes.inc({ version: log.tlsVersion || 'unknown', outcome: 'failure' });
      return;
    }
    if (log.tls && log.firstOfConnection) {
      this.handshakes.inc({ version: log.tlsVersion || 'unknown', outcome: log.resumed ? 'resumed' : 'success' });
      if (added.offloaded && !log.resumed) this.offloaded.inc();
    }
    const c = this.child(added.served, log.status, added.verdict);
    c.requests++;
    if (log.timings.Ta >= 0) c.duration.observe(log.timings.Ta / 1000);
    c.bytesIn += log.bytesIn;
    c.bytesOut += log.bytesOut;
    if (added.verdict === 'DENIED' && added.reason) this.denied.inc({ reason: added.reason });
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
