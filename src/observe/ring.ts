import { KeptFlow } from './enrich.js';
import type { Flow } from './flow.js';

const flowOf = (item: Flow | KeptFlow): Flow => (item instanceof KeptFlow ? item.toFlow() : item);

/**
 * The newest flows, at most `capacity` of them, and the readers following new ones. A flow is pushed
 * as a Flow or as a KeptFlow, which becomes one when it is read.
 */
export class FlowRing {
  private readonly items: Array<Flow | KeptFlow> = [];
  private start = 0;
  private readonly followers = new Set<(flow: Flow) => void>();
  /** Flows pushed since the start, kept or not. */
  total = 0;

  constructor(readonly capacity: number) {}

  push(flow: Flow | KeptFlow): void {
    this.total++;
    if (this.capacity <= 0) return;
    if (this.items.length < this.capacity) this.items.push(flow);
    else {
      this.items[this.start] = flow;
      this.start = (this.start + 1) % this.capacity;
    }
    if (this.followers.size === 0) return;
    const f = flowOf(flow);
    for (const follower of this.followers) follower(f);
  }

  get size(): number {
    return this.items.length;
  }

  /** The newest `n` flows that match, oldest first. */
  last(n: number, match: (flow: Flow) => boolean = () => true): Flow[] {
    const out: Flow[] = [];
    for (let i = this.items.length - 1; i >= 0 && out.length < n; i--) {
      const flow = flowOf(this.items[(this.start + i) % this.items.length]!);
      if (match(flow)) out.push(flow);
    }
    return out.reverse();
  }

  /** Calls `f` with every flow pushed from now on, until the returned function is called. */
  follow(f: (flow: Flow) => void): () => void {
    this.followers.add(f);
    return () => this.followers.delete(f);
  }
}
