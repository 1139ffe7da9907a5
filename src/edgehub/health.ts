/**
 * Whether the link to the API server works. Probes `/readyz` on a timer; one failed probe or one
 * failed forward makes the link offline at once, and it comes back online only after `onlineAfter`
 * probes in a row succeed, so a flapping link does not flap every client's watches.
 */
export type LinkState = 'online' | 'offline';

export interface ProbeResult {
  ok: boolean;
  at: string;
  /** Why it failed. */
  error?: string;
}

export interface LinkHealthOptions {
  /** Resolves when the API server answered ready; rejects with the reason otherwise. */
  probe: () => Promise<void>;
  intervalMs: number;
  /** Consecutive successful probes needed to go back online. */
  onlineAfter: number;
  onChange: (state: LinkState, reason: string) => void;
  onProbeFailure?: (error: string) => void;
}

export class LinkHealth {
  state: LinkState = 'offline';
  since = new Date();
  lastProbe: ProbeResult | undefined;
  transitions = 0;
  private successes = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: LinkHealthOptions) {}

  get online(): boolean {
    return this.state === 'online';
  }

  /** Probes once now (one success is enough at start: nothing was served yet), then on the timer. */
  async start(): Promise<void> {
    const ok = await this.probeOnce();
    if (ok) this.set('online', 'the API server answered /readyz at start');
    else this.set('offline', `the API server did not answer at start: ${this.lastProbe?.error ?? ''}`, true);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** A forward failed on the link (refused, reset, timed out): offline now. */
  reportFailure(reason: string): void {
    this.successes = 0;
    if (this.state === 'online') this.set('offline', reason);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.probeOnce().then((ok) => {
        if (ok && this.state === 'offline' && this.successes >= this.opts.onlineAfter) {
          this.set('online', `${this.successes} probes of /readyz in a row succeeded`);
        } else if (!ok && this.state === 'online') this.set('offline', `probe of /readyz failed: ${this.lastProbe?.error ?? ''}`);
        this.schedule();
      });
    }, this.opts.intervalMs);
  }

  private async probeOnce(): Promise<boolean> {
    try {
      await this.opts.probe();
      this.successes++;
      this.lastProbe = { ok: true, at: new Date().toISOString() };
      return true;
    } catch (e) {
      this.successes = 0;
      this.lastProbe = { ok: false, at: new Date().toISOString(), error: e instanceof Error ? e.message : String(e) };
      this.opts.onProbeFailure?.(this.lastProbe.error!);
      return false;
    }
  }

  private set(state: LinkState, reason: string, force = false): void {
    if (this.state === state && !force) return;
    if (this.state !== state) this.transitions++;
    this.state = state;
    this.since = new Date();
    this.opts.onChange(state, reason);
  }
}
