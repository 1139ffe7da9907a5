/** Diagnostics: one per problem, in a stable order (kind, namespace, name, field). */
import type { Diagnostic } from '../model/diagnostic.js';

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return (
    cmp(a.object.kind, b.object.kind) ||
    cmp(a.object.namespace, b.object.namespace) ||
    cmp(a.object.name, b.object.name) ||
    cmp(a.field, b.field) ||
    cmp(a.severity, b.severity) ||
    cmp(a.message, b.message) ||
    cmp(a.object.origin?.file ?? '', b.object.origin?.file ?? '') ||
    (a.object.origin?.line ?? 0) - (b.object.origin?.line ?? 0)
  );
}

/** Sorted, with exact repeats (same object, field, severity and message) removed. */
export function normaliseDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  const sorted = [...list].sort(compareDiagnostics);
  const out: Diagnostic[] = [];
  let last = '';
  for (const d of sorted) {
    const k = JSON.stringify([d.severity, d.object.kind, d.object.namespace, d.object.name, d.field, d.message]);
    if (k === last) continue;
    last = k;
    out.push(d);
  }
  return out;
}
