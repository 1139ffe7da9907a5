/**
 * Kubernetes Events for rejected objects: one Warning Event (reason "Rejected") per problem, with
 * the same text `gatehouse check` prints, so `kubectl describe ingress …` shows why an Ingress is
 * not served. A problem is reported once while it lasts; only the leader records.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import { formatDiagnostic } from '../../cli/diagnostics-format.js';
import type { Log } from '../../haproxy/dataplane.js';
import type { Diagnostic } from '../../model/diagnostic.js';
import { objectKey, type StoredObject } from '../../store/objects.js';

export const EVENT_REASON = 'Rejected';
/** The API server refuses Event messages longer than this. */
const MAX_MESSAGE = 1024;

/** The Event for one error diagnostic about `object` (pure but for the name's random suffix). */
export function rejectionEvent(d: Diagnostic, object: StoredObject, identity: string, now: Date): CoreV1Event {
  const meta = object.raw['metadata'] as Record<string, unknown> | undefined;
  const uid = typeof meta?.['uid'] === 'string' ? meta['uid'] : undefined;
  const text = formatDiagnostic(d);
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${object.name}.${randomBytes(8).toString('hex')}`, namespace: object.namespace || 'default' },
    involvedObject: { apiVersion: object.apiVersion, kind: object.kind, namespace: object.namespace || undefined, name: object.name, uid },
    reason: EVENT_REASON,
    message: text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text,
    type: 'Warning',
    source: { component: 'gatehouse' },
    reportingComponent: 'gatehouse.io/ingress-controller',
    reportingInstance: identity,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}

export class EventRecorder {
  #reported = new Set<string>();
  readonly #core: CoreV1Api;

  constructor(kc: KubeConfig, private readonly identity: string, private readonly log: Log) {
    this.#core = kc.makeApiClient(CoreV1Api);
  }

  /** Forget what was reported (a new leader reports the standing problems again). */
  reset(): void {
    this.#reported.clear();
  }

  /** Records an Event for each error diagnostic not reported yet; returns how many were created. */
  async record(diagnostics: readonly Diagnostic[], objects: readonly StoredObject[]): Promise<number> {
    const byKey = new Map(objects.map((o) => [objectKey(o), o]));
    const now = new Set<string>();
    let created = 0;
    for (const d of diagnostics) {
      if (d.severity !== 'error' || d.object.kind === '') continue;
      const object = byKey.get(objectKey(d.object));
      if (!object) continue;
      const text = `${objectKey(object)}\n${formatDiagnostic(d)}`;
      now.add(text);
      if (this.#reported.has(text)) continue;
      const body = rejectionEvent(d, object, this.identity, new Date());
      try {
        await this.#core.createNamespacedEvent({ namespace: body.metadata.namespace!, body });
        created++;
      } catch (err) {
        now.delete(text);
        this.log('warn', `recording an Event for ${object.kind} ${object.namespace}/${object.name} failed (tried again on the next change): ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.#reported = now;
    return created;
  }
}
