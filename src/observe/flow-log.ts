import type { Registry } from 'prom-client';
import type { Log } from '../haproxy/dataplane.js';
import type { Backend } from '../model/types.js';
import type { StoredObject } from '../store/objects.js';
import type { AdminHandler } from '../admin/server.js';
import { flowsHandler } from './api.js';
import { addTo, flowContext, KeptFlow, type FlowContext } from './enrich.js';
import { parseFlowLog } from './log-format.js';
import { FlowMetrics } from './metrics.js';
import { startFlowReceiver } from './receiver.js';
import { FlowRing } from './ring.js';

/** The gateway's flow log: HAProxy's log lines in, flows out (ring, metrics, the /flows API). */
export class FlowLog {
  readonly ring: FlowRing;
  readonly handler: AdminHandler;
  private readonly metrics: FlowMetrics;
  private context: FlowContext = flowContext([], [], false);
  private receiver: { close(): Promise<void> } | undefined;
  unreadable = 0;

  constructor(capacity: number, registry: Registry, private readonly log: Log) {
    this.ring = new FlowRing(capacity);
    this.handler = flowsHandler(this.ring);
    this.metrics = new FlowMetrics(registry);
  }

  async start(socketPath: string): Promise<void> {
    this.receiver = await startFlowReceiver(socketPath, (line) => this.line(line), (msg) => this.log('warn', msg));
  }

  /** What the next lines are read against: call after every apply. */
  update(backends: readonly Backend[], objects: readonly StoredObject[], offloaded: boolean): void {
    this.context = flowContext(backends, objects, offloaded);
  }

  line(text: string): void {
    const parsed = parseFlowLog(text);
    if (!parsed) {
      if (this.unreadable++ === 0) this.log('warn', 'flow log: a line HAProxy sent is not a flow; it is skipped (reported once)', { line: text.slice(0, 200) });
      return;
    }
    // toFlow in two steps: what the gateway adds is looked up in the model now, and the Flow is made
    // when it is read, by flow.toFlow() (the ring's followers get it made as it comes)
    const flow = new KeptFlow(text, addTo(parsed, this.context));
    this.metrics.record(parsed, flow.added);
    this.ring.push(flow);
  }

  async stop(): Promise<void> {
    await this.receiver?.close();
  }
}
