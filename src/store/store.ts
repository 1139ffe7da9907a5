import { isDeepStrictEqual } from 'node:util';
import { objectKey, type StoredObject } from './objects.js';

/** Called once per mutation that changed something, with the store's new version. */
export type ChangeListener = (version: number) => void;

type KeyOf = { kind: string; namespace: string; name: string };

/**
 * The one in-memory store every source fills (files, cluster, snapshot). Objects are keyed by
 * `objectKey()`. Every mutation is a batch: it bumps `version` and notifies listeners once, and
 * only if it changed something (an object equal to the stored one is not a change), so a source
 * that re-reads everything on every file event does not make the gateway re-translate for nothing.
 */
export class ObjectStore {
  readonly #objects = new Map<string, StoredObject>();
  readonly #listeners = new Set<ChangeListener>();
  #version = 0;

  /** Starts at 0; +1 per mutation that changed something. */
  get version(): number {
    return this.#version;
  }

  get size(): number {
    return this.#objects.size;
  }

  get(ref: KeyOf): StoredObject | undefined {
    return this.#objects.get(objectKey(ref));
  }

  /** Every object, sorted by key (kind, then namespace, then name). */
  list(): StoredObject[] {
    return [...this.#objects.values()].sort(compareObjects);
  }

  /**
   * Makes the store hold exactly `objects` (for sources that re-read everything). When two have
   * the same key, the last one wins. Returns whether anything changed.
   */
  replaceAll(objects: readonly StoredObject[]): boolean {
    const next = new Map<string, StoredObject>();
    for (const o of objects) next.set(objectKey(o), o);
    let changed = next.size !== this.#objects.size;
    if (!changed) {
      for (const [k, o] of next) {
        const old = this.#objects.get(k);
        if (old === undefined || !sameObject(old, o)) {
          changed = true;
          break;
        }
      }
    }
    if (!changed) return false;
    this.#objects.clear();
    for (const [k, o] of next) this.#objects.set(k, o);
    return this.#commit();
  }

  /**
   * Makes the store hold exactly `objects` of `kind`, leaving other kinds alone (for sources that
   * re-read one kind at a time). One batch. Returns whether anything changed.
   */
  replaceKind(kind: string, objects: readonly StoredObject[]): boolean {
    const next = new Map<string, StoredObject>();
    for (const o of objects) if (o.kind === kind) next.set(objectKey(o), o);
    let changed = false;
    for (const [k, o] of this.#objects) {
      if (o.kind === kind && !next.has(k)) {
        this.#objects.delete(k);
        changed = true;
      }
    }
    changed = this.#put(next.values()) || changed;
    return changed ? this.#commit() : false;
  }

  /** Adds or replaces objects, as one batch. Returns whether anything changed. */
  upsert(...objects: StoredObject[]): boolean {
    return this.#put(objects) ? this.#commit() : false;
  }

  /** Sets each object that differs from the stored one, without notifying; true if any did. */
  #put(objects: Iterable<StoredObject>): boolean {
    let changed = false;
    for (const o of objects) {
      const k = objectKey(o);
      const old = this.#objects.get(k);
      if (old !== undefined && sameObject(old, o)) continue;
      this.#objects.set(k, o);
      changed = true;
    }
    return changed;
  }

  /** Removes objects by kind/namespace/name, as one batch. Returns whether anything changed. */
  delete(...refs: KeyOf[]): boolean {
    let changed = false;
    for (const r of refs) changed = this.#objects.delete(objectKey(r)) || changed;
    return changed ? this.#commit() : false;
  }

  /** Registers a listener; returns a function that unregisters it. */
  onChange(listener: ChangeListener): () => void {
    // Wrapped so the same function registered twice is called twice and unregistered separately.
    const entry: ChangeListener = (v) => listener(v);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /**
   * Bumps the version and calls every listener. The mutation is already done when a listener
   * throws; the other listeners are still called and the first error is rethrown afterwards.
   */
  #commit(): true {
    const version = ++this.#version;
    let failure: { error: unknown } | undefined;
    for (const l of [...this.#listeners]) {
      try {
        l(version);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
    return true;
  }
}

function sameObject(a: StoredObject, b: StoredObject): boolean {
  return a === b || isDeepStrictEqual(a, b);
}

/** By kind, then namespace, then name (comparing the parts, so `a-b/x` sorts after `a/x`). */
export function compareObjects(a: KeyOf, b: KeyOf): number {
  return cmp(a.kind, b.kind) || cmp(a.namespace, b.namespace) || cmp(a.name, b.name);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
