/**
 * Leader election with a coordination.k8s.io/v1 Lease, as client-go does it: every retry period a
 * replica reads the Lease; the holder renews it, the others take it over only once it has not been
 * renewed for a whole lease duration (timed by their own clock from when they saw it change, so
 * clock skew between nodes does not matter). Writes carry the resourceVersion read, so of two
 * replicas racing for it exactly one wins. A leader that cannot renew within the renew deadline
 * stops leading; a leader that stops cleanly releases the Lease so another takes over at once.
 */
import { ApiException, CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Log } from '../../haproxy/dataplane.js';

export interface LeaderOptions {
  kc: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  log: Log;
  onChange?: (leading: boolean) => void;
}

/** client-go's defaults: 15 s lease, 10 s renew deadline, 2 s retry period. */
export function leaderTiming(leaseDurationSeconds: number): Pick<LeaderOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'> {
  const lease = leaseDurationSeconds * 1000;
  return { leaseDurationMs: lease, renewDeadlineMs: (lease * 2) / 3, retryPeriodMs: lease / 7.5 };
}

function codeOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

export class LeaderElector {
  #leading = false;
  #lastRenew = 0;
  #observed: { holder: string; renewTime: number; at: number } | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #round: Promise<void> = Promise.resolve();
  readonly #api: CoordinationV1Api;

  constructor(private readonly opts: LeaderOptions) {
    this.#api = opts.kc.makeApiClient(CoordinationV1Api);
  }

  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    this.#schedule(0);
  }

  /** Stops trying; a leader releases the Lease (unless `release` is false: as if it crashed). */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#round;
    if (this.#leading && opts.release !== false) await this.#release();
    this.#setLeading(false);
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#round = this.#tryOnce().finally(() => {
        if (!this.#stopped) this.#schedule(this.opts.retryPeriodMs);
      });
    }, ms);
  }

  async #tryOnce(): Promise<void> {
    const now = Date.now();
    let renewed = false;
    try {
      renewed = await this.#acquireOrRenew(now);
    } catch (err) {
      this.opts.log('warn', `leader election: the Lease ${this.opts.namespace}/${this.opts.name} could not be read or written: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (renewed) {
      this.#lastRenew = now;
      this.#setLeading(true);
    } else if (this.#leading && Date.now() - this.#lastRenew > this.opts.renewDeadlineMs) {
      this.opts.log('warn', `leader election: the Lease was not renewed within ${this.opts.renewDeadlineMs} ms; no longer leading`);
      this.#setLeading(false);
    }
  }

  /** One read and, when the Lease is ours or free, one write. True when we hold it now. */
  async #acquireOrRenew(now: number): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const seconds = Math.max(1, Math.round(this.opts.leaseDurationMs / 1000));
    let lease: V1Lease;
    try {
      lease = await this.#api.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (codeOf(err) !== 404) throw err;
      const fresh: V1Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds: seconds, acquireTime: new V1MicroTime(now), renewTime: new V1MicroTime(now), leaseTransitions: 0 },
      };
      return this.#write(() => this.#api.createNamespacedLease({ namespace, body: fresh }));
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewTime = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    if (!this.#observed || this.#observed.holder !== holder || this.#observed.renewTime !== renewTime) {
      this.#observed = { holder, renewTime, at: now };
    }
    const heldByOther = holder !== '' && holder !== identity;
    const durationMs = (spec.leaseDurationSeconds ?? seconds) * 1000;
    if (heldByOther && this.#observed.at + durationMs > now) return false;
    const mine = holder === identity;
    lease.spec = {
      holderIdentity: identity,
      leaseDurationSeconds: seconds,
      acquireTime: mine && spec.acquireTime ? new V1MicroTime(spec.acquireTime) : new V1MicroTime(now),
      renewTime: new V1MicroTime(now),
      leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
    };
    return this.#write(() => this.#api.replaceNamespacedLease({ namespace, name, body: lease }));
  }

  /** A create or update; losing a race (409 Conflict) is an answer, not an error. */
  async #write(call: () => Promise<V1Lease>): Promise<boolean> {
    try {
      await call();
      return true;
    } catch (err) {
      if (codeOf(err) === 409) return false;
      throw err;
    }
  }

  async #release(): Promise<void> {
    const { namespace, name } = this.opts;
    try {
      const lease = await this.#api.readNamespacedLease({ namespace, name });
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime() };
      await this.#api.replaceNamespacedLease({ namespace, name, body: lease });
    } catch (err) {
      this.opts.log('warn', `leader election: releasing the Lease failed (another replica takes over when it expires): ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  #setLeading(leading: boolean): void {
    if (leading === this.#leading) return;
    this.#leading = leading;
    this.opts.log('info', leading ? `leading: this replica (${this.opts.identity}) now writes Ingress status and Events` : `not leading (${this.opts.identity})`);
    this.opts.onChange?.(leading);
  }
}
