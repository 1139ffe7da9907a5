/**
 * The autonomy controller: watches Nodes and scheduled Pods, and brings each pod's not-ready and
 * unreachable tolerations in line with its node's autonomy (policy.ts decides; this file reads and
 * writes). One pod at a time from a queue; a pod is queued when it changes, when its node's autonomy
 * changes, and all of them after each full list. A pod already as it should be is not written.
 *
 * Writes are JSON merge patches carrying metadata.resourceVersion, so the API server refuses one made
 * from a stale read (409 Conflict); the pod is then read again and the change computed anew.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Log } from '../haproxy/dataplane.js';
import type { ReflectorTiming } from '../sources/kubernetes/reflector.js';
import { nodeAutonomy, ORIGINALS_ANNOTATION, sameAutonomy, type NodeAutonomy } from './annotations.js';
import { formatSeconds } from './duration.js';
import { messageOf, Reflector, statusCodeOf } from '../sources/kubernetes/reflector.js';
import { plainJson, type Json } from './pod.js';
import { AutonomyMetrics } from './metrics.js';
import { podKey, podView, type PodView } from './pod.js';
import { planPod, type PodPlan } from './policy.js';

const OFF: NodeAutonomy = { state: 'off' };

/** Conflicts (409) on one pod retried at once before backing off. */
const CONFLICT_RETRIES = 5;
/** Backoff of a pod whose write failed: doubles from this, up to RETRY_MAX_MS. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 30_000;

export interface AutonomyControllerOptions {
  kc: KubeConfig;
  log: Log;
  timing?: Partial<ReflectorTiming>;
}

export interface AutonomyStatus {
  /** Nodes and pods have been listed: the controller acts on the cluster's state. */
  synced: boolean;
  nodes: {
    autonomous: { name: string; duration: string; seconds: number | null; annotation: string; value: string }[];
    invalid: { name: string; annotation: string; value: string; problem: string; fix: string }[];
  };
  pods: {
    /** Scheduled, unfinished pods in the cache. */
    watched: number;
    /** Pods carrying gatehouse.io/autonomy-original-tolerations. */
    managed: number;
    /** Pods queued or being worked on now. */
    pending: number;
    /** Pods waiting to be tried again after a failed write. */
    retrying: number;
  };
  writes: { set: number; restore: number; conflicts: number; errors: number };
  lastError: { time: string; pod: string; message: string } | null;
}

/** A Status message from an API error (client-node's ApiException carries it as JSON text). */
function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const status = JSON.parse(body) as { message?: unknown };
      if (typeof status.message === 'string') return status.message;
    } catch {
      // not JSON: fall through
    }
  }
  return messageOf(err);
}

/** `for 2h`, `with no time limit`. */
function howLong(a: NodeAutonomy): string {
  return a.state === 'on' ? (a.seconds === null ? 'with no time limit' : `for ${formatSeconds(a.seconds)}`) : a.state;
}

/** The fix of an invalid annotation for this node. */
const fixFor = (name: string, a: Extract<NodeAutonomy, { state: 'invalid' }>): string => a.fix.replace('NODE', name);

export class AutonomyController {
  readonly metrics: AutonomyMetrics;
  readonly #log: Log;
  readonly #core: CoreV1Api;
  readonly #reflectors: [Reflector<Json>, Reflector<Json>];
  readonly #nodes = new Map<string, NodeAutonomy>();
  readonly #pods = new Map<string, PodView>();
  readonly #podsOnNode = new Map<string, Set<string>>();
  readonly #queue = new Set<string>();
  readonly #retries = new Map<string, { attempts: number; timer?: NodeJS.Timeout }>();
  /**
   * Per pod, resourceVersions known to be superseded: one a write was refused for (409), one a
   * successful write was made on. A cached pod at such a version is not planned from (that would
   * only earn another 409): the watch event of the newer version follows and queues it again.
   */
  readonly #superseded = new Map<string, string[]>();
  /** What was last logged per pod uid (limits, unreadable originals), so a message is not repeated on every event. */
  readonly #told = new Map<string, string>();
  readonly #counts = { set: 0, restore: 0, conflicts: 0, errors: 0 };
  #lastError: AutonomyStatus['lastError'] = null;
  #ready = false;
  #stopped = false;
  #working: string | null = null;
  #draining: Promise<void> | null = null;

