/**
 * List, then watch, one resource, handing its objects on as the API's JSON, whole. The same loop as
 * src/sources/kubernetes/reflector.ts (resume from the last resourceVersion with bookmarks, relist on
 * 410 Gone, capped exponential backoff, a silent watch taken as dead), which cannot be used here as
 * it is: it converts to the gateway's StoredObject, typed for the gateway's kinds and without the
 * ownerReferences and resourceVersion this controller needs.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { resourceVersionOf } from '../sources/kubernetes/convert.js';
import { DEFAULT_TIMING, type ReconnectReason, type ReflectorTiming } from '../sources/kubernetes/reflector.js';

export type Json = Record<string, unknown>;

export interface InformerResource {
  /** For logs and metrics: Node, Pod. */
  kind: string;
  /** The collection the watch opens, e.g. /api/v1/pods. */
  path: string;
  fieldSelector?: string;
  /** The same collection and selector, listed with the typed client. */
  list(): Promise<{ items: unknown[]; resourceVersion: string }>;
}

export interface InformerSink {
  /** After a list: every object of the resource now. */
  replace(objects: Json[]): void;
  upsert(object: Json): void;
  remove(object: Json): void;
}

export interface InformerHooks {
  onList?(): void;
  onListFailed?(): void;
  onReconnect?(reason: ReconnectReason): void;
  log?(level: 'info' | 'warn', message: string): void;
}

type WatchOutcome = { reason: ReconnectReason; healthy: boolean; error?: string };

/** A watch open at least this long was not refused at once, even if nothing changed meanwhile. */
const HEALTHY_WATCH_MS = 1000;

const isJson = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The typed client's objects (Date fields, class instances) as plain JSON, like a watch event's. */
function plain(v: unknown): Json | null {
  const o: unknown = JSON.parse(JSON.stringify(v ?? null));
  return isJson(o) ? o : null;
}

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

export class Informer {
  #stopped = false;
  #resourceVersion = '';
  #synced = false;
  #watching = false;
  #abortWatch: (() => void) | null = null;
  #wake: (() => void) | null = null;
  #running: Promise<void> | null = null;
  readonly #timing: ReflectorTiming;

  constructor(
    private readonly kc: KubeConfig,
    readonly resource: InformerResource,
    private readonly sink: InformerSink,
    private readonly hooks: InformerHooks = {},
    timing: Partial<ReflectorTiming> = {},
  ) {
    this.#timing = { ...DEFAULT_TIMING, ...timing };
  }

  /** Has listed at least once. */
  get synced(): boolean {
    return this.#synced;
  }

  /** A watch is open now. */
  get watching(): boolean {
    return this.#watching;
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
        if (outcome.healthy) failures = 0;
        if (outcome.reason === 'closed' && outcome.healthy) continue;
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
    this.sink.replace(listed.items.map(plain).filter((o): o is Json => o !== null));
    this.#resourceVersion = listed.resourceVersion;
    this.#synced = true;
    this.hooks.onList?.();
  }

  /** One watch, from the current resourceVersion until it ends; never rejects. */
  #watch(): Promise<WatchOutcome> {
    const [lo, hi] = this.#timing.watchTimeoutSeconds;
    const query: Record<string, string | number | boolean | undefined> = {
      resourceVersion: this.#resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: Math.round(lo + Math.random() * (hi - lo)),
      fieldSelector: this.resource.fieldSelector,
    };
    return new Promise<WatchOutcome>((resolve) => {
      const openedAt = Date.now();
      let delivered = false;
      let expired = false;
      let failure: string | undefined;
      let idle: NodeJS.Timeout | undefined;
      let controller: AbortController | undefined;
      let finished = false;
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
        if (type === 'ERROR') {
          if (statusCodeOf(obj) === 410) expired = true;
          else failure = `the server sent an error: ${JSON.stringify(obj)}`;
          abort();
          return;
        }
        delivered = true;
        if ((type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') && isJson(obj)) {
          if (type === 'DELETED') this.sink.remove(obj);
          else this.sink.upsert(obj);
        }
        const rv = resourceVersionOf(obj);
        if (rv !== '') this.#resourceVersion = rv;
      };
      this.#abortWatch = abort;
      touch();
      new Watch(this.kc).watch(this.resource.path, query, onEvent, finish).then(
        (c) => {
          controller = c;
          if (finished || this.#stopped) c.abort();
          else this.#watching = true;
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
