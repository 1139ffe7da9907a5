/**
 * One resource, kept in step with the API server: list, then watch from the list's resourceVersion
 * with bookmarks. A watch that ends (server timeout, cut connection) resumes from the last
 * resourceVersion seen, so no event is missed and none is replayed twice; "410 Gone" (the server no
 * longer has that version) relists. Failures are retried with capped exponential backoff, for ever,
 * until stop().
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { StoredObject } from '../../store/objects.js';
import { resourceVersionOf } from './convert.js';

/** What a reflector lists and watches, and how it turns what it reads into the objects its sink keeps. */
export interface ListWatchResource<T> {
  /** For logs: Ingress, Pod. */
  kind: string;
  /** The collection path the watch opens, e.g. /apis/networking.k8s.io/v1/namespaces/shop/ingresses. */
  path: string;
  fieldSelector?: string;
  /** The same collection and selector, listed with the typed client. */
  list: () => Promise<{ items: unknown[]; resourceVersion: string }>;
  /** An item of the list or the object of a watch event as the sink keeps it; null skips it. */
  convert: (raw: unknown) => T | null;
}

export interface ReflectorSink<T> {
  /** After a list: the complete set of this resource now. */
  replace(objects: T[]): void;
  upsert(object: T): void;
  remove(object: T): void;
}

/** Why a watch was opened again: it ended normally, it failed, or its version expired (relist). */
export type ReconnectReason = 'closed' | 'error' | 'expired';

export interface ReflectorHooks<T> {
  onReconnect?(reason: ReconnectReason): void;
  onList?(): void;
  /** A list that failed (the API server unreachable, refusing, …); it is retried. */
  onListFailed?(): void;
  /** Every watch event applied (for tests and debugging). */
  onEvent?(type: string, object: T): void;
  log?(level: 'info' | 'warn', message: string): void;
}

export interface ReflectorTiming {
  /** First retry delay after a failure; doubles per failure up to maxBackoffMs. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** Asked of the server per watch (it ends the watch then); a random value in this range. */
  watchTimeoutSeconds: [number, number];
  /** A watch that delivers nothing (no event, no bookmark) for this long is taken as dead. */
  idleTimeoutMs: number;
}

export const DEFAULT_TIMING: ReflectorTiming = {
  initialBackoffMs: 250,
  maxBackoffMs: 30_000,
  watchTimeoutSeconds: [240, 360],
  idleTimeoutMs: 420_000,
};

type WatchOutcome = { reason: ReconnectReason; healthy: boolean; error?: string };

/** A watch open at least this long was not refused at once, even if nothing changed meanwhile. */
const HEALTHY_WATCH_MS = 1000;