  constructor(opts: AutonomyControllerOptions) {
    this.#log = opts.log;
    this.#core = opts.kc.makeApiClient(CoreV1Api);
    this.metrics = new AutonomyMetrics({
      autonomousNodes: () => [...this.#nodes.values()].filter((a) => a.state === 'on').length,
      invalidNodes: () => [...this.#nodes.values()].filter((a) => a.state === 'invalid').length,
      managedPods: () => this.#managedPods(),
    });
    const hooks = (kind: string) => ({
      onList: () => {
        this.metrics.lists.inc({ kind });
        this.#onList();
      },
      onReconnect: (reason: string) => this.metrics.reconnects.inc({ kind, reason }),
      log: (level: 'info' | 'warn', message: string) => this.#log(level, message),
    });
    const core = this.#core;
    // Scheduled pods that have not finished: the selector of kube-scheduler's assigned-pod informer.
    const scheduled = 'spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed';
    this.#reflectors = [
      new Reflector<Json>(
        opts.kc,
        {
          kind: 'Node',
          path: '/api/v1/nodes',
          convert: plainJson,
          list: async () => {
            const l = await core.listNode();
            return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
          },
        },
        { replace: (o) => this.#replaceNodes(o), upsert: (o) => this.#upsertNode(o), remove: (o) => this.#removeNode(o) },
        hooks('Node'),
        opts.timing,
      ),
      new Reflector<Json>(
        opts.kc,
        {
          kind: 'Pod',
          path: '/api/v1/pods',
          convert: plainJson,
          fieldSelector: scheduled,
          list: async () => {
            const l = await core.listPodForAllNamespaces({ fieldSelector: scheduled });
            return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
          },
        },
        { replace: (o) => this.#replacePods(o), upsert: (o) => this.#upsertPod(o), remove: (o) => this.#removePod(o) },
        hooks('Pod'),
        opts.timing,
      ),
    ];
  }

  /** Nodes and pods have been listed at least once. */
  get synced(): boolean {
    return this.#reflectors.every((i) => i.synced);
  }

  start(): void {
    for (const i of this.#reflectors) i.start();
  }

  /** Stops watching and waits for the write in progress (if any) to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const r of this.#retries.values()) clearTimeout(r.timer);
    await Promise.all(this.#reflectors.map((i) => i.stop()));
    await this.#draining;
  }

  status(): AutonomyStatus {
    const autonomous: AutonomyStatus['nodes']['autonomous'] = [];
    const invalid: AutonomyStatus['nodes']['invalid'] = [];
    for (const [name, a] of [...this.#nodes.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
      if (a.state === 'on') autonomous.push({ name, duration: a.seconds === null ? 'forever' : formatSeconds(a.seconds), seconds: a.seconds, annotation: a.annotation, value: a.value });
      if (a.state === 'invalid') invalid.push({ name, annotation: a.annotation, value: a.value, problem: a.problem, fix: fixFor(name, a) });
    }
    return {
      synced: this.synced,
      nodes: { autonomous, invalid },
      pods: {
        watched: this.#pods.size,
        managed: this.#managedPods(),
        pending: this.#queue.size + (this.#working === null ? 0 : 1),
        retrying: [...this.#retries.values()].filter((r) => r.timer !== undefined).length,
      },
      writes: { ...this.#counts },
      lastError: this.#lastError,
    };
  }

  #managedPods(): number {
    let n = 0;
    for (const p of this.#pods.values()) if (p.annotations[ORIGINALS_ANNOTATION] !== undefined) n++;
    return n;
  }

  // ---- nodes

  #replaceNodes(objects: Json[]): void {
    const next = new Map<string, NodeAutonomy>();
    for (const o of objects) {
      const n = this.#nodeOf(o);
      if (n) next.set(n.name, n.autonomy);
    }
    const names = new Set([...this.#nodes.keys(), ...next.keys()]);
    const before = new Map(this.#nodes);
    this.#nodes.clear();
    for (const [k, v] of next) this.#nodes.set(k, v);
    for (const name of names) this.#nodeChanged(name, before.get(name) ?? OFF, next.get(name) ?? OFF);
  }

  #upsertNode(o: Json): void {
    const n = this.#nodeOf(o);
    if (!n) return;
    const before = this.#nodes.get(n.name) ?? OFF;
    this.#nodes.set(n.name, n.autonomy);
    this.#nodeChanged(n.name, before, n.autonomy);
  }

  #removeNode(o: Json): void {
    const n = this.#nodeOf(o);
    if (!n) return;
    const before = this.#nodes.get(n.name) ?? OFF;
    this.#nodes.delete(n.name);
    this.#nodeChanged(n.name, before, OFF);
  }

  #nodeOf(o: Json): { name: string; autonomy: NodeAutonomy } | null {
    const meta = o['metadata'];
    if (typeof meta !== 'object' || meta === null) return null;
    const { name, annotations } = meta as { name?: unknown; annotations?: unknown };
    if (typeof name !== 'string' || name === '') return null;
    const strings: Record<string, string> = {};
    if (typeof annotations === 'object' && annotations !== null) {
      for (const [k, v] of Object.entries(annotations)) if (typeof v === 'string') strings[k] = v;
    }
    return { name, autonomy: nodeAutonomy(strings) };
  }

  /** Logs what changed for the node's pods and queues them; nothing when the pods' target is the same. */
  #nodeChanged(name: string, before: NodeAutonomy, after: NodeAutonomy): void {
    if (sameAutonomy(before, after)) return;
    if (after.state === 'invalid') {
      this.metrics.errors.inc({ reason: 'node-annotation' });
      this.#log('error', `node ${name}: the annotation ${after.annotation} cannot be read, so the node's pods are left as they are until it is fixed`, {
        node: name,
        annotation: after.annotation,
        value: after.value,
        problem: after.problem,
        fix: fixFor(name, after),
      });
    } else if (after.state === 'on') {
      this.#log('info', `node ${name} is autonomous: its pods tolerate the node being NotReady or unreachable ${howLong(after)}`, {
        node: name,
        annotation: after.annotation,
        value: after.value,
        seconds: after.seconds,
      });
    } else if (before.state === 'on') {
      this.#log('info', `node ${name} is no longer autonomous: its pods get their original tolerations back`, { node: name });
    } else {
      this.#log('info', `node ${name}: the autonomy annotation is gone or readable again; the node is not autonomous`, { node: name });
    }
    for (const key of this.#podsOnNode.get(name) ?? []) this.#enqueue(key);
  }

  // ---- pods

  #replacePods(objects: Json[]): void {
    this.#pods.clear();
    this.#podsOnNode.clear();
    for (const o of objects) {
      const p = podView(o);
      if (p) this.#index(p);
    }
    // Pods deleted while no watch was open get no DELETED event: forget them here.
    for (const key of this.#superseded.keys()) if (!this.#pods.has(key)) this.#superseded.delete(key);
    const uids = new Set([...this.#pods.values()].map((p) => p.uid));
    for (const uid of this.#told.keys()) if (!uids.has(uid)) this.#told.delete(uid);
    for (const key of this.#pods.keys()) this.#enqueue(key);
  }

  #upsertPod(o: Json): void {
    const p = podView(o);
    if (!p) return;
    const key = podKey(p);
    const old = this.#pods.get(key);
    if (old && old.nodeName !== p.nodeName) this.#podsOnNode.get(old.nodeName)?.delete(key);
    this.#index(p);
    this.#enqueue(key);
  }

  #removePod(o: Json): void {
    const p = podView(o);
    if (!p) return;
    const key = podKey(p);
    const old = this.#pods.get(key);
    if (old) this.#podsOnNode.get(old.nodeName)?.delete(key);
    this.#pods.delete(key);
    this.#superseded.delete(key);
    this.#told.delete(p.uid);
  }

  #index(p: PodView): void {
    const key = podKey(p);
    this.#pods.set(key, p);
    let set = this.#podsOnNode.get(p.nodeName);
    if (!set) this.#podsOnNode.set(p.nodeName, (set = new Set()));
    set.add(key);
  }

  // ---- the work queue

  #onList(): void {
    if (this.#ready || !this.synced) return;
    this.#ready = true;
    this.#log('info', 'nodes and pods listed: bringing pods in line with their nodes\' autonomy', {
      nodes: this.#nodes.size,
      pods: this.#pods.size,
      autonomousNodes: [...this.#nodes.values()].filter((a) => a.state === 'on').length,
    });
    for (const key of this.#pods.keys()) this.#enqueue(key);
  }

  #enqueue(key: string): void {
    if (!this.#ready || this.#stopped) return;
    this.#queue.add(key);
    this.#kick();
  }

  /** Starts the worker unless it runs; it starts again if work arrived while it was finishing. */
  #kick(): void {
    if (this.#draining || this.#stopped) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = null;
      if (this.#queue.size > 0) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (!this.#stopped) {
      const next = this.#queue.values().next();
      if (next.done) return;
      const key = next.value;
      this.#queue.delete(key);
      this.#working = key;
      try {
        await this.#reconcile(key);
      } catch (err) {
        this.#failed(key, `working on pod ${key} failed unexpectedly: ${messageOf(err)}`, 'api');
        this.#retryLater(key);
      } finally {
        this.#working = null;
      }
    }
  }

  /** Brings one pod in line; conflicts are retried at once from a fresh read, other failures later. */
  async #reconcile(key: string): Promise<void> {
    let pod = this.#pods.get(key);
    if (pod && this.#superseded.get(key)?.includes(pod.resourceVersion)) return;
    for (let attempt = 1; pod && !this.#stopped; attempt++) {
      const node = this.#nodes.get(pod.nodeName) ?? OFF;
      const plan = planPod(pod, node);
      this.#tell(pod, plan);
      if (plan.action === 'none' || plan.action === 'error') {
        this.#clearRetry(key);
        return;
      }
      try {
        await this.#write(pod, plan);
      } catch (err) {
        const code = statusCodeOf(err);
        if (code === 404) return; // deleted meanwhile: its DELETED event follows
        if (code === 409) {
          this.#supersede(key, pod.resourceVersion);
          this.#counts.conflicts++;
          this.metrics.conflicts.inc();
          if (attempt < CONFLICT_RETRIES) {
            pod = await this.#read(pod);
            continue;
          }
          this.#failed(key, `pod ${key} kept changing while being written (${CONFLICT_RETRIES} conflicts in a row); trying again later`, 'conflict');
          this.#retryLater(key);
          return;
        }
        if (code === 422) {
          // The API refuses this change: trying again changes nothing until the pod or its node does.
          this.#failed(key, `the API server refused the toleration change of pod ${key}: ${apiMessage(err)}`, 'invalid');
          return;
        }
        this.#failed(key, `writing pod ${key} failed: ${apiMessage(err)}; trying again later`, 'api');
        this.#retryLater(key);
        return;
      }
      this.#supersede(key, pod.resourceVersion);
      this.#clearRetry(key);
      this.#counts[plan.action]++;
      this.metrics.podUpdates.inc({ action: plan.action });
      this.#log('info', plan.action === 'set'
        ? `pod ${key}: tolerates its node being NotReady or unreachable ${howLong(node)} (node ${pod.nodeName} is autonomous)`
        : `pod ${key}: original tolerations restored (node ${pod.nodeName} is not autonomous)`, {
        pod: key,
        node: pod.nodeName,
        action: plan.action,
        ...(node.state === 'on' ? { seconds: node.seconds } : {}),
      });
      return;
    }
  }