/** The HTTP status of a failed request, from either the typed client or Watch. */
export function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  return typeof e.code === 'number' ? e.code : undefined;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class Reflector<T = StoredObject> {
  #stopped = false;
  #resourceVersion = '';
  #synced = false;
  #watching = false;
  #lastContact = 0;
  #abortWatch: (() => void) | null = null;
  #wake: (() => void) | null = null;
  #running: Promise<void> | null = null;
  readonly #timing: ReflectorTiming;

  constructor(
    private readonly kc: KubeConfig,
    readonly resource: ListWatchResource<T>,
    private readonly sink: ReflectorSink<T>,
    private readonly hooks: ReflectorHooks<T> = {},
    timing: Partial<ReflectorTiming> = {},
  ) {
    this.#timing = { ...DEFAULT_TIMING, ...timing };
  }

  /** Has listed at least once: the store holds this kind as the API server had it. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Where the next watch resumes: the last list, event or bookmark ('' = list first). */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** A watch is open now. */
  get watching(): boolean {
    return this.#watching;
  }

  /** When the API server last answered (list, event or bookmark), in ms since the epoch; 0 = never. */
  get lastContact(): number {
    return this.#lastContact;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abortWatch?.();
    this.#wake?.();
    await this.#running;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      try {
        if (this.#resourceVersion === '') await this.#list();
        const outcome = await this.#watch();
        if (this.#stopped) break;
        this.hooks.onReconnect?.(outcome.reason);
        if (outcome.reason === 'expired') {
          this.hooks.log?.('info', `${this.resource.kind} watch: resourceVersion expired (410 Gone); listing again`);
          this.#resourceVersion = '';
          failures = 0;
          continue;
        }
        // A watch that delivered something or stayed open a while was healthy: start the backoff over.
        if (outcome.healthy) failures = 0;
        if (outcome.reason === 'closed' && outcome.healthy) continue;
        // An error, or a watch that closed at once without delivering anything: back off before the next.
        if (outcome.error) this.hooks.log?.('warn', `${this.resource.kind} watch failed: ${outcome.error}; retrying`);
        failures++;
      } catch (err) {
        if (this.#stopped) break;
        if (statusCodeOf(err) === 410) this.#resourceVersion = '';
        failures++;
        this.hooks.onListFailed?.();
        this.hooks.log?.('warn', `${this.resource.kind} list failed: ${messageOf(err)}; retrying`);
      }
      await this.#pause(this.#backoff(failures));
    }
  }

  async #list(): Promise<void> {
    const listed = await this.resource.list();
    const objects: T[] = [];
    for (const item of listed.items) {
      const o = this.resource.convert(item);
      if (o !== null) objects.push(o);
    }
    this.sink.replace(objects);
    this.#resourceVersion = listed.resourceVersion;
    this.#synced = true;
    this.#lastContact = Date.now();
    this.hooks.onList?.();
  }

  /** One watch, from the current resourceVersion until it ends; never rejects. */
  #watch(): Promise<WatchOutcome> {
    const { path, fieldSelector } = this.resource;
    const [lo, hi] = this.#timing.watchTimeoutSeconds;
    const query: Record<string, string | number | boolean | undefined> = {
      resourceVersion: this.#resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: Math.round(lo + Math.random() * (hi - lo)),
      fieldSelector,
    };
    return new Promise<WatchOutcome>((resolve) => {
      const openedAt = Date.now();
      let delivered = false;
      let expired = false;
      let failure: string | undefined;
      let idle: NodeJS.Timeout | undefined;
      let controller: AbortController | undefined;
      let finished = false;
      // Before the response headers arrive there is no controller to abort: finish without it,
      // and abort the late one when it comes.
      const abort = () => (controller ? controller.abort() : finish(null));
      const touch = () => {
        clearTimeout(idle);
        idle = setTimeout(() => {
          failure = `no event or bookmark for ${Math.round(this.#timing.idleTimeoutMs / 1000)} s`;
          abort();
        }, this.#timing.idleTimeoutMs);
      };
      const finish = (err: unknown) => {
        if (finished) return;
        finished = true;
        clearTimeout(idle);
        this.#watching = false;
        this.#abortWatch = null;
        if (statusCodeOf(err) === 410) expired = true;
        else if (err && !failure && !this.#stopped) failure = messageOf(err);
        const healthy = delivered || Date.now() - openedAt >= HEALTHY_WATCH_MS;
        resolve({ reason: expired ? 'expired' : failure ? 'error' : 'closed', healthy, error: failure });
      };
      const onEvent = (type: string, obj: unknown) => {
        if (finished) return;
        touch();
        this.#lastContact = Date.now();
        if (type === 'ERROR') {
          if (statusCodeOf(obj) === 410) expired = true;
          else failure = `the server sent an error: ${JSON.stringify(obj)}`;
          abort();
          return;
        }
        delivered = true;
        const rv = resourceVersionOf(obj);
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
          const o = this.resource.convert(obj);
          if (o !== null) {
            if (type === 'DELETED') this.sink.remove(o);
            else this.sink.upsert(o);
            this.hooks.onEvent?.(type, o);
          }
        }
        // A bookmark only moves the resourceVersion on: the next watch resumes after it.
        if (rv !== '') this.#resourceVersion = rv;
      };
      this.#abortWatch = abort;
      touch();
      new Watch(this.kc).watch(path, query, onEvent, finish).then(
        (c) => {
          controller = c;
          if (finished || this.#stopped) c.abort();
          else {
            this.#watching = true;
            this.#lastContact = Date.now();
          }
        },
        (err: unknown) => finish(err),
      );
    });
  }

  #backoff(failures: number): number {
    const { initialBackoffMs, maxBackoffMs } = this.#timing;
    const base = Math.min(maxBackoffMs, initialBackoffMs * 2 ** Math.max(0, failures - 1));
    return base * (0.8 + Math.random() * 0.4);
  }

  /** Waits `ms`, or less when stop() is called. */
  #pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    }).then(() => {
      this.#wake = null;
    });
  }
}