  /** A merge patch of the tolerations and the annotation, on the resourceVersion the plan was made from. */
  async #write(pod: PodView, plan: Extract<PodPlan, { action: 'set' | 'restore' }>): Promise<void> {
    const body = {
      metadata: { resourceVersion: pod.resourceVersion, annotations: { [ORIGINALS_ANNOTATION]: plan.change.originals } },
      spec: { tolerations: plan.change.tolerations },
    };
    await this.#core.patchNamespacedPod({ namespace: pod.namespace, name: pod.name, body }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  }

  /** The pod as the API server has it now; undefined when it is gone. */
  async #read(pod: PodView): Promise<PodView | undefined> {
    try {
      const fresh = await this.#core.readNamespacedPod({ namespace: pod.namespace, name: pod.name });
      return podView(JSON.parse(JSON.stringify(fresh))) ?? undefined;
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Logs a pod's limits or unreadable annotation once (again only when the text changes). */
  #tell(pod: PodView, plan: PodPlan): void {
    const said = this.#told.get(pod.uid);
    let text: string | undefined;
    if (plan.action === 'error') text = plan.error;
    else if ((plan.action === 'set' || plan.action === 'none') && plan.limits.length > 0) text = plan.limits.join('; ');
    if (text === said) return;
    if (text === undefined) {
      this.#told.delete(pod.uid);
      return;
    }
    this.#told.set(pod.uid, text);
    if (plan.action === 'error') this.#failed(podKey(pod), `pod ${podKey(pod)}: ${text}`, 'originals');
    else this.#log('warn', `pod ${podKey(pod)} on autonomous node ${pod.nodeName}: ${text}`, { pod: podKey(pod), node: pod.nodeName });
  }

  #failed(key: string, message: string, reason: string): void {
    this.#counts.errors++;
    this.metrics.errors.inc({ reason });
    this.#lastError = { time: new Date().toISOString(), pod: key, message };
    this.#log(reason === 'api' || reason === 'conflict' ? 'warn' : 'error', message, { pod: key, reason });
  }

  #supersede(key: string, resourceVersion: string): void {
    const list = this.#superseded.get(key) ?? [];
    list.push(resourceVersion);
    this.#superseded.set(key, list.slice(-4));
  }

  #clearRetry(key: string): void {
    clearTimeout(this.#retries.get(key)?.timer);
    this.#retries.delete(key);
  }

  #retryLater(key: string): void {
    if (this.#stopped) return;
    const r = this.#retries.get(key) ?? { attempts: 0 };
    clearTimeout(r.timer);
    r.attempts++;
    const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (r.attempts - 1)) * (0.8 + Math.random() * 0.4);
    r.timer = setTimeout(() => {
      r.timer = undefined;
      this.#enqueue(key);
    }, delay);
    this.#retries.set(key, r);
  }
}
